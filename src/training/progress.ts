/**
 * Training progress from a trainer's logs. tqdm redraws its bar with `\r`, so one log line
 * can hold hundreds of updates, and the bar usually has a description in front
 * (`Steps:  25%|██▌       | 250/1000 [00:10<00:30, 24.5it/s, loss=0.1]`), which the
 * replicate client's own parser misses. The bot's pattern is `step/total [` — the `[` that
 * opens tqdm's timing block guards against a half-written update like `250/10` at the end
 * of logs fetched mid-write.
 */

export interface TrainingProgress {
  step: number;
  total: number;
}

const TQDM_COUNTER = /(\d+)\/(\d+) \[/g;

/**
 * The last progress update in `logs`, or `undefined` when there is none yet.
 * `expectedTotal` (the run's `max_train_steps`) skips the other bars a trainer draws before
 * training starts, such as captioning 20 images, which would otherwise read as "20/20, done".
 * The pattern cannot match across a line break, so matching the whole text is the same as
 * matching each `\r`- or `\n`-separated line and keeping the last match.
 */
export function parseTrainingProgress(logs: string, expectedTotal?: number): TrainingProgress | undefined {
  let last: TrainingProgress | undefined;
  for (const match of logs.matchAll(TQDM_COUNTER)) {
    const step = Number(match[1]);
    const total = Number(match[2]);
    if (total === 0 || step > total) continue;
    if (expectedTotal !== undefined && total !== expectedTotal) continue;
    last = { step, total };
  }
  return last;
}

export interface EtaInput {
  step: number;
  total: number;
  /** When steps started being made (the first progress seen), not when the run was created: setup time would skew the rate. */
  startedAt: Date;
  now: Date;
}

export interface Eta {
  remainingMs: number;
  finishesAt: Date;
}

/** Extrapolates the average rate so far; `undefined` until there is a step to measure. */
export function estimateEta({ step, total, startedAt, now }: EtaInput): Eta | undefined {
  const elapsedMs = now.getTime() - startedAt.getTime();
  if (step <= 0 || total <= 0 || !(elapsedMs >= 0)) return undefined;
  const remainingMs = Math.max(0, Math.round((elapsedMs / step) * (total - step)));
  return { remainingMs, finishesAt: new Date(now.getTime() + remainingMs) };
}
