import {
  ActionRowBuilder,
  AttachmentBuilder,
  ButtonBuilder,
  ButtonStyle,
  EmbedBuilder,
  MessageFlags,
  ModalBuilder,
  TextInputBuilder,
  TextInputStyle,
  type Attachment,
  type ChatInputCommandInteraction,
} from 'discord.js';
import { CAPTION_ESTIMATE_SECONDS, captionImage, captionMissing, type CaptionDeps } from '../src/captioning/captions.js';
import { toTrainingCaption } from '../src/captioning/clean.js';
import type { BotContext } from '../src/context.js';
import { loadDataset, readTrainingImage, setCaption } from '../src/dataset/dataset.js';
import { IntakeError } from '../src/dataset/intake/refusal.js';
import type { DatasetImage } from '../src/dataset/records.js';
import { downloadAttachment } from '../src/dataset/intake/download.js';
import { UserError } from '../src/errors.js';
import { contactSheet, encodeToFit } from '../src/images/compose.js';
import { customId, type SlashCommand } from '../src/interactions/command.js';
import { requireGuildId, requireTrainer } from '../src/interactions/permissions.js';
import { respond } from '../src/interactions/respond.js';
import { uploadLimitOf } from '../src/interactions/upload-limit.js';
import { requireBudget } from '../src/money/budget.js';
import { ServiceError } from '../src/services/types.js';
import { progressBar } from '../src/util/progress-bar.js';
import { INTAKE_LIMITS } from './dataset.js';
import { captionDefinition } from './definitions.js';

const REVIEW_PAGE_SIZE = 5;

/**
 * `/caption image:` captions one picture and shows it as the trainer would read it;
 * `/caption` captions every dataset drawing without one, then opens the review.
 */
export const caption: SlashCommand = {
  data: captionDefinition,
  defer: (interaction) => (interaction.options.getAttachment('image') ? 'public' : 'ephemeral'),
  async execute(interaction, ctx) {
    const guildId = requireGuildId(interaction);
    const image = interaction.options.getAttachment('image');
    if (image) return captionOne(interaction, ctx, guildId, image);
    requireTrainer(interaction, ctx.config);
    return captionDataset(interaction, ctx, guildId);
  },
  components: {
    page: {
      defer: 'update',
      async execute(interaction, [page], ctx) {
        await interaction.editReply(await reviewPage(ctx, requireGuildId(interaction), Number(page) || 0, uploadLimitOf(interaction)));
      },
    },
    edit: {
      // A modal must be the first answer to a click: no defer here.
      defer: 'none',
      async execute(interaction, [name], ctx) {
        requireTrainer(interaction, ctx.config);
        const image = (await loadDataset(ctx.store, requireGuildId(interaction))).images.find((i) => i.name === name);
        if (!image) throw new UserError('unknown-image', `There is no drawing named “${name}” any more.`);
        if (!interaction.isButton()) return;
        await interaction.showModal(
          new ModalBuilder()
            .setCustomId(customId('caption', 'save', image.name))
            .setTitle(`Caption of ${image.name}`.slice(0, 45))
            .addComponents(
              new ActionRowBuilder<TextInputBuilder>().addComponents(
                new TextInputBuilder()
                  .setCustomId('caption')
                  .setLabel('Caption (the trigger word is kept in front)')
                  .setStyle(TextInputStyle.Paragraph)
                  .setMaxLength(300)
                  .setRequired(true)
                  .setValue(image.caption ?? `${ctx.config.TRIGGER_WORD}, a drawing of `),
              ),
            ),
        );
      },
    },
    save: {
      defer: 'ephemeral',
      async execute(interaction, [name], ctx) {
        requireTrainer(interaction, ctx.config);
        if (!interaction.isModalSubmit()) return;
        const text = toTrainingCaption(interaction.fields.getTextInputValue('caption'), ctx.config.TRIGGER_WORD);
        if (!(await setCaption(ctx, requireGuildId(interaction), name ?? '', text, 'edited'))) {
          throw new UserError('unknown-image', `There is no drawing named “${name}” any more.`);
        }
        await respond(interaction, { content: `Saved the caption of **${name}**:\n> ${text}` });
      },
    },
  },
};

async function captionOne(interaction: ChatInputCommandInteraction, ctx: BotContext, guildId: string, attachment: Attachment): Promise<void> {
  await requireBudget(ctx.store, ctx.config, ctx.clock, guildId, CAPTION_ESTIMATE_SECONDS * ctx.config.GPU_PRICE_PER_SECOND);
  const data = await downloadAttachment(attachment.url, { allowedHosts: ctx.config.ALLOWED_ATTACHMENT_HOSTS, maxBytes: INTAKE_LIMITS.imageBytes, timeoutMs: INTAKE_LIMITS.timeoutMs }).catch((error: unknown) => {
    if (error instanceof IntakeError) throw new UserError(error.code, error.message);
    throw error;
  });
  const text = await captionImage(captionDeps(ctx), guildId, { data, contentType: attachment.contentType ?? 'image/png', name: attachment.name }).catch((error: unknown) => {
    if (error instanceof ServiceError) {
      throw new UserError(`caption-${error.failure}`, `BLIP could not caption “${attachment.name}”: ${error.failure === 'throttled' ? 'the service is busy, try again in a minute' : error.message}.`);
    }
    throw error;
  });
  await respond(interaction, {
    embeds: [new EmbedBuilder().setTitle('BLIP caption').setDescription(`As training would read it:\n> ${text}`).setThumbnail(attachment.url)],
  });
}

async function captionDataset(interaction: ChatInputCommandInteraction, ctx: BotContext, guildId: string): Promise<void> {
  const { images } = await loadDataset(ctx.store, guildId);
  if (images.length === 0) throw new UserError('empty-dataset', 'The dataset is empty: add drawings with `/dataset add` first.');
  const todo = images.filter((i) => !i.caption).length;
  if (todo > 0) {
    let lastEdit = 0;
    const progress = (done: number) => `Captioning ${todo} drawings… ${progressBar(done / todo)} ${done}/${todo}`;
    await respond(interaction, { content: progress(0) });
    const { failed } = await captionMissing(captionDeps(ctx), guildId, {
      async onProgress(done) {
        // Discord rate-limits edits; the last one always goes out.
        if (Date.now() - lastEdit < 1500 && done < todo) return;
        lastEdit = Date.now();
        await respond(interaction, { content: progress(done) }).catch(() => undefined);
      },
    });
    if (failed.length) {
      await interaction.followUp({ content: `These could not be captioned (run \`/caption\` again to retry them): ${failed.join(', ')}`, flags: MessageFlags.Ephemeral }).catch(() => undefined);
    }
  }
  await respond(interaction, await reviewPage(ctx, guildId, 0, uploadLimitOf(interaction)));
}

function captionDeps(ctx: BotContext): CaptionDeps {
  return { ...ctx, captioner: ctx.services.captioner };
}

/** One page of the review: thumbnails with their captions, an Edit button per drawing, paging. */
async function reviewPage(ctx: BotContext, guildId: string, page: number, uploadLimit: number) {
  const { images } = await loadDataset(ctx.store, guildId);
  const pages = Math.max(1, Math.ceil(images.length / REVIEW_PAGE_SIZE));
  const current = Math.min(Math.max(0, page), pages - 1);
  const shown: DatasetImage[] = images.slice(current * REVIEW_PAGE_SIZE, (current + 1) * REVIEW_PAGE_SIZE);
  if (shown.length === 0) return { content: 'The dataset is empty.', embeds: [], components: [], files: [] };
  const sheet = await encodeToFit(
    await contactSheet(await Promise.all(shown.map(async (image) => ({ image: await readTrainingImage(ctx.config, image), label: image.name }))), { columns: shown.length, cell: 256 }),
    uploadLimit,
    `captions-${current + 1}`,
  );
  const embed = new EmbedBuilder()
    .setTitle(`Captions — page ${current + 1} of ${pages}`)
    .setDescription(shown.map((i) => `**${i.name}**${i.captionSource === 'edited' ? ' ✏️' : ''}\n> ${i.caption ?? '*no caption yet*'}`).join('\n'))
    .setImage(`attachment://${sheet.filename}`);
  const edits = new ActionRowBuilder<ButtonBuilder>().addComponents(
    shown.map((i) => new ButtonBuilder().setCustomId(customId('caption', 'edit', i.name)).setLabel(`Edit ${i.name}`.slice(0, 80)).setStyle(ButtonStyle.Secondary)),
  );
  const paging = new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder().setCustomId(customId('caption', 'page', current - 1)).setLabel('◀ Previous').setStyle(ButtonStyle.Primary).setDisabled(current === 0),
    new ButtonBuilder().setCustomId(customId('caption', 'page', current + 1)).setLabel('Next ▶').setStyle(ButtonStyle.Primary).setDisabled(current >= pages - 1),
  );
  return { content: '', embeds: [embed], components: [edits, paging], files: [new AttachmentBuilder(sheet.data, { name: sheet.filename })], attachments: [] };
}
