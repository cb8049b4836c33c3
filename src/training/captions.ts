import { toTrainingCaption } from '../captioning/clean.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { loadDataset, readTrainingImage, setCaption } from '../dataset/dataset.js';
import { mapConcurrent } from '../images/concurrency.js';
import type { Logger } from '../log.js';
import { recordSpend, requireBudget } from '../money/budget.js';
import { ServiceError, type Captioner } from '../services/types.js';
import type { Store } from '../store/store.js';
import { retryWithBackoff } from '../util/backoff.js';

/** BLIP is quick, and Replicate throttles bursts. */
const CONCURRENCY = 3;
/** A BLIP caption costs a second or two of GPU; the budget check counts this per drawing. */
const ESTIMATE_SECONDS = 2;

export interface CaptionDeps {
  store: Store;
  config: Config;
  clock: Clock;
  log: Logger;
  captioner: Captioner;
}

/**
 * What `/train` offers before it starts: BLIP captions (in the trainer's form) for the drawings
 * that have none, through the same captioner as `/caption`. One drawing that will not caption
 * does not stop the others; it is named in `failed`.
 */
export async function captionMissing({ store, config, clock, log, captioner }: CaptionDeps, guildId: string): Promise<{ captioned: string[]; failed: string[] }> {
  const todo = (await loadDataset(store, guildId)).images.filter((image) => !image.caption);
  if (todo.length === 0) return { captioned: [], failed: [] };
  await requireBudget(store, config, clock, guildId, todo.length * ESTIMATE_SECONDS * config.GPU_PRICE_PER_SECOND);
  const captioned: string[] = [];
  const failed: string[] = [];
  await mapConcurrent(todo, CONCURRENCY, async (image) => {
    try {
      const result = await retryWithBackoff(
        async () => captioner.caption({ data: await readTrainingImage(config, image), contentType: 'image/jpeg', name: `${image.name}.jpg` }),
        (error) => error instanceof ServiceError && (error.failure === 'throttled' || error.failure === 'unavailable'),
        { baseMs: 1000, maxMs: 8000, attempts: 3 },
      );
      await recordSpend(store, config, clock, guildId, result.gpuSeconds);
      if (await setCaption({ store, config, log }, guildId, image.name, toTrainingCaption(result.raw, config.TRIGGER_WORD), 'blip')) captioned.push(image.name);
    } catch (error) {
      if (error instanceof ServiceError && error.gpuSeconds > 0) await recordSpend(store, config, clock, guildId, error.gpuSeconds);
      log.warn({ err: error, image: image.name }, 'captioning before training failed');
      failed.push(image.name);
    }
  });
  return { captioned, failed };
}
