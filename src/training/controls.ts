import type { Clock } from '../clock.js';
import { UserError } from '../errors.js';
import { msg } from '../i18n/index.js';
import type { Logger } from '../log.js';
import type { TrainingRecord, TrainingRef, TrainingRunRecord } from './records.js';
import { notRunning } from './refusals.js';
import type { TrainingRepository } from './repository.js';
import { savedBy, type RunTracker } from './run-tracker.js';
import { isTerminalRun } from './run-state.js';

export interface TrainingControlsOptions {
  repository: TrainingRepository;
  runs: RunTracker;
  clock: Clock;
  log: Logger;
}

/**
 * What a trainer's Cancel and Stop buttons do to a running training: the record says so first
 * (a compare-and-swap, so two trainers at once do it once), with the GPU time that saves, then
 * the runs are canceled at the service. The follower then takes the training to its end.
 */
export class TrainingControls {
  constructor(private readonly o: TrainingControlsOptions) {}

  /** Cancels every run of a running training; returns the GPU time that saves. */
  async cancel(ref: TrainingRef, userId: string): Promise<{ savedGpuSeconds: number }> {
    await this.requireRunning(ref);
    const now = this.o.clock.now();
    let saved = 0;
    let won = false;
    const updated = await this.o.repository.updateIfPresent(ref, (current) => {
      won = current.status === 'running';
      if (!won) return current;
      saved = savedBy(current, () => true, now);
      return { ...current, status: 'canceled', canceled: { by: userId, savedGpuSeconds: saved }, finishedAt: now };
    });
    if (!won) throw notRunning(updated);
    this.o.log.info({ trainingId: ref.trainingId, userId, savedGpuSeconds: saved }, 'training canceled');
    await this.o.runs.cancel(ref, () => true);
    return { savedGpuSeconds: saved };
  }

  /**
   * Keeps the checkpoints up to `step` and cancels the runs that would make later ones (the
   * class is happy with step 500). Returns the GPU time that saves and the runs canceled.
   */
  async stopAfter(ref: TrainingRef, step: number, userId: string): Promise<{ savedGpuSeconds: number; canceledSteps: number[] }> {
    const record = await this.requireRunning(ref);
    if (!record.checkpoints.some((c) => c.step === step)) throw new UserError('unknown-checkpoint', msg('error.unknown-checkpoint.yet', { step }));
    if (record.stopAfter) throw new UserError('already-stopped', msg('error.already-stopped', { step: record.stopAfter.step }));
    const doomed = (run: TrainingRunRecord) => !isTerminalRun(run) && run.steps > step;
    const canceledSteps = (record.runs ?? []).filter(doomed).map((run) => run.steps);
    if (canceledSteps.length === 0) throw new UserError('nothing-to-stop', msg('error.nothing-to-stop', { step }));
    const now = this.o.clock.now();
    let saved = 0;
    let won = false;
    const updated = await this.o.repository.updateIfPresent(ref, (current) => {
      won = current.status === 'running' && !current.stopAfter;
      if (!won) return current;
      saved = savedBy(current, doomed, now);
      return { ...current, stopAfter: { step, by: userId, savedGpuSeconds: saved } };
    });
    if (!won) {
      if (updated?.status === 'running' && updated.stopAfter) throw new UserError('already-stopped', msg('error.already-stopped', { step: updated.stopAfter.step }));
      throw notRunning(updated);
    }
    this.o.log.info({ trainingId: ref.trainingId, step, userId, savedGpuSeconds: saved }, 'training stopped after a checkpoint');
    await this.o.runs.cancel(ref, doomed);
    return { savedGpuSeconds: saved, canceledSteps };
  }

  private async requireRunning(ref: TrainingRef): Promise<TrainingRecord> {
    const record = await this.o.repository.load(ref);
    if (!record) throw new UserError('unknown-training', msg('error.unknown-training.here'));
    if (record.status !== 'running') throw notRunning(record);
    return record;
  }
}
