import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Config } from '../config.js';
import { t, type Locale } from '../i18n/index.js';
import { loadDataset, readDisplayImage } from '../dataset/dataset.js';
import { GENERATION_DEFAULTS, preparePrompt } from '../generation/prompt.js';
import { createReferenceMatcher } from '../generation/reference-match.js';
import { encodeToFit, type EncodedImage } from '../images/encode.js';
import { previewSheet, type PreviewRow } from '../images/sheets.js';
import type { Logger } from '../log.js';
import { ServiceError, type Generator } from '../services/types.js';
import type { Store } from '../store/store.js';
import { retryWithBackoff } from '../util/backoff.js';
import { isHidden, labelOf } from '../voting/blind.js';
import type { TrainingItem } from './dataset-export.js';
import type { CheckpointRecord, PreviewSample, TrainingRecord } from './records.js';
import { DEFAULT_UPLOAD_LIMIT } from '../interactions/upload-limit.js';
import { checkpointWeights } from './checkpoint-archives.js';

/** The prompt of the class's original workflow, previewed at every checkpoint. */
export const SAD_GIRL_PROMPT = 'a drawing of a sad girl in a hoodie and jeans';
/** Captions of the dataset previewed besides it: what the style looks like on what it was shown. */
const DATASET_PROMPTS = 2;
/** Previews draw like `/kmplz` with its defaults, so what the class votes on is what it gets. */
export const PREVIEW_SETTINGS = { steps: GENERATION_DEFAULTS.steps, guidance: GENERATION_DEFAULTS.guidance, strength: GENERATION_DEFAULTS.strength, width: GENERATION_DEFAULTS.width, height: GENERATION_DEFAULTS.height };
const CELL = 256;

/**
 * The prompts every checkpoint of a training is drawn with, chosen once at the start: a few
 * captions spread over the dataset (each row starting with its own drawing) and the sad girl
 * in a hoodie (starting with the drawing whose caption is closest). Seeds are fixed per prompt,
 * so the checkpoints differ only by their weights.
 */
export function choosePreviewSamples(items: readonly TrainingItem[], triggerWord: string, seed: number): PreviewSample[] {
  if (items.length === 0) return [];
  const captioned = items.filter((item) => item.image.caption !== undefined);
  const count = Math.min(DATASET_PROMPTS, captioned.length);
  const picked = Array.from({ length: count }, (_, i) => captioned[Math.floor((i * captioned.length) / count)]!);
  const samples: PreviewSample[] = picked.map((item, i) => ({ prompt: item.caption, seed: sampleSeed(seed, i), reference: item.image.name }));
  const sad = preparePrompt(SAD_GIRL_PROMPT, { triggerWord }).prompt;
  const match = createReferenceMatcher(
    items.map((item) => ({ name: item.image.name, caption: item.caption })),
    { triggerWord },
  )(sad);
  samples.push({ prompt: sad, seed: sampleSeed(seed, samples.length), reference: match?.reference.name ?? items[0]!.image.name });
  return samples;
}

function sampleSeed(seed: number, index: number): number {
  return (seed + index * 7919) % 2 ** 31;
}

export interface PreviewDeps {
  generator: Generator;
  store: Store;
  config: Config;
  log: Logger;
}

export interface PreviewSheet {
  image: EncodedImage;
  /** Rows that could not be drawn, in words. */
  notes: string[];
}

const transient = (error: unknown) => error instanceof ServiceError && (error.failure === 'throttled' || error.failure === 'unavailable' || error.failure === 'timeout');

/**
 * Draws every sample with the checkpoint's weights through the shared Generator, and lays them
 * out as one contact sheet: a row per prompt, the artist's drawing first, the step on top (the
 * letter instead, while a blind vote runs).
 * `onSpend` hears every prediction's GPU time as it is billed. A row that cannot be drawn
 * (safety checker, a failed prediction) is left grey and named in `notes`; when every row
 * failed for a passing reason (throttling, an outage) this throws, to be tried again later.
 */
export async function makePreviewSheet(
  { generator, store, config, log }: PreviewDeps,
  training: TrainingRecord,
  checkpoint: CheckpointRecord,
  { signal, onSpend }: { signal?: AbortSignal; onSpend(gpuSeconds: number): Promise<void> },
): Promise<PreviewSheet> {
  const samples = training.samples ?? [];
  if (samples.length === 0) throw new Error(`training ${training.id} has no preview prompts`);
  const weights = checkpointWeights(config, checkpoint);
  type Drawn = { data: Buffer } | { error: unknown };
  const drawn = await Promise.all(
    samples.map(async (sample): Promise<Drawn> => {
      try {
        const image = await retryWithBackoff(
          () => generator.generate({ prompt: sample.prompt, seed: sample.seed, ...PREVIEW_SETTINGS, weights }, { signal }),
          transient,
          { baseMs: 2000, maxMs: 15_000, attempts: 3, signal },
        );
        await onSpend(image.gpuSeconds);
        return { data: image.data };
      } catch (error) {
        if (error instanceof ServiceError && error.gpuSeconds > 0) await onSpend(error.gpuSeconds);
        if (signal?.aborted) throw error;
        log.warn({ err: error, step: checkpoint.step, prompt: sample.prompt }, 'a preview picture could not be made');
        return { error };
      }
    }),
  );
  if (drawn.every((d) => 'error' in d && transient(d.error))) throw (drawn[0] as { error: unknown }).error;

  const dataset = await loadDataset(store, training.guildId);
  const notes: string[] = [];
  const rows: PreviewRow[] = await Promise.all(
    samples.map(async (sample, index) => {
      const result = drawn[index]!;
      if ('error' in result) notes.push(`“${sample.prompt}”: ${describeFailure(result.error, training.locale ?? 'en')}`);
      const reference = dataset.images.find((image) => image.name === sample.reference);
      return {
        label: sample.prompt,
        reference: reference ? await readDisplayImage({ store, config }, training.guildId, reference).catch(() => placeholder()) : await placeholder(),
        images: ['data' in result ? result.data : await placeholder()],
      };
    }),
  );
  const { title, filename } = previewLabels(training, checkpoint.step, config.TRIGGER_WORD);
  const sheet = await previewSheet(rows, title, { cell: CELL });
  const image = await encodeToFit(sheet, training.uploadLimit ?? DEFAULT_UPLOAD_LIMIT, filename);
  return { image, notes };
}

/** The sheet's title and file name. Blind: only the letter, or the picture would tell the step. */
export function previewLabels(training: Pick<TrainingRecord, 'blind' | 'votingClosedAt' | 'steps'>, step: number, triggerWord: string): { title: string; filename: string } {
  if (isHidden(training)) return { title: `${triggerWord} · checkpoint ${labelOf(training, step)}`, filename: `preview-${labelOf(training, step)}` };
  return { title: `${triggerWord} · step ${step} of ${training.steps}`, filename: `preview-step-${step}` };
}

function describeFailure(error: unknown, locale: Locale): string {
  if (!(error instanceof ServiceError)) return t(locale, 'preview.failure.internal');
  if (error.failure === 'nsfw') return t(locale, 'preview.failure.nsfw');
  if (error.failure === 'failed') return t(locale, 'preview.failure.failed', { detail: error.message.slice(0, 120) });
  return t(locale, 'preview.failure.busy');
}

function placeholder(): Promise<Buffer> {
  return sharp({ create: { width: CELL, height: CELL, channels: 3, background: '#808080' } }).png().toBuffer();
}

/**
 * Previews are kept on disk once made: a bot restarted between making a preview and posting it
 * posts the same sheet instead of paying for it again.
 */
function previewPaths(config: Config, training: TrainingRecord, step: number): { meta: string; dir: string } {
  const dir = path.join(config.DATA_DIR, 'guilds', training.guildId, 'trainings', training.id);
  return { dir, meta: path.join(dir, `preview-${step}.json`) };
}

export async function loadSavedPreview(config: Config, training: TrainingRecord, step: number): Promise<PreviewSheet | undefined> {
  const { dir, meta } = previewPaths(config, training, step);
  try {
    const saved = JSON.parse(await readFile(meta, 'utf8')) as { filename: string; format: EncodedImage['format']; notes: string[] };
    return { image: { data: await readFile(path.join(dir, path.basename(saved.filename))), filename: saved.filename, format: saved.format }, notes: saved.notes };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Image first, description last, each written whole (temp file + rename): a half-written preview is never read back. */
export async function savePreview(config: Config, training: TrainingRecord, step: number, sheet: PreviewSheet): Promise<void> {
  const { dir, meta } = previewPaths(config, training, step);
  await mkdir(dir, { recursive: true });
  await writeWhole(path.join(dir, sheet.image.filename), sheet.image.data);
  await writeWhole(meta, JSON.stringify({ filename: sheet.image.filename, format: sheet.image.format, notes: sheet.notes }));
}

async function writeWhole(file: string, data: string | Buffer): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, data);
  await rename(temporary, file);
}
