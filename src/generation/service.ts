import { UserError } from '../errors.js';
import { msg } from '../i18n/index.js';
import { JobLostError } from '../queue/bull-queue.js';
import { FairQueue } from '../queue/fair-queue.js';
import type { JobQueue, JobWorker } from '../queue/job-queue.js';
import type { ModelGate } from '../services/replicate/model-checks.js';
import { requireBudgetFor } from './draw.js';
import { JobReplyUpdates } from './job-replies.js';
import type { GenerationJob } from './jobs.js';
import type { JobReplies, JobReplyState } from './reply-state.js';
import { GenerationJobs, type JobRef } from './repository.js';
import { isUnanswered, JobRunner, type GenerationDeps, type JobEnd } from './runner.js';

export interface GenerationServiceOptions extends GenerationDeps {
  /** Refuses drawing while REPLICATE_GENERATOR's model does not fit (src/services/replicate/model-checks.ts). */
  models?: ModelGate;
  /** Shows a job's state in its reply (on Discord: src/views/generation-reply.ts `jobRepliesVia`). */
  replies: JobReplies;
  /** Predictions in flight at once, for the whole bot; `GENERATION_CONCURRENCY` by default. */
  concurrency?: number;
  /** Jobs one person may have waiting or running. */
  perUserCap?: number;
  /** Minimum time between two edits of one reply that only inform (queue place, progress): Discord rate-limits edits. */
  progressEditIntervalMs?: number;
  /** The queue to run jobs on (BullMQ when `REDIS_URL` is set); the in-process `FairQueue` by default. */
  queue?: (worker: JobWorker<JobRef, JobEnd>, limits: { concurrency: number; perUserCap: number }) => JobQueue<JobRef, JobEnd>;
}

/**
 * What `submit` did with a job: `answered` when an identical earlier request (same chosen seed)
 * already made the picture, given again at once and for free (the caller shows `reply`);
 * `accepted` when the service now shows the job's place, progress and answer in its reply.
 */
export type Submitted = { state: 'answered'; reply: JobReplyState } | { state: 'accepted' };

/** What the commands and the composition root use of the generation side (`BotContext.generation`). */
export interface Generation {
  readonly queue: JobQueue<JobRef, JobEnd>;
  readonly jobs: GenerationJobs;
  submit(job: GenerationJob): Promise<Submitted>;
  cancel(guildId: string, jobId: string, userId: string): Promise<'canceled' | 'not-running'>;
  resumeUnfinished(): Promise<number>;
  close(timeoutMs: number): Promise<void>;
}

/**
 * Runs `/kmplz` jobs for a busy group chat: a fair queue across users, the reply edited in place
 * (queue position, progress, result), the result composed next to the artist's reference art,
 * every job stored so its buttons work after a restart and unfinished jobs are taken up again.
 */
export class GenerationService implements Generation {
  readonly queue: JobQueue<JobRef, JobEnd>;
  /** The job records (the commands read a job's parameters and result here). */
  readonly jobs: GenerationJobs;
  private readonly replies: JobReplyUpdates;
  private readonly runner: JobRunner;
  /** The server of each job this process accepted or took up and has not finished: its queue places are shown without a store lookup. */
  private readonly guildOf = new Map<string, string>();

  constructor(private readonly options: GenerationServiceOptions) {
    const { store, config, clock, log, events } = options;
    this.jobs = new GenerationJobs(store);
    this.replies = new JobReplyUpdates({ jobs: this.jobs, replies: options.replies, log, intervalMs: options.progressEditIntervalMs ?? 1500, now: () => clock.now() });
    this.runner = new JobRunner({ store, config, clock, log, events, generator: options.generator, jobs: this.jobs, trainings: options.trainings, replies: this.replies, onForget: (jobId) => this.guildOf.delete(jobId) });
    const worker: JobWorker<JobRef, JobEnd> = (job, signal) => this.runner.run(job.data, signal);
    const limits = { concurrency: options.concurrency ?? config.GENERATION_CONCURRENCY, perUserCap: options.perUserCap ?? 3 };
    this.queue =
      options.queue?.(worker, limits) ?? new FairQueue<JobRef, JobEnd>({ worker, ...limits, onListenerError: (error) => log.warn({ err: error }, 'queue listener failed') });
    this.queue.onPositionChange((jobId, position) => this.showPosition(jobId, position));
    // Run detached: a store that fails here is logged, never an unhandled rejection.
    this.queue.onSettled((job, outcome) => {
      if (outcome.status === 'failed' && outcome.error instanceof JobLostError) {
        void this.giveUp(job.data).catch((error: unknown) => log.error({ err: error, jobId: job.id }, 'could not tell the asker their job was lost'));
      }
    });
  }

  /**
   * Accepts a job: gives an identical earlier result again when the seed was chosen, checks the
   * budget, stores the job and queues it. From then on the job's reply is the service's to edit
   * (its place in the queue, then its progress, then the answer).
   */
  async submit(job: GenerationJob): Promise<Submitted> {
    const { config, clock, store } = this.options;
    if (config.GPU_BACKEND !== 'cog' && !config.REPLICATE_API_TOKEN) throw new UserError('replicate-not-configured', msg('error.replicate-not-configured'));
    await this.options.models?.require('generation');
    const earlier = await this.jobs.drawnBefore(job.guildId, job.parameters);
    if (earlier) return { state: 'answered', reply: await this.runner.reuse(job, earlier) };
    await requireBudgetFor({ store, config, clock }, job);
    // Not fresh: the job of this interaction was stored by a process that died answering it.
    const fresh = await this.jobs.create(job);
    if (!fresh && (await this.jobs.get(job.guildId, job.id))?.status !== 'queued') return { state: 'accepted' };
    this.guildOf.set(job.id, job.guildId);
    const result = await this.queue.enqueue({ id: job.id, userId: job.userId, data: { guildId: job.guildId, jobId: job.id } });
    if (!result.ok && result.reason === 'duplicate-id') return { state: 'accepted' };
    if (!result.ok) {
      this.guildOf.delete(job.id);
      if (fresh) await this.jobs.discard(job);
      if (result.reason === 'user-cap') throw new UserError('queue-full-for-user', msg('error.queue-full-for-user', { cap: result.cap }));
      throw new UserError('queue-closed', msg('error.queue-closed'));
    }
    await this.jobs.addUnfinished(job);
    // A job that started at once says so itself ("Drawing…"), from whichever process runs it.
    if (result.state === 'waiting') {
      await this.replies.show(job, { state: 'queued', jobId: job.id, locale: job.locale ?? 'en', position: result.position }, 'queued');
    }
    return { state: 'accepted' };
  }

  /** Cancels a waiting or running job of its owner. */
  async cancel(guildId: string, jobId: string, userId: string): Promise<'canceled' | 'not-running'> {
    const job = await this.jobs.get(guildId, jobId);
    if (!job) throw new UserError('unknown-job', msg('error.unknown-job'));
    if (job.userId !== userId) throw new UserError('not-your-job', msg('error.not-your-job'));
    const result = await this.queue.cancel(jobId);
    if (result === 'not-found') return 'not-running';
    if (result === 'removed') await this.runner.settle(job, { status: 'canceled' }, { state: 'canceled', locale: job.locale ?? 'en', nothingSpent: true });
    return 'canceled';
  }

  /** Takes up jobs that a previous run of the bot accepted but did not finish. */
  async resumeUnfinished(): Promise<number> {
    let resumed = 0;
    for (const ref of await this.jobs.unfinished()) {
      const job = await this.jobs.get(ref.guildId, ref.jobId);
      if (!job || !isUnanswered(job)) {
        // Answered, but its process stopped before taking it off the list: nothing to take up, ever.
        await this.jobs.removeUnfinished(ref.jobId);
        continue;
      }
      this.guildOf.set(job.id, job.guildId);
      const result = await this.queue.enqueue({ id: job.id, userId: job.userId, data: ref });
      if (result.ok) resumed++;
      else this.guildOf.delete(job.id);
    }
    if (resumed > 0) this.options.log.info({ resumed }, 'took up unfinished generation jobs');
    return resumed;
  }

  async close(timeoutMs: number): Promise<void> {
    await this.queue.close({ timeoutMs });
  }

  /** Every process that took the job died while running it: tell the asker rather than leave them waiting. */
  private async giveUp(ref: JobRef): Promise<void> {
    const job = await this.jobs.get(ref.guildId, ref.jobId);
    if (job && isUnanswered(job)) {
      await this.runner.settle(job, { status: 'failed', failure: 'lost' }, { state: 'failed', locale: job.locale ?? 'en', failure: { code: 'lost' } });
    }
  }

  /**
   * A new place in the queue, coalesced per reply: the newest place goes out at most once per
   * interval. The job is looked up when the edit goes out, not for every move.
   */
  private showPosition(jobId: string, position: number): void {
    const { config } = this.options;
    // On the class's own Cog servers each draws one picture at a time: the reply says whose wait it is.
    const ownGpuServers = config.GPU_BACKEND === 'cog' ? (config.COG_GENERATOR_URL?.length ?? 1) : undefined;
    this.replies.inform(jobId, async () => {
      const guildId = this.guildOf.get(jobId) ?? (await this.jobs.unfinished()).find((r) => r.jobId === jobId)?.guildId;
      const job = guildId ? await this.jobs.get(guildId, jobId) : undefined;
      if (job?.status !== 'queued') return undefined;
      return { target: job.reply, state: { state: 'queued', jobId, locale: job.locale ?? 'en', position, ownGpuServers } };
    });
  }
}
