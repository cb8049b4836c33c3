import { EmbedBuilder } from 'discord.js';
import type { BotContext } from '../../src/context.js';
import { addToDataset, type AddReport } from '../../src/dataset/dataset.js';
import { formatBytes } from '../../src/dataset/intake/bytes.js';
import { IntakeError } from '../../src/dataset/intake/refusal.js';
import { zipEntries, type ZipItem } from '../../src/dataset/intake/zip.js';
import { UserError } from '../../src/errors.js';
import { msg, render, t, type Locale, type Message } from '../../src/i18n/index.js';
import { INTAKE_LIMITS, asUserError, downloadAttached, fetchAttached, type AttachedFile } from './attachments.js';
import { truncate } from '../../src/views/text.js';

export interface Attached {
  archive?: AttachedFile | null;
  /** Single pictures: `/dataset add image… image10`, or every attachment of a message. */
  images?: readonly AttachedFile[];
}

/**
 * Downloads the attachments of `/dataset add`, `/train archive:` and the message menu and adds
 * their drawings. Each picture goes through the dataset intake (decoded in full, turned upright,
 * cropped); one that cannot be fetched or read is refused with the reason and the others go on.
 */
export async function addAttachments(ctx: BotContext, guildId: string, userId: string, { archive, images = [] }: Attached): Promise<AddReport> {
  if (!archive && images.length === 0) throw new UserError('nothing-to-add', msg('error.nothing-to-add'));
  if (archive && !/\.zip$/i.test(archive.name)) throw new UserError('not-a-zip', msg('error.not-a-zip', { name: archive.name }));
  const zip = archive ? await downloadAttached(ctx, archive, INTAKE_LIMITS.archiveBytes) : undefined;
  async function* sources(): AsyncGenerator<ZipItem> {
    if (zip) yield* zipEntries(zip, INTAKE_LIMITS.zip);
    // Pulled one at a time by the intake: ten 10 MiB photos are never all in memory at once.
    for (const image of images) yield await fetchPicture(ctx, image);
  }
  return addToDataset(ctx, guildId, userId, guardIntake(sources()));
}

/** One picture of several: a file that is no picture, too big or not downloadable is its own refusal. */
async function fetchPicture(ctx: BotContext, image: AttachedFile): Promise<ZipItem> {
  const refuse = (code: string, reason: Message): ZipItem => ({ kind: 'refused', refusal: { name: image.name, code, reason } });
  // Discord's content type, where it gave one, spares downloading a video or a PDF to refuse it.
  if (image.contentType && !image.contentType.startsWith('image/')) return refuse('not-a-picture', msg('refusal.not-a-picture'));
  if (image.size > INTAKE_LIMITS.imageBytes) return refuse('entry_too_large', msg('refusal.entry_too_large', { limit: formatBytes(INTAKE_LIMITS.imageBytes) }));
  try {
    return { kind: 'file', file: { name: image.name, data: await fetchAttached(ctx, image, INTAKE_LIMITS.imageBytes) } };
  } catch (error) {
    if (error instanceof IntakeError) return refuse(error.code, error.text);
    throw error;
  }
}

/** A zip that cannot be read at all (not a zip, damaged directory) fails the whole add with its reason. */
async function* guardIntake<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* source;
  } catch (error) {
    asUserError(error);
  }
}

/** The answer to an addition: what was added, what was refused and why, warnings, near-duplicates, and the new total. */
export function describeAddition(report: AddReport, total: number, locale: Locale): EmbedBuilder {
  const list = (items: string[]) => truncate(items.join('\n'), 1000) || '—';
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
