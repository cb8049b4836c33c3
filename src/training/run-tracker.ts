import type { Clock } from '../clock.js';
import { DEFAULT_TRAINING_SIZE } from '../images/preprocess.js';
import type { Logger } from '../log.js';
import type { Trainer, TrainingSnapshot } from '../services/types.js';
import { remainingRunSeconds } from './plan.js';
import type { TrainingRecord, TrainingRef, TrainingRunRecord } from './records.js';
import type { TrainingRepository } from './repository.js';
import { mergeRun, runIndexOf, withRun } from './run-snapshots.js';
import { isTerminalRun } from './run-state.js';

export interface RunTrackerOptions {
  repository: TrainingRepository;
  trainer: Trainer;
  clock: Clock;
  log: Logger;
  triggerWord: string;
  /** The server's training zip (src/training/dataset-export.ts) and how many images it holds. */
  datasetZip(guildId: string): Promise<{ zip: Buffer; images: number }>;
  /** Adds a run's billed GPU time to the server's month (called once per run). */
  recordSpend(guildId: string, gpuSeconds: number): Promise<void>;
  /** Where the service reports a run of this training; undefined: the runs are polled. */
  webhookUrl(ref: TrainingRef): string | undefined;
  /** Something about the runs or checkpoints changed (new weights get kmplz's own copy). */
  onChanged(ref: TrainingRef): void;
  /** Webhook deliveries that only move a run's bar are stored at most this often per run. */
  deliveryIntervalMs: number;
}

export interface Applied {
  record: TrainingRecord | undefined;
  changed: boolean;
}

/** GPU time the runs `which` selects would still have used: what a cancel or a stop saves. */
export function savedBy(record: TrainingRecord, which: (run: TrainingRunRecord) => boolean, now: number): number {
  return (record.runs ?? [])
    .filter((run) => !isTerminalRun(run) && which(run))
    .reduce((sum, run) => sum + remainingRunSeconds(run, record.imageCount ?? 0, now, record.strategy ?? 'ladder'), 0);
}

/**
 * A training's runs at the service: starts them (one zip upload, each create once — a create
 * whose answer was lost is found rather than sent again), follows them by polls and webhooks,
 * folds every snapshot into the record (forward only: a late webhook or an old poll never undoes
 * a newer state), turns new weights into checkpoints, counts each run's GPU time once, and
 * cancels them. Everything it knows is in the record, so any process can take a training up.
 */
export class RunTracker {
  /** Per run: the last webhook snapshot stored, to skip deliveries that only move the bar. */
  private readonly lastDelivery = new Map<string, { at: number; status: string; weights: number }>();

  constructor(private readonly o: RunTrackerOptions) {}

  /** Uploads the zip and creates every run not created yet, in order; each step done once across restarts. */
  async start(ref: TrainingRef): Promise<void> {
    const { repository, trainer, clock } = this.o;
    let record = await repository.mustLoad(ref);
    if (record.status !== 'running') return;
    if (!record.dataset) {
      const { zip, images } = await this.o.datasetZip(ref.guildId);
      const uploaded = await trainer.uploadDataset(zip, `kmplz-${ref.trainingId}.zip`);
      record = await repository.update(ref, (current) => (current.dataset ? current : { ...current, dataset: uploaded, imageCount: images }));
      // Another process uploaded first: its zip is the one every run reads.
      if (record.dataset?.fileId !== uploaded.fileId) await trainer.deleteDataset(uploaded.fileId);
    }
    const dataset = record.dataset!;
    for (let index = 0; index < (record.runs ?? []).length; index++) {
      record = await repository.mustLoad(ref);
      const run = record.runs![index]!;
      if (!wanted(record, run)) return;
      if (run.id || run.status !== 'pending') continue;
      if (run.createRequestedAt !== undefined) {
        // A create went out before a restart and its answer was lost: the run may exist.
        const found = await trainer.find({ datasetUrl: dataset.url, steps: run.steps }, run.createRequestedAt);
        if (found) {
          await this.apply(ref, found, index);
          continue;
        }
      }
      const requestedAt = clock.now();
      await repository.update(ref, (current) => withRun(current, index, (r) => ({ ...r, createRequestedAt: r.createRequestedAt ?? requestedAt })));
      const created = await trainer.start({
        datasetUrl: dataset.url,
        triggerWord: this.o.triggerWord,
        run: { steps: run.steps, checkpointSteps: run.checkpointSteps },
        seed: record.seed!,
        // Every drawing was cropped to this square when it came in (src/images/preprocess.ts).
        resolution: DEFAULT_TRAINING_SIZE,
        webhook: this.o.webhookUrl(ref),
      });
      this.o.log.info({ trainingId: ref.trainingId, runId: created.id, steps: run.steps }, 'training run created');
      const { record: after } = await this.apply(ref, created, index);
      // Canceled or stopped while the create was on its way: this run is not wanted any more.
      // (The record may already call it canceled, so it is canceled at the service directly.)
      if (after && !wanted(after, run)) await this.apply(ref, await trainer.cancel(created.id));
    }
  }

  /** Polls every run still going; true when any of them moved. */
  async poll(ref: TrainingRef): Promise<boolean> {
    const record = await this.o.repository.mustLoad(ref);
    let changed = false;
    for (const run of record.runs ?? []) {
      if (!run.id || isTerminalRun(run)) continue;
      changed = (await this.apply(ref, await this.o.trainer.get(run.id))).changed || changed;
    }
    return changed;
  }

  /**
   * A webhook body about one of the training's runs; true when it changed the record. `logs`
   * deliveries come every half second per run and mostly move the bar: those are stored at most
   * once per `deliveryIntervalMs`. A new status or new weights always go through.
   */
  async onWebhook(ref: TrainingRef, body: unknown): Promise<boolean> {
    const snapshot = this.o.trainer.fromWebhook(body);
    if (!snapshot) return false;
    const now = this.o.clock.now();
    const seen = this.lastDelivery.get(snapshot.id);
    if (seen && seen.status === snapshot.status && seen.weights === snapshot.weights.length && now - seen.at < this.o.deliveryIntervalMs) return false;
    if (snapshot.status === 'starting' || snapshot.status === 'processing') this.lastDelivery.set(snapshot.id, { at: now, status: snapshot.status, weights: snapshot.weights.length });
    else this.lastDelivery.delete(snapshot.id);
    const { record, changed } = await this.apply(ref, snapshot);
    return record !== undefined && changed;
  }

  /**
   * Merges what the service said about a run into the record: status and progress only move
   * forward, new weights become checkpoints. A run's billed GPU time is added to the month's
   * spend once, under a mark. `index`: the run a create answered for.
   */
  async apply(ref: TrainingRef, snapshot: TrainingSnapshot, index?: number): Promise<Applied> {
    const now = this.o.clock.now();
    let changed = false;
    const record = await this.o.repository.updateIfPresent(ref, (current) => {
      changed = false;
      const merged = current.runs && mergeSnapshot(current, snapshot, index ?? runIndexOf(current, snapshot), now);
      if (!merged) return current;
      changed = true;
      return merged;
    });
    // In the background: a webhook is answered at once.
    if (changed) this.o.onChanged(ref);
    if (snapshot.gpuSeconds !== undefined && record?.runs?.some((run) => run.id === snapshot.id)) {
      if (await this.o.repository.markRunSpent(ref, snapshot.id, snapshot.gpuSeconds)) await this.o.recordSpend(ref.guildId, snapshot.gpuSeconds);
    }
    return { record, changed };
  }

  /** Cancels the runs `which` selects: created ones at the service, pending ones in the record. */
  async cancel(ref: TrainingRef, which: (run: TrainingRunRecord) => boolean): Promise<void> {
    const record = await this.o.repository.load(ref);
    for (const [index, run] of (record?.runs ?? []).entries()) {
      if (isTerminalRun(run) || !which(run)) continue;
      if (!run.id) {
        await this.o.repository.update(ref, (current) => withRun(current, index, (r) => (r.id ? r : { ...r, status: 'canceled' })));
        continue;
      }
      try {
        await this.apply(ref, await this.o.trainer.cancel(run.id));
      } catch (error) {
        // The end cancels what is still going once more (settle).
        this.o.log.warn({ err: error, runId: run.id }, 'could not cancel a training run');
      }
    }
  }

  /**
   * At the end, whichever way it came: cancels every run still going and polls them, with
   * backoff, until each has stopped and reported its GPU time (which counts), or `signal` aborts.
   */
  async settle(ref: TrainingRef, signal: AbortSignal, backoff: { baseMs: number; maxMs: number }): Promise<void> {
    await this.cancel(ref, () => true);
    for (let attempt = 0; attempt < 10 && !signal.aborted; attempt++) {
      const record = await this.o.repository.mustLoad(ref);
      const unsettled = (record.runs ?? []).filter((run) => run.id && (!isTerminalRun(run) || (run.gpuSeconds === undefined && run.startedAt !== undefined)));
      if (unsettled.length === 0) return;
      await new Promise((resolve) => setTimeout(resolve, Math.min(backoff.maxMs, backoff.baseMs * 2 ** attempt)));
      for (const run of unsettled) await this.apply(ref, await this.o.trainer.get(run.id!));
    }
  }

  /** The zip at the service is no longer needed once every run has ended. */
  async deleteDataset(ref: TrainingRef): Promise<void> {
    const record = await this.o.repository.mustLoad(ref);
    if (record.dataset) await this.o.trainer.deleteDataset(record.dataset.fileId);
  }
}

/** A run is still wanted while the training runs and no stop falls before its end. */
function wanted(record: TrainingRecord, run: TrainingRunRecord): boolean {
  return record.status === 'running' && !(record.stopAfter && run.steps > record.stopAfter.step);
}

/** The record with the snapshot folded into run `at`; undefined when nothing changes. */
function mergeSnapshot(record: TrainingRecord, snapshot: TrainingSnapshot, at: number, now: number): TrainingRecord | undefined {
  const run = record.runs?.[at];
  if (!run) return undefined;
  const merged = mergeRun(run, snapshot, now);
  const checkpoints = [...record.checkpoints];
  snapshot.weights.forEach((weights, k) => {
    const step = run.checkpointSteps[k];
    if (step === undefined || checkpoints.some((c) => c.step === step)) return;
    checkpoints.push({ step, weightsUrl: weights.url, ...(weights.version ? { version: weights.version } : {}), createdAt: now });
  });
  if (checkpoints.length === record.checkpoints.length && JSON.stringify(merged) === JSON.stringify(run)) return undefined;
  return { ...record, runs: record.runs!.map((r, i) => (i === at ? merged : r)), checkpoints: checkpoints.sort((a, b) => a.step - b.step) };
}
