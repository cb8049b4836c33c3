import path from 'node:path';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { BotEventBus } from '../events.js';
import type { Logger } from '../log.js';
import type { Generator, Progress } from '../services/types.js';
import type { Store } from '../store/store.js';
import { estimateEta } from '../training/progress.js';
import { composeAnswer, composeComparison } from './answer.js';
import { draw, extensionOf, readResult, saveResult, type DrawDeps } from './draw.js';
import type { JobReplyUpdates } from './job-replies.js';
import { variantOf, withStrength, type Comparison, type GenerationJob } from './jobs.js';
import { failureOf, type JobReplyState } from './reply-state.js';
import type { GenerationJobs, JobRef } from './repository.js';

/**
 * How a job ended for the person who asked (the queue only sees that its worker returned):
 * `already-answered` when it had been answered before this run took it up (a takeover).
 */
export type JobEnd = 'succeeded' | 'failed' | 'canceled' | 'already-answered';

/** What drawing a job needs from the rest of the bot (the service's options start with it). */
export interface GenerationDeps {
  store: Store;
  config: Config;
  clock: Clock;
  log: Logger;
  /** Where answers and endings are told (tests and metrics watch them). */
  events: Pick<BotEventBus, 'emit'>;
  generator: Generator;
  /** The trainings' records, read for a job's checkpoint (src/training/repository.ts owns them). */
  trainings: DrawDeps['trainings'];
}

export interface JobRunnerOptions extends GenerationDeps {
  jobs: GenerationJobs;
  replies: JobReplyUpdates;
  /** The job is over in this process, whichever way it ended. */
  onForget: (jobId: string) => void;
}

/**
 * Runs one job from its record to its answer: draws it (or each cell of a comparison), keeps
 * the picture, records the outcome and moves the reply through its states. A job's record is
 * written before its reply shows the state it describes, so a takeover never answers twice.
 */
export class JobRunner {
  private readonly drawDeps: DrawDeps;

  constructor(private readonly o: JobRunnerOptions) {
    this.drawDeps = { store: o.store, config: o.config, clock: o.clock, generator: o.generator, jobs: o.jobs, trainings: o.trainings };
  }

  async run(ref: JobRef, signal: AbortSignal): Promise<JobEnd> {
    const { jobs, clock } = this.o;
    const job = await jobs.get(ref.guildId, ref.jobId);
    // Not 'queued': its process stopped (a restart, a crash, a SIGKILL) and this one takes it over.
    if (!job || !isUnanswered(job)) return 'already-answered';
    const log = this.o.log.child({ jobId: job.id, guildId: job.guildId, userId: job.userId });
    if (job.status !== 'queued') log.info({ predictions: job.predictions }, 'taking over a job whose process stopped');
    const running: GenerationJob = { ...job, parameters: withStrength(job.parameters), status: 'running', result: undefined, takenOver: job.status !== 'queued' };
    await jobs.save(running);
    const startedAt = clock.now();
    const locale = job.locale ?? 'en';
    // Not awaited: the GPU need not wait for Discord (a 429 on the reply); the edits keep their order.
    void this.o.replies.show(running, { state: 'drawing', jobId: job.id, locale }, 'running');
    try {
      if (running.comparison) {
        await this.runComparison(running, running.comparison, signal, startedAt, log);
        return 'succeeded';
      }
      const image = await draw(this.drawDeps, running, 0, running.parameters, signal, (progress) => this.showProgress(running, progress, startedAt));
      // The picture is kept and the answer composed at once: neither needs the other.
      const [imageFile, answer] = await Promise.all([saveResult(this.o.config, running, image.data, extensionOf(image.contentType)), composeAnswer(this.o, running, image.data)]);
      await this.succeed(
        running,
        { imageFile, predictionId: image.predictionId, gpuSeconds: image.gpuSeconds, referenceName: answer.referenceName },
        this.pictureState(running, answer, false),
      );
      log.info({ gpuSeconds: image.gpuSeconds, reference: answer.referenceName }, 'picture delivered');
      this.o.events.emit('generation.delivered', { jobId: job.id, guildId: job.guildId, kind: 'picture', gpuSeconds: image.gpuSeconds, reference: answer.referenceName });
      return 'succeeded';
    } catch (error) {
      if (signal.aborted) {
        await this.settle(running, { status: 'canceled' }, { state: 'canceled', locale, nothingSpent: false });
        return 'canceled';
      }
      log.warn({ err: error }, 'generation failed');
      await this.settle(running, { status: 'failed', failure: String((error as Error).message) }, { state: 'failed', locale, failure: failureOf(error) });
      return 'failed';
    }
  }

  /**
   * An identical earlier request's picture (same prompt, settings and chosen seed), given to a
   * new job for free: the job is recorded as succeeded with that result, and its answer returned.
   */
  async reuse(job: GenerationJob, earlier: GenerationJob): Promise<JobReplyState> {
    const result = earlier.result!;
    const image = await readResult(this.o.config, result.imageFile);
    const reused: GenerationJob = { ...job, status: 'succeeded', result, finishedAt: this.o.clock.now() };
    await this.o.jobs.save(reused);
    return this.pictureState(reused, await composeAnswer(this.o, reused, image), true);
  }

  /** Ends a job without a picture and tells its asker; the asker hears even when the store cannot record it. */
  async settle(job: GenerationJob, outcome: { status: 'failed' | 'canceled'; failure?: string }, state: JobReplyState): Promise<void> {
    const { jobs, clock, log } = this.o;
    // A restart picks the job up again when this record is lost.
    await jobs.save({ ...job, ...outcome, finishedAt: clock.now() }).catch((error: unknown) => log.error({ err: error, jobId: job.id }, 'could not record how the job ended'));
    const told = await this.o.replies.finish(job, state).then(
      () => true,
      (error: unknown) => {
        log.warn({ err: error, jobId: job.id }, 'could not tell the user how the job ended');
        return false;
      },
    );
    await this.forget(job);
    this.o.events.emit('generation.ended', { jobId: job.id, guildId: job.guildId, ...outcome, told });
  }

  /** `/compare`: one picture per value, same prompt and seed, laid out in one labelled grid. */
  private async runComparison(job: GenerationJob, comparison: Comparison, signal: AbortSignal, startedAt: number, log: Logger): Promise<void> {
    const cells: { image: Buffer; label: string }[] = [];
    let gpuSeconds = 0;
    let lastPrediction = '';
    const locale = job.locale ?? 'en';
    for (const [index, value] of comparison.values.entries()) {
      const parameters = variantOf(job.parameters, comparison.axis, value);
      const cell: JobReplyState = { state: 'drawing-cell', jobId: job.id, locale, index, total: comparison.values.length, axis: comparison.axis, value };
      void this.o.replies.show(job, cell, 'running');
      const image = await draw(this.drawDeps, job, index, parameters, signal, () => undefined);
      gpuSeconds += image.gpuSeconds;
      lastPrediction = image.predictionId;
      cells.push({ image: image.data, label: `${comparison.axis} ${value}` });
    }
    const grid = await composeComparison(job, cells);
    const imageFile = await saveResult(this.o.config, job, grid.data, path.extname(grid.name));
    await this.succeed(job, { imageFile, predictionId: lastPrediction, gpuSeconds }, { state: 'compared', jobId: job.id, locale, parameters: job.parameters, comparison, grid });
    log.info({ cells: cells.length, gpuSeconds, startedAt }, 'comparison delivered');
    this.o.events.emit('generation.delivered', { jobId: job.id, guildId: job.guildId, kind: 'comparison', gpuSeconds });
  }

  /**
   * Records the job as done with its result and gives the asker the answer: the twin of `settle`.
   * A chosen seed makes the picture reusable, and it is findable before the answer goes out, so
   * an identical request right after it pays nothing.
   */
  private async succeed(job: GenerationJob, result: NonNullable<GenerationJob['result']>, state: JobReplyState): Promise<void> {
    const { jobs } = this.o;
    await jobs.save({ ...job, status: 'succeeded', finishedAt: this.o.clock.now(), result, answered: false });
    await jobs.rememberResult(job);
    await this.o.replies.finish(job, state);
    await jobs.markAnswered(job);
    await this.forget(job);
  }

  private showProgress(job: GenerationJob, progress: Progress, startedAt: number): void {
    const eta = estimateEta({ ...progress, startedAt: new Date(startedAt), now: new Date(this.o.clock.now()) });
    const state: JobReplyState = { state: 'drawing', jobId: job.id, locale: job.locale ?? 'en', progress: { ...progress, finishesAt: eta?.finishesAt.getTime() } };
    this.o.replies.progress(job, state);
  }

  private pictureState(job: GenerationJob, answer: Awaited<ReturnType<typeof composeAnswer>>, reused: boolean): JobReplyState {
    const { config } = this.o;
    return { state: 'succeeded', jobId: job.id, locale: job.locale ?? 'en', parameters: job.parameters, notes: job.notes, reused, ...answer, triggerWord: config.TRIGGER_WORD };
  }

  private async forget(job: GenerationJob): Promise<void> {
    this.o.replies.forget(job.id);
    this.o.onForget(job.id);
    await this.o.jobs.removeUnfinished(job.id);
  }
}

/**
 * Still owes its asker an answer: waiting, drawing, or done but stopped before the answer went
 * out (`answered: false`; records from before that flag count as answered).
 */
export function isUnanswered(job: GenerationJob): boolean {
  return job.status === 'queued' || job.status === 'running' || (job.status === 'succeeded' && job.answered === false);
}
