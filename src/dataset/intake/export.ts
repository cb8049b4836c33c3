import yazl from 'yazl';
import { msg } from '../../i18n/index.js';
import { IntakeError } from './refusal.js';

export interface TrainingImage {
  /** The file's name in the zip and in caption.csv's image_file column. */
  file: string;
  /** The processed (square) image. */
  data: Buffer;
  caption: string;
}

/**
 * One CSV field, quoted as RFC 4180 says: only when it holds a comma, a quote or a line break,
 * with quotes doubled inside.
 */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Names go straight into the trainer's folder: plain file names only, no folders, no dotfiles. */
function checkFileName(file: string): void {
  if (
    file === '' ||
    file.length > 255 ||
    file.startsWith('.') ||
    /[/\\:*?"<>|\u0000-\u001f\u007f]/.test(file) ||
    file.toLowerCase() === 'caption.csv'
  ) {
    throw new IntakeError('bad_file_name', msg('error.bad_file_name', { file }));
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Every archive gets this date, so the same images and captions always make the same bytes. */
const FIXED_MTIME = new Date(Date.UTC(2024, 0, 1));

/**
 * The archive the trainer reads: the processed images plus caption.csv (`caption,image_file`,
 * one row per image, in the given order). Every caption must contain the trigger word as a word
 * of its own, as written (the form `/caption` gives them); the export is refused otherwise,
 * naming the images to fix. The trainer itself lowercases captions and replaces the token as a
 * substring, so a trigger word inside other words is refused before this
 * (training/trigger-words.ts). The same input always gives the same bytes, so a ladder of
 * trainings can reuse one upload.
 */
export async function buildTrainingZip(images: readonly TrainingImage[], options: { triggerWord: string }): Promise<Buffer> {
  const { triggerWord } = options;
  if (triggerWord.trim() === '') throw new RangeError('the trigger word must not be empty');
  if (images.length === 0) throw new IntakeError('empty_dataset', msg('error.empty_dataset'));
  const seen = new Set<string>();
  for (const { file } of images) {
    checkFileName(file);
    const key = file.toLowerCase();
    // Case-insensitive: the trainer may unpack on a case-insensitive file system.
    if (seen.has(key)) throw new IntakeError('duplicate_file_name', msg('error.duplicate_file_name', { file }));
    seen.add(key);
  }
  const trigger = new RegExp(`(^|[^\\p{L}\\p{N}_])${escapeRegExp(triggerWord)}($|[^\\p{L}\\p{N}_])`, 'u');
  const missing = images.filter((image) => !trigger.test(image.caption)).map((image) => image.file);
  if (missing.length > 0) {
    const files = missing.slice(0, 5).join(', ');
    throw new IntakeError(
      'caption_missing_trigger',
      missing.length > 5
        ? msg('error.caption_missing_trigger.more', { trigger: triggerWord, files, more: missing.length - 5 })
        : msg('error.caption_missing_trigger', { trigger: triggerWord, files }),
    );
  }
  const rows = ['caption,image_file', ...images.map((image) => `${csvField(image.caption)},${csvField(image.file)}`)];
  const zip = new yazl.ZipFile();
  for (const image of images) {
    // Already-compressed pictures: deflating them again costs time for nothing.
    zip.addBuffer(image.data, image.file, { compress: false, mtime: FIXED_MTIME, mode: 0o100644 });
  }
  zip.addBuffer(Buffer.from(`${rows.join('\r\n')}\r\n`, 'utf8'), 'caption.csv', { mtime: FIXED_MTIME, mode: 0o100644 });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
