import type { TrainingSnapshot } from '../services/types.js';
import type { TrainingRecord, TrainingRunRecord } from './records.js';

/**
 * How what the service says about a run (a poll or a webhook, in any order, any number of
 * times) is folded into the stored run: status only moves forward, progress only up, and what
 * is known once (id, start, GPU time, error) is kept.
 */

const statusRank = (status: TrainingRunRecord['status']) => ({ pending: 0, starting: 1, processing: 2, succeeded: 3, failed: 3, canceled: 3 })[status];

export function withRun(record: TrainingRecord, index: number, fn: (run: TrainingRunRecord) => TrainingRunRecord): TrainingRecord {
  return { ...record, runs: (record.runs ?? []).map((run, i) => (i === index ? fn(run) : run)) };
}

/**
 * The run a snapshot is about: by id, or — for a run whose create answer has not been stored
 * yet (its first webhook can arrive before) — the uncreated run with the same step count and zip.
 */
export function runIndexOf(record: TrainingRecord, snapshot: TrainingSnapshot): number {
  const runs = record.runs ?? [];
  const byId = runs.findIndex((run) => run.id === snapshot.id);
  if (byId >= 0) return byId;
  return runs.findIndex((run) => !run.id && run.steps === snapshot.steps && record.dataset !== undefined && record.dataset.url === snapshot.datasetUrl);
}

export function mergeRun(run: TrainingRunRecord, snapshot: TrainingSnapshot, now: number): TrainingRunRecord {
  const forward = statusRank(snapshot.status) > statusRank(run.status);
  const progress = snapshot.progress && (!run.progress || snapshot.progress.step > run.progress.step) ? snapshot.progress : run.progress;
  const merged: TrainingRunRecord = { ...run, id: run.id ?? snapshot.id, status: forward ? snapshot.status : run.status };
  if (progress) merged.progress = progress;
  const progressFrom = run.progressFrom ?? (snapshot.progress ? { at: now, step: snapshot.progress.step } : undefined);
  if (progressFrom) merged.progressFrom = progressFrom;
  const startedAt = run.startedAt ?? snapshot.startedAt;
  if (startedAt !== undefined) merged.startedAt = startedAt;
  const gpuSeconds = snapshot.gpuSeconds ?? run.gpuSeconds;
  if (gpuSeconds !== undefined) merged.gpuSeconds = gpuSeconds;
  const error = snapshot.error ?? run.error;
  if (error !== undefined) merged.error = error;
  return merged;
}
