import { randomBytes } from 'node:crypto';
import { ActionRowBuilder, AttachmentBuilder, ButtonBuilder, ButtonStyle, EmbedBuilder, type ChatInputCommandInteraction } from 'discord.js';
import type { BotContext } from '../src/context.js';
import { askClear, clearDataset, clearQuestion, forgetClearQuestion, loadDataset, readTrainingImage, removeFromDataset, type ClearQuestion } from '../src/dataset/dataset.js';
import { forgetGuild } from '../src/privacy/forget.js';
import { UserError } from '../src/errors.js';
import { localeOf, msg, t } from '../src/i18n/index.js';
import { encodeToFit } from '../src/images/encode.js';
import { contactSheet } from '../src/images/sheets.js';
import { customId, type SlashCommand } from '../src/interactions/command.js';
import { respond } from '../src/interactions/respond.js';
import { addToDatasetMenu } from './dataset-menu.js';
import { DATASET_IMAGE_OPTIONS, datasetDefinition } from './definitions.js';
import { addAttachments, describeAddition } from './shared/dataset-add.js';
import { uploadLimitOf } from '../src/interactions/upload-limit.js';

const CLEAR_CONFIRMATION_TTL_MS = 10 * 60_000;

export const dataset: SlashCommand = {
  data: datasetDefinition,
  menus: [addToDatasetMenu],
  defer: (interaction) => (interaction.options.getSubcommand() === 'list' ? 'public' : 'ephemeral'),
  // Anyone may look at the dataset; adding, removing and clearing are a trainer's.
  guards: (interaction) => (interaction.options.getSubcommand() === 'list' ? ['guild'] : ['guild', 'trainer']),
  async execute(interaction, ctx, { guildId }) {
    const sub = interaction.options.getSubcommand();
    const locale = localeOf(interaction);
    if (sub === 'list') return list(interaction, ctx, guildId);
    if (sub === 'add') return add(interaction, ctx, guildId);
    if (sub === 'remove') {
      const name = interaction.options.getString('name', true);
      const removed = await removeFromDataset(ctx, guildId, name);
      if (!removed) throw new UserError('unknown-image', msg('error.unknown-image', { name }));
      return respond(interaction, { content: t(locale, 'dataset.removed', { name: removed.name }) });
    }
    return askToClear(interaction, ctx, guildId, interaction.options.getBoolean('everything') ?? false);
  },
  async autocomplete(interaction, ctx) {
    const typed = interaction.options.getFocused().toLowerCase();
    const images = interaction.guildId ? (await loadDataset(ctx.store, interaction.guildId)).images : [];
    await interaction.respond(images.filter((i) => i.name.includes(typed)).slice(0, 25).map((i) => ({ name: i.name, value: i.name })));
  },
  components: {
    clear: {
      guards: ['guild', 'trainer'],
      defer: 'update',
      async execute(interaction, [answer, token], ctx, { guildId }) {
        const asked = token ? await clearQuestion(ctx, guildId, token) : undefined;
        if (asked?.userId !== interaction.user.id) {
          throw new UserError('confirmation-expired', msg('error.confirmation-expired'));
        }
        await forgetClearQuestion(ctx, guildId, token!);
        if (answer !== 'yes') {
          await interaction.editReply({ content: t(localeOf(interaction), 'dataset.clear.kept'), components: [] });
          return;
        }
        if (asked.everything) {
          // A training may have started since the question.
          await refuseWhileTraining(ctx, guildId);
          const forgotten = await forgetGuild(ctx, guildId, { keepSpending: true });
          ctx.log.info({ ...forgotten }, 'forgot everything of the server');
          await interaction.editReply({ content: t(localeOf(interaction), 'dataset.forgotten', { records: forgotten.records }), components: [] });
          return;
        }
        const removed = await clearDataset(ctx, guildId);
        ctx.log.info({ removed }, 'dataset cleared');
        await interaction.editReply({ content: t(localeOf(interaction), 'dataset.cleared', { count: removed }), components: [] });
      },
    },
  },
};

/**
 * `/dataset clear [everything:true]` asks first. The buttons carry a one-time token bound to this
 * trainer: a click that did not come from this very question (a forged or replayed custom_id)
 * clears nothing.
 */
async function askToClear(interaction: ChatInputCommandInteraction, ctx: BotContext, guildId: string, everything: boolean): Promise<void> {
  const locale = localeOf(interaction);
  const count = (await loadDataset(ctx.store, guildId)).images.length;
  if (everything) await refuseWhileTraining(ctx, guildId);
  else if (count === 0) return respond(interaction, { content: t(locale, 'dataset.already-empty') });
  const token = randomBytes(8).toString('hex');
  const question: ClearQuestion = { userId: interaction.user.id, ...(everything ? { everything } : {}) };
  await askClear(ctx, guildId, token, question, CLEAR_CONFIRMATION_TTL_MS);
  await respond(interaction, {
    content: everything ? t(locale, 'dataset.forget.question', { count }) : t(locale, 'dataset.clear.question', { count }),
    components: [
      new ActionRowBuilder<ButtonBuilder>().addComponents(
        new ButtonBuilder()
          .setCustomId(customId('dataset', 'clear', 'yes', token))
          .setLabel(everything ? t(locale, 'dataset.forget.yes') : t(locale, 'dataset.clear.yes', { count }))
          .setStyle(ButtonStyle.Danger),
        new ButtonBuilder().setCustomId(customId('dataset', 'clear', 'no', token)).setLabel(t(locale, 'dataset.clear.no')).setStyle(ButtonStyle.Secondary),
      ),
    ],
  });
}

/** A running training writes previews and records as it goes: everything is removed once it is over. */
async function refuseWhileTraining(ctx: BotContext, guildId: string): Promise<void> {
  if (await ctx.training.repository.isClaimed(guildId)) throw new UserError('training-running', msg('error.forget-while-training'));
}

async function add(interaction: ChatInputCommandInteraction, ctx: BotContext, guildId: string): Promise<void> {
  const images = DATASET_IMAGE_OPTIONS.map((name) => interaction.options.getAttachment(name)).filter((image) => image !== null);
  const report = await addAttachments(ctx, guildId, interaction.user.id, { archive: interaction.options.getAttachment('archive'), images });
  const total = (await loadDataset(ctx.store, guildId)).images.length;
  await respond(interaction, { embeds: [describeAddition(report, total, localeOf(interaction))] });
}

async function list(interaction: ChatInputCommandInteraction, ctx: BotContext, guildId: string): Promise<void> {
  const { images } = await loadDataset(ctx.store, guildId);
  const locale = localeOf(interaction);
  if (images.length === 0) {
    await respond(interaction, { content: t(locale, 'dataset.list.empty') });
    return;
  }
  const cells = await Promise.all(images.map(async (image) => ({ image: await readTrainingImage(ctx.config, image), label: image.name })));
  const sheet = await encodeToFit(await contactSheet(cells), uploadLimitOf(interaction), 'dataset');
  const captioned = images.filter((i) => i.caption).length;
  const warned = images.filter((i) => i.warnings.length).length;
  const embed = new EmbedBuilder()
    .setTitle(t(locale, 'dataset.list.title'))
    .setDescription(t(locale, 'dataset.list.counts', { count: images.length, captioned, warned }))
    .setImage(`attachment://${sheet.filename}`);
  await respond(interaction, { embeds: [embed], files: [new AttachmentBuilder(sheet.data, { name: sheet.filename })] });
}
