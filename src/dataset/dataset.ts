import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { UserError } from '../errors.js';
import { msg } from '../i18n/index.js';
import { keepableOriginal } from '../images/original.js';
import type { NearDuplicate } from '../images/phash.js';
import type { CropStrategy } from '../images/preprocess.js';
import { intakeFiles } from './intake/pipeline.js';
import type { Refusal } from './intake/refusal.js';
import type { ZipFileEntry, ZipItem } from './intake/zip.js';
import type { Store } from '../store/store.js';
import { type Dataset, type DatasetImage } from './records.js';
import { keys } from '../store/keys.js';

/** A class's reference set is tens of drawings; this keeps one server from filling the disk. */
export const MAX_DATASET_IMAGES = 300;

export interface DatasetDeps {
  store: Store;
  config: Config;
  log: Logger;
}

/** Pictures to take in: uploaded files, or a zip's entries and refusals as it is read. */
export type IntakeSource = Iterable<ZipFileEntry | ZipItem> | AsyncIterable<ZipFileEntry | ZipItem>;

/** A file not added: its name (or a label in place of it) and the reason, both rendered in the reader's language. */
export type Refused = Pick<Refusal, 'name' | 'label' | 'reason'>;

export interface AddReport {
  added: DatasetImage[];
  refused: Refused[];
  nearDuplicates: NearDuplicate[];
}

export async function loadDataset(store: Store, guildId: string): Promise<Dataset> {
  return (await store.get<Dataset>(keys.dataset(guildId))) ?? { images: [] };
}

export function datasetDir(config: Config, guildId: string): string {
  return path.join(config.DATA_DIR, 'guilds', guildId, 'dataset');
}

/**
 * Preprocesses and adds drawings: each one cropped to the training square once, its original
 * kept for showing next to generations. Pictures stream through the intake pipeline (a zip is
 * read entry by entry), so a large archive never sits decoded in memory. One bad file never
 * sinks the others: it is listed in `refused` with the reason.
 */
export async function addToDataset(
  { store, config, log }: DatasetDeps,
  guildId: string,
  userId: string,
  sources: IntakeSource,
  { crop = 'attention' }: { crop?: CropStrategy } = {},
): Promise<AddReport> {
  const existing = await loadDataset(store, guildId);
  if (existing.images.length >= MAX_DATASET_IMAGES) {
    throw new UserError('dataset-full', msg('error.dataset-full', { max: MAX_DATASET_IMAGES }));
  }
  const dir = datasetDir(config, guildId);
  await mkdir(path.join(dir, 'training'), { recursive: true });
  await mkdir(path.join(dir, 'originals'), { recursive: true });

  const prepared: DatasetImage[] = [];
  const intake = await intakeFiles(
    sources,
    async ({ name, original, processed, phash }) => {
      // Files are named by a random id, not the drawing's name, so concurrent adds never collide.
      const fileId = randomBytes(8).toString('hex');
      // The original is kept upright and without its metadata (a phone photo's EXIF has where it was taken).
      const kept = await keepableOriginal(original, processed.original.format);
      const processedFile = path.join('guilds', guildId, 'dataset', 'training', `${fileId}.jpg`);
      const originalFile = path.join('guilds', guildId, 'dataset', 'originals', `${fileId}.${extensionFor(kept.format)}`);
      await writeFile(path.join(config.DATA_DIR, processedFile), processed.image);
      await writeFile(path.join(config.DATA_DIR, originalFile), kept.data);
      prepared.push({ name, processedFile, originalFile, original: processed.original, phash, warnings: processed.warningMessages, addedBy: userId, addedAt: Date.now() });
    },
    { preprocess: { crop }, concurrency: 2, existing: existing.images.map((image) => ({ name: image.name, hash: image.phash })) },
  );

  const refused: Refused[] = intake.refused.map(({ name, label, reason }) => ({ name, label, reason }));
  const finalNames = new Map<string, string>();
  let added: DatasetImage[] = [];
  let overflow: DatasetImage[] = [];
  await store.update<Dataset>(keys.dataset(guildId), (current = { images: [] }) => {
    const taken = new Set(current.images.map((image) => image.name));
    const room = Math.max(0, MAX_DATASET_IMAGES - current.images.length);
    overflow = prepared.slice(room);
    added = prepared.slice(0, room).map((image) => {
      const name = uniqueName(baseName(image.name), taken);
      taken.add(name);
      finalNames.set(image.name, name);
      return { ...image, name };
    });
    return { images: [...current.images, ...added] };
  });
  for (const image of overflow) {
    refused.push({ name: image.name, reason: msg('refusal.dataset-full', { max: MAX_DATASET_IMAGES }) });
    await deleteFiles(config, image);
  }
  const rename = (name: string) => finalNames.get(name) ?? name;
  const nearDuplicates = intake.nearDuplicates
    .filter((pair) => !overflow.some((image) => image.name === pair.a || image.name === pair.b))
    .map((pair) => ({ ...pair, a: rename(pair.a), b: rename(pair.b) }));
  log.info({ guildId, added: added.length, refused: refused.length, nearDuplicates: nearDuplicates.length }, 'dataset images added');
  return { added, refused, nearDuplicates };
}

export async function removeFromDataset({ store, config }: DatasetDeps, guildId: string, name: string): Promise<DatasetImage | undefined> {
  let removed: DatasetImage | undefined;
  await store.update<Dataset>(keys.dataset(guildId), (current) => {
    if (!current) return current;
    removed = current.images.find((image) => image.name === name);
    return removed ? { images: current.images.filter((image) => image !== removed) } : current;
  });
  if (removed) await deleteFiles(config, removed);
  return removed;
}

export async function clearDataset({ store, config }: DatasetDeps, guildId: string): Promise<number> {
  const dataset = await loadDataset(store, guildId);
  await store.delete(keys.dataset(guildId));
  await Promise.all(dataset.images.map((image) => deleteFiles(config, image)));
  return dataset.images.length;
}

export async function setCaption({ store }: DatasetDeps, guildId: string, name: string, caption: string, source: 'blip' | 'edited'): Promise<boolean> {
  let found = false;
  await store.update<Dataset>(keys.dataset(guildId), (current) => {
    if (!current) return current;
    return {
      images: current.images.map((image) => {
        if (image.name !== name) return image;
        found = true;
        return { ...image, caption, captionSource: source };
      }),
    };
  });
  return found;
}

export function readTrainingImage(config: Config, image: DatasetImage): Promise<Buffer> {
  return readFile(path.join(config.DATA_DIR, image.processedFile));
}

/** Height of the copy shown next to generations: Discord shows replies smaller than that anyway. */
const DISPLAY_HEIGHT = 768;

/**
 * The drawing as people see it next to a generation: the original, upright, on white, at most
 * 768 px high. Made on first use and kept (decoding a 12-megapixel original on every reply would
 * double the time to compose it), then read from its file.
 */
export async function readDisplayImage({ store, config }: Pick<DatasetDeps, 'store' | 'config'>, guildId: string, image: DatasetImage): Promise<Buffer> {
  if (image.displayFile) {
    const existing = await readFile(path.join(config.DATA_DIR, image.displayFile)).catch(() => undefined);
    if (existing?.length) return existing;
  }
  const display = await sharp(await readFile(path.join(config.DATA_DIR, image.originalFile)), { limitInputPixels: false })
    .rotate()
    .flatten({ background: '#ffffff' })
    .resize({ height: DISPLAY_HEIGHT, width: DISPLAY_HEIGHT * 2, fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 90 })
    .toBuffer();
  const displayFile = image.originalFile.replace(`${path.sep}originals${path.sep}`, `${path.sep}display${path.sep}`).replace(/\.[^.]+$/, '.jpg');
  await mkdir(path.dirname(path.join(config.DATA_DIR, displayFile)), { recursive: true });
  // Written aside and renamed into place: the first jobs of a burst all make the copy at once
  // (several processes, too), and one must never read another's half-written file.
  const partial = `${path.join(config.DATA_DIR, displayFile)}.${randomBytes(4).toString('hex')}.partial`;
  await writeFile(partial, display);
  await rename(partial, path.join(config.DATA_DIR, displayFile));
  await store.update<Dataset>(keys.dataset(guildId), (current) =>
    current && { images: current.images.map((i) => (i.originalFile === image.originalFile ? { ...i, displayFile } : i)) },
  );
  return display;
}

async function deleteFiles(config: Config, image: DatasetImage): Promise<void> {
  for (const file of [image.processedFile, image.originalFile, image.displayFile]) {
    if (file) await rm(path.join(config.DATA_DIR, file), { force: true });
  }
}

/** `Sketches/Girl in Hoodie (2).PNG` → `girl-in-hoodie-2`: short, typeable in `/dataset remove name:`. */
export function baseName(fileName: string): string {
  const stem = path.posix.basename(fileName.replace(/\\/g, '/')).replace(/\.[^.]+$/, '');
  const slug = stem
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9а-яё]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return slug || 'drawing';
}

export function uniqueName(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
}

function extensionFor(format: string): string {
  return format === 'jpeg' ? 'jpg' : format;
}

/** What a `/dataset clear` question's buttons confirm: asked by whom, and whether it is the dataset or everything of the server. */
export interface ClearQuestion {
  userId: string;
  everything?: boolean;
}

/** Keeps a clear question under its one-time token until it is answered or `ttlMs` passes. */
export async function askClear({ store }: Pick<DatasetDeps, 'store'>, guildId: string, token: string, question: ClearQuestion, ttlMs: number): Promise<void> {
  await store.set(keys.datasetClear(guildId, token), question, ttlMs);
}

/** The question `token` names; undefined when it expired or never was. */
export function clearQuestion({ store }: Pick<DatasetDeps, 'store'>, guildId: string, token: string): Promise<ClearQuestion | undefined> {
  return store.get<ClearQuestion>(keys.datasetClear(guildId, token));
}

/** The question was answered by the one who asked it: its buttons do nothing more. */
export async function forgetClearQuestion({ store }: Pick<DatasetDeps, 'store'>, guildId: string, token: string): Promise<void> {
  await store.delete(keys.datasetClear(guildId, token));
}
