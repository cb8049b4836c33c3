import { t, type Locale } from '../i18n/index.js';
import { estimateGenerationSeconds } from '../money/budget.js';
import type { PlannedRun, TrainingStrategy } from '../services/types.js';

/** Each checkpoint is a preview, a vote button and (with the ladder) a run of its own: a class compares a handful. */
export const MAX_CHECKPOINTS = 10;

/**
 * Rough GPU figures of cog-sdxl LoRA training, for estimates only (the real cost comes from the
 * service's metrics afterwards): per step at batch 4 on the 1024² training squares (0.45 s at
 * cog-sdxl's default 768 px, scaled by the pixel count), per image of preprocessing (masks,
 * upscaling), and per run for booting, downloading and saving the weights.
 */
export const TRAINING_TIMING = { secondsPerStep: 0.8, secondsPerImage: 2, secondsPerRun: 30 } as const;

/**
 * The same figures for kmplz's own trainer (`streaming`), measured on one H100 (trainer/BENCH.md):
 * 9.8 steps/s at batch 1 and 1024², about 1 s per image to load, encode and cache, and per run
 * an allowance for booting a private model and loading the SDXL base weights in `setup()` (not
 * measured: Replicate bills a pushed model's boot, which the bench did not include). An unlisted
 * model is priced at the H100 rate (src/money/prices.ts), the card these figures come from.
 */
export const STREAMING_TRAINING_TIMING = { secondsPerStep: 0.11, secondsPerImage: 1, secondsPerRun: 120 } as const;

function timingOf(strategy: TrainingStrategy) {
  return strategy === 'streaming' ? STREAMING_TRAINING_TIMING : TRAINING_TIMING;
}

/** cog-sdxl's `train_batch_size` default (train.py); kmplz does not send it. */
export const TRAINER_BATCH_SIZE = 4;

/**
 * The steps a cog-sdxl run asked for `maxSteps` really trains. trainer_pti.py runs whole epochs:
 * an epoch is ceil(images / batch) steps and it runs ceil(maxSteps / steps per epoch) of them,
 * without stopping at `maxSteps` (64 images at batch 4: a 250-step run trains 256 steps).
 */
export function wholeEpochSteps(maxSteps: number, images: number, batchSize = TRAINER_BATCH_SIZE): number {
  const perEpoch = Math.max(1, Math.ceil(images / batchSize));
  return Math.ceil(maxSteps / perEpoch) * perEpoch;
}

/** `every`, `2·every`, … up to `steps`, and `steps` itself when it is not a multiple. */
export function checkpointSteps(steps: number, every: number): number[] {
  if (!(Number.isInteger(steps) && steps > 0 && Number.isInteger(every) && every > 0)) {
    throw new RangeError(`steps and every must be positive integers, got ${steps} and ${every}`);
  }
  const result: number[] = [];
  for (let step = every; step < steps; step += every) result.push(step);
  result.push(steps);
  return result;
}

/**
 * One run per checkpoint, each a separate training of its own length (250, 500, …) from the same
 * zip and seed. Not points of one run: each trains whole epochs, and cog-sdxl switches from
 * textual inversion to LoRA halfway through each run's own epochs (`pivot_halfway`), so the
 * 250-step run is not the first 250 steps of the 1000-step one.
 */
export function ladderPlan(steps: number, every: number): PlannedRun[] {
  return checkpointSteps(steps, every).map((step) => ({ steps: step, checkpointSteps: [step] }));
}

/** One run that yields every checkpoint. */
export function streamingPlan(steps: number, every: number): PlannedRun[] {
  return [{ steps, checkpointSteps: checkpointSteps(steps, every) }];
}

/** USD per GPU second of the trainer's runs and of the generator's previews (src/money/prices.ts). */
export interface TrainingPrices {
  training: number;
  preview: number;
}

export interface TrainingEstimate {
  /** GPU time billed: the sum over runs, plus the previews. */
  gpuSeconds: number;
  trainingGpuSeconds: number;
  previewGpuSeconds: number;
  /** Time until the last checkpoint: the longest run (runs go in parallel). */
  wallSeconds: number;
  usd: number;
}

/** The steps a run trains: whole epochs with the official trainer (the ladder), as asked with a streaming one. */
export function trainedSteps(steps: number, images: number, strategy: TrainingStrategy): number {
  return strategy === 'ladder' ? wholeEpochSteps(steps, images) : steps;
}

export function estimateRunSeconds(steps: number, images: number, strategy: TrainingStrategy = 'ladder'): number {
  const timing = timingOf(strategy);
  return timing.secondsPerRun + images * timing.secondsPerImage + trainedSteps(steps, images, strategy) * timing.secondsPerStep;
}

/** What a training will cost: every run (whole epochs with the ladder), and a preview sheet (`samples` pictures) per checkpoint. */
export function estimateTraining(
  runs: readonly PlannedRun[],
  { images, samples, prices, preview, strategy }: { images: number; samples: number; prices: TrainingPrices; preview: { steps: number; width: number; height: number }; strategy: TrainingStrategy },
): TrainingEstimate {
  const perRun = runs.map((run) => estimateRunSeconds(run.steps, images, strategy));
  const trainingGpuSeconds = perRun.reduce((sum, seconds) => sum + seconds, 0);
  const checkpoints = runs.reduce((sum, run) => sum + run.checkpointSteps.length, 0);
  const previewGpuSeconds = checkpoints * samples * estimateGenerationSeconds(preview.steps, preview.width, preview.height);
  const gpuSeconds = trainingGpuSeconds + previewGpuSeconds;
  const usd = trainingGpuSeconds * prices.training + previewGpuSeconds * prices.preview;
  return { gpuSeconds, trainingGpuSeconds, previewGpuSeconds, wallSeconds: Math.max(0, ...perRun), usd };
}

/** Where a run's progress was first seen: rates are measured from there, not from the queue. */
export interface ProgressOrigin {
  at: number;
  step: number;
}

/** Seconds per step since `origin`, once at least one step went by. */
export function measuredSecondsPerStep(origin: ProgressOrigin | undefined, step: number, now: number): number | undefined {
  if (!origin || step <= origin.step || now <= origin.at) return undefined;
  return (now - origin.at) / 1000 / (step - origin.step);
}

/**
 * GPU time a canceled run would still have used: its remaining steps at the rate it showed
 * (or the estimate's rate before it showed any), plus the setup it had not done yet.
 */
export function remainingRunSeconds(
  run: { steps: number; progress?: { step: number }; progressFrom?: ProgressOrigin; startedAt?: number },
  images: number,
  now: number,
  strategy: TrainingStrategy = 'ladder',
): number {
  const step = run.progress?.step ?? 0;
  const timing = timingOf(strategy);
  const perStep = measuredSecondsPerStep(run.progressFrom, step, now) ?? timing.secondsPerStep;
  const setup = step > 0 ? 0 : images * timing.secondsPerImage + (run.startedAt === undefined ? timing.secondsPerRun : 0);
  return Math.max(0, trainedSteps(run.steps, images, strategy) - step) * perStep + setup;
}

/**
 * What the strategy means for this training. The ladder's rungs are separate trainings, each of
 * whole epochs: the steps they really train are named where they differ from the steps asked.
 */
export function describeStrategy(strategy: TrainingStrategy, runs: readonly PlannedRun[], images: number, locale: Locale = 'en'): string {
  if (strategy === 'streaming') return t(locale, 'train.strategy.streaming');
  const trained = runs.map((run) => wholeEpochSteps(run.steps, images));
  const total = trained.reduce((sum, steps) => sum + steps, 0);
  const longest = Math.max(...trained);
  const factor = Math.round((total / longest) * 10) / 10;
  const perEpoch = Math.max(1, Math.ceil(images / TRAINER_BATCH_SIZE));
  const text = t(locale, 'train.strategy.ladder', { runs: runs.length, steps: runs.map((r) => r.steps).join(' / '), factor });
  if (trained.every((steps, i) => steps === runs[i]!.steps)) return text;
  return `${text} ${t(locale, 'train.strategy.ladder.epochs', { images, batch: TRAINER_BATCH_SIZE, perEpoch, trained: trained.join(' / ') })}`;
}
