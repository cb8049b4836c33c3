import { toTrainingCaption } from './clean.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { loadDataset, readTrainingImage, setCaption } from '../dataset/dataset.js';
import { mapConcurrent } from '../images/concurrency.js';
import type { Logger } from '../log.js';
import { recordSpend, requireBudget } from '../money/budget.js';
import { usdPerSecond } from '../money/prices.js';
import { ServiceError, type Captioner } from '../services/types.js';
import type { Store } from '../store/store.js';
import { retryWithBackoff } from '../util/backoff.js';

/** BLIP is quick, and Replicate throttles bursts. */
const CONCURRENCY = 3;
/** A BLIP caption costs a second or two of GPU; the budget check counts this per drawing. */
export const CAPTION_ESTIMATE_SECONDS = 2;

export interface CaptionDeps {
  store: Store;
  config: Config;
  clock: Clock;
  log: Logger;
  captioner: Captioner;
}

/**
 * One picture through BLIP, in the trainer's form (`KMPLZ, a drawing of …`). Throttling and
 * "model is loading" are retried a few times with backoff; billed time is recorded, also for a
 * prediction that failed after it ran.
 */
export async function captionImage(
  { store, config, clock, captioner }: CaptionDeps,
  guildId: string,
  image: { data: Buffer; contentType: string; name: string },
): Promise<string> {
  try {
    const result = await retryWithBackoff(
      () => captioner.caption(image),
      (error) => error instanceof ServiceError && (error.failure === 'throttled' || error.failure === 'unavailable'),
      { baseMs: 1000, maxMs: 8000, attempts: 3 },
    );
    await recordSpend(store, config, clock, guildId, result.gpuSeconds, 'captioning');
    return toTrainingCaption(result.raw, config.TRIGGER_WORD);
  } catch (error) {
    if (error instanceof ServiceError && error.gpuSeconds > 0) await recordSpend(store, config, clock, guildId, error.gpuSeconds, 'captioning');
    throw error;
  }
}

/**
 * Captions every drawing of the dataset that has none yet (`/caption`, and `/train` before it
 * starts), a few at a time. One drawing that will not caption does not stop the others; it is
 * named in `failed`.
 */
export async function captionMissing(
  deps: CaptionDeps,
  guildId: string,
  { onProgress, signal }: { onProgress?: (done: number, total: number) => void | Promise<void>; signal?: AbortSignal } = {},
): Promise<{ captioned: string[]; failed: string[] }> {
  const { store, config, clock, log } = deps;
  const todo = (await loadDataset(store, guildId)).images.filter((image) => !image.caption);
  if (todo.length === 0) return { captioned: [], failed: [] };
  await requireBudget(store, config, clock, guildId, todo.length * CAPTION_ESTIMATE_SECONDS * usdPerSecond(config, 'captioning'));
  const captioned: string[] = [];
  const failed: string[] = [];
  await mapConcurrent(todo, CONCURRENCY, async (image) => {
    // Stopping (a shutdown): what is captioned is kept, the rest is left for the next run.
    if (signal?.aborted) return;
    try {
      const caption = await captionImage(deps, guildId, { data: await readTrainingImage(config, image), contentType: 'image/jpeg', name: `${image.name}.jpg` });
      if (await setCaption({ store, config, log }, guildId, image.name, caption, 'blip')) captioned.push(image.name);
    } catch (error) {
      log.warn({ err: error, image: image.name }, 'captioning failed');
      failed.push(image.name);
    }
    await onProgress?.(captioned.length + failed.length, todo.length);
  });
  return { captioned, failed };
}
