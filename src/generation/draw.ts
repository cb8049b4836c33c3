import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { UserError } from '../errors.js';
import { msg } from '../i18n/index.js';
import { estimateGenerationSeconds, recordSpend, requireBudget } from '../money/budget.js';
import { usdPerSecond } from '../money/prices.js';
import { ServiceError, type GeneratedImage, type Generator, type Progress } from '../services/types.js';
import type { Store } from '../store/store.js';
import { checkpointWeights } from '../training/checkpoint-archives.js';
import type { TrainingRepository } from '../training/repository.js';
import type { GenerationJob, GenerationParameters } from './jobs.js';
import type { GenerationJobs } from './repository.js';

export interface DrawDeps {
  store: Store;
  config: Config;
  clock: Clock;
  generator: Generator;
  jobs: GenerationJobs;
  /** Where a job's checkpoint is looked up (its training's record has the weights). */
  trainings: Pick<TrainingRepository, 'load'>;
}

/** Refuses a job the server's budget cannot pay for, by the GPU time its pictures are expected to take. */
export async function requireBudgetFor({ store, config, clock }: Pick<DrawDeps, 'store' | 'config' | 'clock'>, job: GenerationJob): Promise<void> {
  const { width, height } = job.parameters;
  const stepsToDraw = job.comparison?.axis === 'steps' ? job.comparison.values : Array<number>(job.comparison?.values.length ?? 1).fill(job.parameters.steps);
  const estimate = stepsToDraw.reduce((sum, steps) => sum + estimateGenerationSeconds(steps, width, height), 0);
  await requireBudget(store, config, clock, job.guildId, estimate * usdPerSecond(config, 'generation'));
}

/**
 * One prediction (picture `index` of the job) through the shared Generator (the path previews
 * take too), its GPU time recorded. The prediction's id is stored as soon as it exists, so a
 * process taking the job over follows that prediction instead of paying for a second one.
 */
export async function draw(
  deps: DrawDeps,
  job: GenerationJob,
  index: number,
  parameters: GenerationParameters,
  signal: AbortSignal,
  onProgress: (progress: Progress) => void,
): Promise<GeneratedImage> {
  const { store, config, clock, generator, jobs } = deps;
  const weights = await weightsOf(deps, job.guildId, parameters.checkpoint);
  // As stored when the job was taken up: a process that ran it before may have recorded it.
  const existing = job.predictions?.[index];
  try {
    // A job taken over without a recorded prediction may still have one: its process could
    // have died between creating it and recording its id.
    const recoverSince = job.takenOver && !existing ? job.createdAt : undefined;
    const onCreated = (predictionId: string) => jobs.recordPrediction(job, index, predictionId);
    const image = await generator.generate({ ...parameters, weights }, { signal, onProgress, follow: existing, onCreated, recoverSince });
    await recordSpend(store, config, clock, job.guildId, image.gpuSeconds, 'generation');
    return image;
  } catch (error) {
    // A failed or canceled prediction is billed for the time it ran.
    if (error instanceof ServiceError && error.gpuSeconds > 0) await recordSpend(store, config, clock, job.guildId, error.gpuSeconds, 'generation');
    throw error;
  }
}

async function weightsOf({ trainings, config }: Pick<DrawDeps, 'trainings' | 'config'>, guildId: string, { trainingId, step }: GenerationParameters['checkpoint']) {
  const training = await trainings.load({ guildId, trainingId });
  const checkpoint = training?.checkpoints.find((c) => c.step === step);
  if (!checkpoint) throw new UserError('checkpoint-gone', msg('error.checkpoint-gone', { step }));
  return checkpointWeights(config, checkpoint);
}

/** Keeps a result's picture (relative to DATA_DIR) for the buttons, the showcase and a reuse. */
export async function saveResult(config: Pick<Config, 'DATA_DIR'>, job: GenerationJob, data: Buffer, extension: string): Promise<string> {
  const imageFile = path.join('guilds', job.guildId, 'results', `${job.id}${extension}`);
  await mkdir(path.dirname(path.join(config.DATA_DIR, imageFile)), { recursive: true });
  await writeFile(path.join(config.DATA_DIR, imageFile), data);
  return imageFile;
}

export function readResult(config: Pick<Config, 'DATA_DIR'>, imageFile: string): Promise<Buffer> {
  return readFile(path.join(config.DATA_DIR, imageFile));
}

export function extensionOf(contentType: string): string {
  if (contentType.includes('jpeg')) return '.jpg';
  if (contentType.includes('webp')) return '.webp';
  return '.png';
}
