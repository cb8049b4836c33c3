import { t, type Locale } from '../i18n/index.js';
import { estimateGenerationSeconds } from '../money/budget.js';
import type { PlannedRun, TrainingStrategy } from '../services/types.js';

/** Each checkpoint is a preview, a vote button and (with the ladder) a run of its own: a class compares a handful. */
export const MAX_CHECKPOINTS = 10;

/**
 * Rough GPU figures of cog-sdxl LoRA training, for estimates only (the real cost comes from the
 * service's metrics afterwards): per step at batch 4 and 768 px, per image of preprocessing
 * (masks, upscaling), and per run for booting, downloading and saving the weights.
 */
export const TRAINING_TIMING = { secondsPerStep: 0.45, secondsPerImage: 2, secondsPerRun: 30 } as const;

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

/** One run per checkpoint: the 250-step run is the first 250 steps of the 1000-step one. */
export function ladderPlan(steps: number, every: number): PlannedRun[] {
  return checkpointSteps(steps, every).map((step) => ({ steps: step, checkpointSteps: [step] }));
}

/** One run that yields every checkpoint. */
export function streamingPlan(steps: number, every: number): PlannedRun[] {
  return [{ steps, checkpointSteps: checkpointSteps(steps, every) }];
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

export function estimateRunSeconds(steps: number, images: number): number {
  return TRAINING_TIMING.secondsPerRun + images * TRAINING_TIMING.secondsPerImage + steps * TRAINING_TIMING.secondsPerStep;
}

/** What a training will cost: every run, and a preview sheet (`samples` pictures) per checkpoint. */
export function estimateTraining(
  runs: readonly PlannedRun[],
  { images, samples, pricePerSecond, preview }: { images: number; samples: number; pricePerSecond: number; preview: { steps: number; width: number; height: number } },
): TrainingEstimate {
  const perRun = runs.map((run) => estimateRunSeconds(run.steps, images));
  const trainingGpuSeconds = perRun.reduce((sum, seconds) => sum + seconds, 0);
  const checkpoints = runs.reduce((sum, run) => sum + run.checkpointSteps.length, 0);
  const previewGpuSeconds = checkpoints * samples * estimateGenerationSeconds(preview.steps, preview.width, preview.height);
  const gpuSeconds = trainingGpuSeconds + previewGpuSeconds;
  return { gpuSeconds, trainingGpuSeconds, previewGpuSeconds, wallSeconds: Math.max(0, ...perRun), usd: gpuSeconds * pricePerSecond };
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
): number {
  const step = run.progress?.step ?? 0;
  const perStep = measuredSecondsPerStep(run.progressFrom, step, now) ?? TRAINING_TIMING.secondsPerStep;
  const setup = step > 0 ? 0 : images * TRAINING_TIMING.secondsPerImage + (run.startedAt === undefined ? TRAINING_TIMING.secondsPerRun : 0);
  return Math.max(0, run.steps - step) * perStep + setup;
}

export function describeStrategy(strategy: TrainingStrategy, runs: readonly PlannedRun[], locale: Locale = 'en'): string {
  if (strategy === 'streaming') return t(locale, 'train.strategy.streaming');
  const total = runs.reduce((sum, run) => sum + run.steps, 0);
  const longest = Math.max(...runs.map((run) => run.steps));
  const factor = Math.round((total / longest) * 10) / 10;
  return t(locale, 'train.strategy.ladder', { runs: runs.length, steps: runs.map((r) => r.steps).join(' / '), factor });
}
