import { randomBytes } from 'node:crypto';
import { ActionRowBuilder, AttachmentBuilder, ButtonBuilder, ButtonStyle, EmbedBuilder, type Attachment, type ChatInputCommandInteraction } from 'discord.js';
import type { BotContext } from '../src/context.js';
import { addToDataset, clearDataset, loadDataset, readTrainingImage, removeFromDataset, type AddReport } from '../src/dataset/dataset.js';
import { downloadAttachment } from '../src/dataset/intake/download.js';
import { IntakeError } from '../src/dataset/intake/refusal.js';
import { zipEntries } from '../src/dataset/intake/zip.js';
import { UserError } from '../src/errors.js';
import { localeOf, msg, render, t, type Locale } from '../src/i18n/index.js';
import { contactSheet, encodeToFit } from '../src/images/compose.js';
import { customId, type SlashCommand } from '../src/interactions/command.js';
import { requireGuildId, requireTrainer } from '../src/interactions/permissions.js';
import { respond } from '../src/interactions/respond.js';
import { datasetDefinition } from './definitions.js';
import { uploadLimitOf } from '../src/interactions/upload-limit.js';

/** Caps on what one `/dataset add` downloads: a class's zip of drawings, not a photo library. */
export const INTAKE_LIMITS = {
  archiveBytes: 200 * 1024 * 1024,
  imageBytes: 40 * 1024 * 1024,
  timeoutMs: 60_000,
  zip: { maxEntries: 500, maxEntryBytes: 50 * 1024 * 1024, maxTotalBytes: 1024 * 1024 * 1024 },
};

const CLEAR_CONFIRMATION_TTL_MS = 10 * 60_000;
const clearKey = (guildId: string, token: string) => `guild:${guildId}:dataset-clear:${token}`;

export const dataset: SlashCommand = {
  data: datasetDefinition,
  defer: (interaction) => (interaction.options.getSubcommand() === 'list' ? 'public' : 'ephemeral'),
  async execute(interaction, ctx) {
    const guildId = requireGuildId(interaction);
    const sub = interaction.options.getSubcommand();
    const locale = localeOf(interaction);
    if (sub === 'list') return list(interaction, ctx, guildId);
    requireTrainer(interaction, ctx.config);
    if (sub === 'add') return add(interaction, ctx, guildId);
    if (sub === 'remove') {
      const name = interaction.options.getString('name', true);
      const removed = await removeFromDataset(ctx, guildId, name);
      if (!removed) throw new UserError('unknown-image', msg('error.unknown-image', { name }));
      return respond(interaction, { content: t(locale, 'dataset.removed', { name: removed.name }) });
    }
    const count = (await loadDataset(ctx.store, guildId)).images.length;
    if (count === 0) return respond(interaction, { content: t(locale, 'dataset.already-empty') });
    // The buttons carry a one-time token bound to this trainer: a click that did not come from
    // this very question (a forged or replayed custom_id) clears nothing.
    const token = randomBytes(8).toString('hex');
    await ctx.store.set(clearKey(guildId, token), { userId: interaction.user.id }, CLEAR_CONFIRMATION_TTL_MS);
    await respond(interaction, {
      content: t(locale, 'dataset.clear.question', { count }),
      components: [
        new ActionRowBuilder<ButtonBuilder>().addComponents(
          new ButtonBuilder().setCustomId(customId('dataset', 'clear', 'yes', token)).setLabel(t(locale, 'dataset.clear.yes', { count })).setStyle(ButtonStyle.Danger),
          new ButtonBuilder().setCustomId(customId('dataset', 'clear', 'no', token)).setLabel(t(locale, 'dataset.clear.no')).setStyle(ButtonStyle.Secondary),
        ),
      ],
    });
  },
  async autocomplete(interaction, ctx) {
    const typed = interaction.options.getFocused().toLowerCase();
    const images = interaction.guildId ? (await loadDataset(ctx.store, interaction.guildId)).images : [];
    await interaction.respond(images.filter((i) => i.name.includes(typed)).slice(0, 25).map((i) => ({ name: i.name, value: i.name })));
  },
  components: {
    clear: {
      defer: 'update',
      async execute(interaction, [answer, token], ctx) {
        const guildId = requireGuildId(interaction);
        requireTrainer(interaction, ctx.config);
        const asked = token ? await ctx.store.get<{ userId: string }>(clearKey(guildId, token)) : undefined;
        if (asked?.userId !== interaction.user.id) {
          throw new UserError('confirmation-expired', msg('error.confirmation-expired'));
        }
        await ctx.store.delete(clearKey(guildId, token!));
        if (answer !== 'yes') {
          await interaction.editReply({ content: t(localeOf(interaction), 'dataset.clear.kept'), components: [] });
          return;
        }
        const removed = await clearDataset(ctx, guildId);
        ctx.log.info({ removed }, 'dataset cleared');
        await interaction.editReply({ content: t(localeOf(interaction), 'dataset.cleared', { count: removed }), components: [] });
      },
    },
  },
};

/** Downloads the attachments of `/dataset add` (and `/train archive:`) and adds their drawings. */
export async function addAttachments(ctx: BotContext, guildId: string, userId: string, archive: Attachment | null, image: Attachment | null): Promise<AddReport> {
  if (!archive && !image) throw new UserError('nothing-to-add', msg('error.nothing-to-add'));
  if (archive && !/\.zip$/i.test(archive.name)) throw new UserError('not-a-zip', msg('error.not-a-zip', { name: archive.name }));
  const zip = archive ? await download(ctx, archive, INTAKE_LIMITS.archiveBytes) : undefined;
  const single = image ? { name: image.name, data: await download(ctx, image, INTAKE_LIMITS.imageBytes) } : undefined;
  async function* sources() {
    if (zip) yield* zipEntries(zip, INTAKE_LIMITS.zip);
    if (single) yield single;
  }
  return addToDataset(ctx, guildId, userId, guardIntake(sources()));
}

async function add(interaction: ChatInputCommandInteraction, ctx: BotContext, guildId: string): Promise<void> {
  const report = await addAttachments(ctx, guildId, interaction.user.id, interaction.options.getAttachment('archive'), interaction.options.getAttachment('image'));
  const total = (await loadDataset(ctx.store, guildId)).images.length;
  await respond(interaction, { embeds: [describeAddition(report, total, localeOf(interaction))] });
}

function describeAddition(report: AddReport, total: number, locale: Locale): EmbedBuilder {
  const list = (items: string[]) => clip(items.join('\n'), 1000) || '—';
  const embed = new EmbedBuilder()
    .setTitle(report.added.length ? t(locale, 'dataset.added.title', { count: report.added.length }) : t(locale, 'dataset.added.nothing'))
    .setDescription(t(locale, 'dataset.added.description', { total }));
  if (report.added.length) embed.addFields({ name: t(locale, 'dataset.added.added'), value: list(report.added.map((i) => `**${i.name}** (${i.original.width}×${i.original.height})`)) });
  if (report.refused.length) embed.addFields({ name: t(locale, 'dataset.added.refused', { count: report.refused.length }), value: list(report.refused.map((r) => `**${r.label ? render(locale, r.label) : r.name}**: ${render(locale, r.reason)}`)) });
  const warnings = report.added.flatMap((i) => i.warnings.map((w) => `**${i.name}**: ${render(locale, w)}`));
  if (warnings.length) embed.addFields({ name: t(locale, 'dataset.added.warnings'), value: list(warnings) });
  if (report.nearDuplicates.length) {
    embed.addFields({ name: t(locale, 'dataset.added.near-duplicates'), value: list(report.nearDuplicates.map((d) => `**${d.a}** ≈ **${d.b}**`)) });
  }
  return embed;
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

async function download(ctx: BotContext, attachment: Attachment, maxBytes: number): Promise<Buffer> {
  if (attachment.size > maxBytes) throw new UserError('too_large', msg('error.too_large', { name: attachment.name, mib: Math.floor(maxBytes / 1024 / 1024) }));
  return downloadAttachment(attachment.url, { allowedHosts: ctx.config.ALLOWED_ATTACHMENT_HOSTS, maxBytes, timeoutMs: INTAKE_LIMITS.timeoutMs }).catch(asUserError);
}

/** A zip that cannot be read at all (not a zip, damaged directory) fails the whole add with its reason. */
async function* guardIntake<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* source;
  } catch (error) {
    asUserError(error);
  }
}

function asUserError(error: unknown): never {
  if (error instanceof IntakeError) throw new UserError(error.code, error.text);
  throw error;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
