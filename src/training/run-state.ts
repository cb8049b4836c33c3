import type { TrainingRecord, TrainingRunRecord } from './records.js';

/** Where a training's runs stand, read from the stored record alone (plain data for the views and the loop). */

export const isTerminalRun = (run: Pick<TrainingRunRecord, 'status'>): boolean =>
  run.status === 'succeeded' || run.status === 'failed' || run.status === 'canceled';

/** GPU seconds so far: finished runs by their metrics, running ones by the time since they started, and the previews. */
export function gpuSecondsSoFar(training: TrainingRecord, now: number): { seconds: number; exact: boolean; previewSeconds: number } {
  const previewSeconds = training.previewGpuSeconds ?? 0;
  let seconds = previewSeconds;
  let exact = true;
  for (const run of training.runs ?? []) {
    if (run.gpuSeconds !== undefined) seconds += run.gpuSeconds;
    else if (run.startedAt !== undefined && !isTerminalRun(run)) {
      seconds += Math.max(0, now - run.startedAt) / 1000;
      exact = false;
    }
  }
  return { seconds, exact, previewSeconds };
}

/** The run whose bar stands for the training: the longest one still going, else the longest. */
export function leadingRun(training: TrainingRecord): TrainingRunRecord | undefined {
  const runs = [...(training.runs ?? [])].sort((a, b) => b.steps - a.steps);
  return runs.find((run) => !isTerminalRun(run)) ?? runs[0];
}

/** The record of a running training that fails now for `failure`; a training that already ended stays as it ended. */
export function failedIfRunning(record: TrainingRecord, failure: string, now: number): TrainingRecord {
  return record.status === 'running' ? { ...record, status: 'failed', failure, finishedAt: now } : record;
}
