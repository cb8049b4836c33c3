import { Queue, QueueEvents as BullQueueEvents, Worker, type Job as BullJob } from 'bullmq';
import { Redis } from 'ioredis';
import type { Cluster } from '../cluster/cluster.js';
import type { Logger } from '../log.js';
import { TIMED_OUT, within } from '../util/within.js';
import { QueueEvents } from './listeners.js';
import type { CancelResult, CloseReport, EnqueueResult, Job, JobOutcome, JobQueue, JobWorker, QueueStats } from './job-queue.js';

export interface BullQueueOptions<T, R> {
  /** The queue's name in Redis; every process that shares the work uses the same one. */
  name: string;
  url: string;
  prefix?: string;
  worker: JobWorker<T, R>;
  /** Jobs running at once across every process (BullMQ's global concurrency). */
  concurrency: number;
  /** Jobs one user may have waiting or running at once, across every process. */
  perUserCap: number;
  cluster: Cluster;
  log: Logger;
  /**
   * How long a worker's hold on a job lasts without renewal. A process that dies (SIGKILL, OOM)
   * stops renewing; after this long another process's stalled-job check takes the job over.
   */
  lockDurationMs?: number;
  /** How often each process looks for stalled jobs. */
  stalledIntervalMs?: number;
  onListenerError?: (error: unknown) => void;
}

/** A job whose every taker died: BullMQ gave up on it after `maxStalledCount` takeovers. */
export class JobLostError extends Error {
  constructor(jobId: string) {
    super(`job ${jobId} was taken over too many times (its processes kept dying)`);
    this.name = 'JobLostError';
  }
}

interface Running<T> {
  job: Job<T>;
  controller: AbortController;
  canceledBy?: 'user' | 'shutdown';
  /** Settles when the worker function does. */
  done: Promise<unknown>;
}

interface Envelope<T> {
  userId: string;
  data: T;
}

const MAX_TAKEOVERS = 3;

/**
 * Takes one of the user's slots, or none when they are all taken: one script, so two processes
 * enqueueing for the same person at once cannot both take the last one. The slots are a sorted
 * set of job ids scored by when they were taken; a slot whose job is gone from BullMQ (its process
 * died between finishing and giving the slot back) is freed, but only after a grace period, so a
 * slot just taken by an enqueue that has not reached BullMQ yet is not mistaken for one.
 * Returns the user's number of jobs with this one (its priority), or 0 when the cap is reached.
 */
const TAKE_USER_SLOT = `
local slots, jobPrefix, id = KEYS[1], ARGV[1], ARGV[2]
local cap, now, grace = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local taken = redis.call('ZRANGE', slots, 0, -1, 'WITHSCORES')
for i = 1, #taken, 2 do
  if tonumber(taken[i + 1]) < now - grace and redis.call('EXISTS', jobPrefix .. taken[i]) == 0 then
    redis.call('ZREM', slots, taken[i])
  end
end
local count = redis.call('ZCARD', slots)
if count >= cap then return 0 end
redis.call('ZADD', slots, now, id)
return count + 1`;
const SLOT_GRACE_MS = 30_000;

/**
 * The `JobQueue` on BullMQ, shared by every bot process that uses the same Redis.
 *
 * Fairness across processes: a job's BullMQ priority is its owner's number of jobs waiting or
 * running when it arrives (1 for someone with nothing queued, up to `perUserCap`). Lower runs
 * first, equal priorities keep their order: everybody's first picture, then everybody's
 * second… So one person's burst costs the others at most one turn, as with `FairQueue`, wherever
 * the jobs were submitted. Each user's jobs are a Redis set, which also enforces the cap.
 *
 * Losing a process loses nothing: its jobs' locks expire and another process's stalled-job
 * check runs them again (the worker takes over where the job's record says it was).
 */
export class BullJobQueue<T, R> extends QueueEvents<T, R> implements JobQueue<T, R> {
  private readonly connection: Redis;
  private readonly queue: Queue<Envelope<T>>;
  private readonly events: BullQueueEvents;
  private readonly bullWorker: Worker<Envelope<T>>;
  private readonly running = new Map<string, Running<T>>();
  /** Jobs this process accepted that have not started: the ones whose place it reports. */
  private readonly waitingHere = new Map<string, number>();
  private readonly stopListening: () => void;
  private positionsTimer: NodeJS.Timeout | undefined;
  private accepting = true;

  /** Call `open()` before use. */
  constructor(private readonly o: BullQueueOptions<T, R>) {
    super(o.onListenerError ?? ((error: unknown) => o.log.warn({ err: error }, 'queue listener failed')));
    const prefix = o.prefix ?? 'kmplz';
    // Workers block on Redis and must not give up on a command while it reconnects (BullMQ's rule).
    this.connection = new Redis(o.url, { maxRetriesPerRequest: null });
    this.connection.on('error', (error: Error) => o.log.warn({ err: error }, 'redis connection error'));
    this.queue = new Queue(o.name, { connection: this.connection, prefix });
    this.events = new BullQueueEvents(o.name, { connection: { url: o.url, maxRetriesPerRequest: null }, prefix });
    this.bullWorker = new Worker<Envelope<T>>(o.name, (job) => this.process(job), {
      connection: this.connection,
      prefix,
      concurrency: o.concurrency,
      lockDuration: o.lockDurationMs ?? 30_000,
      stalledInterval: o.stalledIntervalMs ?? 15_000,
      maxStalledCount: MAX_TAKEOVERS,
      autorun: false,
    });
    const onBullError = (error: Error) => o.log.warn({ err: error }, 'bullmq error');
    this.queue.on('error', onBullError);
    this.events.on('error', onBullError);
    this.bullWorker.on('error', onBullError);
    this.bullWorker.on('failed', (job, error) => {
      // Only a stall-out reaches here: `process` itself never throws.
      if (job) this.settledListeners.emit(this.toJob(job), { status: 'failed', error: new JobLostError(job.id!) });
      o.log.error({ err: error, jobId: job?.id }, 'a job was lost: every process that took it died');
    });
    // Any job starting or leaving the queue moves the others up.
    for (const event of ['active', 'removed', 'added'] as const) this.events.on(event, () => this.schedulePositions());
    this.stopListening = o.cluster.onSignal((signal) => {
      if (signal.type !== 'cancel-job') return;
      const running = this.running.get(signal.jobId);
      if (!running) return;
      running.canceledBy = 'user';
      running.controller.abort(new Error('canceled by its owner'));
    });
  }

  async open(): Promise<void> {
    await this.queue.waitUntilReady();
    await this.queue.setGlobalConcurrency(this.o.concurrency);
    await this.events.waitUntilReady();
    void this.bullWorker.run().catch((error: unknown) => this.o.log.error({ err: error }, 'the queue worker stopped'));
    await this.bullWorker.waitUntilReady();
  }

  async enqueue(job: Job<T>): Promise<EnqueueResult> {
    if (!this.accepting) return { ok: false, reason: 'closed' };
    if ((await this.queue.getJobState(job.id)) !== 'unknown') return { ok: false, reason: 'duplicate-id' };
    const count = Number(
      await this.connection.eval(TAKE_USER_SLOT, 1, this.userKey(job.userId), `${this.prefix}:${this.o.name}:`, job.id, this.o.perUserCap, Date.now(), SLOT_GRACE_MS),
    );
    if (count === 0) return { ok: false, reason: 'user-cap', cap: this.o.perUserCap };
    this.waitingHere.set(job.id, 0);
    await this.queue.add('job', { userId: job.userId, data: job.data }, { jobId: job.id, priority: count, removeOnComplete: true, removeOnFail: true });
    const position = await this.position(job.id);
    if (position === undefined) {
      this.waitingHere.delete(job.id);
      return { ok: true, jobId: job.id, state: 'running' };
    }
    this.waitingHere.set(job.id, position);
    return { ok: true, jobId: job.id, state: 'waiting', position };
  }

  async cancel(jobId: string): Promise<CancelResult> {
    const state = await this.queue.getJobState(jobId);
    if (state === 'waiting' || state === 'prioritized' || state === 'delayed') {
      const job = await this.queue.getJob(jobId);
      // `remove` refuses a job a worker has just locked: then it is running after all.
      const removed = job ? await job.remove().then(() => true, () => false) : false;
      if (removed && job) {
        this.waitingHere.delete(jobId);
        await this.connection.zrem(this.userKey(job.data.userId), jobId);
        this.settledListeners.emit(this.toJob(job), { status: 'canceled', by: 'user' });
        return 'removed';
      }
    }
    if (state === 'unknown' || state === 'completed' || state === 'failed') return 'not-found';
    // Running here or in another process: whoever runs it aborts it.
    await this.o.cluster.publish({ type: 'cancel-job', jobId });
    return 'aborting';
  }

  async position(jobId: string): Promise<number | undefined> {
    const index = (await this.waitingOrder()).indexOf(jobId);
    return index === -1 ? undefined : index + 1;
  }

  async stats(): Promise<QueueStats> {
    const waiting = await this.queue.getJobs(['prioritized', 'wait'], 0, -1, true);
    const running = await this.queue.getActiveCount();
    return { waiting: waiting.length, running, waitingUsers: new Set(waiting.map((job) => job.data.userId)).size };
  }

  /**
   * Stops taking jobs and waits up to `timeoutMs` for the running ones. Waiting jobs stay in
   * Redis for the other processes (or the next start). Jobs still running after the timeout are
   * left as they are: their locks expire and another process takes them over, as after a crash,
   * so nothing is canceled at the GPU service and nobody is told "canceled" for a restart.
   */
  async close({ timeoutMs = 30_000 }: { timeoutMs?: number } = {}): Promise<CloseReport> {
    this.accepting = false;
    this.stopListening();
    clearTimeout(this.positionsTimer);
    // No new jobs from here on; the running ones get `timeoutMs` to finish.
    await this.bullWorker.pause(true);
    const finished = await within(timeoutMs, Promise.allSettled([...this.running.values()].map((r) => r.done)));
    const abandoned = finished === TIMED_OUT ? [...this.running.keys()] : [];
    if (abandoned.length > 0) this.o.log.warn({ abandoned }, 'left running jobs for another process to take over');
    // Forced: BullMQ would otherwise wait for the abandoned jobs (and for one it may have fetched
    // just before the pause, not started here yet); their locks expire and another process takes them.
    await within(timeoutMs + 5000, this.bullWorker.close(true).catch(() => undefined));
    await Promise.allSettled([this.events.close(), this.queue.close()]);
    await this.connection.quit().catch(() => undefined);
    return { abandoned };
  }

  private async process(bullJob: BullJob<Envelope<T>>): Promise<void> {
    const job = this.toJob(bullJob);
    const controller = new AbortController();
    if (bullJob.stalledCounter > 0) this.o.log.info({ jobId: job.id, takeovers: bullJob.stalledCounter }, 'took over a job from a process that stopped');
    this.startListeners.emit(job);
    const work = this.o.worker(job, controller.signal);
    const running: Running<T> = { job, controller, done: work.catch(() => undefined) };
    this.running.set(job.id, running);
    this.waitingHere.delete(job.id);
    let outcome: JobOutcome<R>;
    try {
      outcome = { status: 'succeeded', result: await work };
    } catch (error) {
      outcome = running.canceledBy ? { status: 'canceled', by: running.canceledBy } : { status: 'failed', error };
    } finally {
      this.running.delete(job.id);
    }
    await this.connection.zrem(this.userKey(job.userId), job.id).catch((error: unknown) => this.o.log.warn({ err: error, jobId: job.id }, 'could not release the user’s slot'));
    this.settledListeners.emit(job, outcome);
  }

  /**
   * Waiting job ids in the order BullMQ's workers take them: the plain wait list first (oldest at
   * its right end), then the prioritized set by score (priority, then arrival). Ids only, read
   * straight from the two keys: fetching every job's data for each position costs a burst dearly.
   */
  private async waitingOrder(): Promise<string[]> {
    const [[, plain], [, prioritized]] = (await this.connection.multi().lrange(this.queue.keys.wait!, 0, -1).zrange(this.queue.keys.prioritized!, '0', '-1').exec())! as [
      [null, string[]],
      [null, string[]],
    ];
    return [...plain.reverse(), ...prioritized];
  }

  /** Coalesces a burst of queue events into one look at the order. */
  private schedulePositions(): void {
    if (this.positionsTimer || this.waitingHere.size === 0 || !this.accepting) return;
    this.positionsTimer = setTimeout(() => {
      this.positionsTimer = undefined;
      void this.reportPositions().catch((error: unknown) => this.o.log.debug({ err: error }, 'could not read the queue order'));
    }, 100);
  }

  private async reportPositions(): Promise<void> {
    const order = await this.waitingOrder();
    for (const [jobId, before] of this.waitingHere) {
      const index = order.indexOf(jobId);
      if (index === -1) {
        // Started (here or in another process) or gone: no more places to report.
        this.waitingHere.delete(jobId);
        continue;
      }
      if (index + 1 !== before) {
        this.waitingHere.set(jobId, index + 1);
        this.positionListeners.emit(jobId, index + 1);
      }
    }
  }

  private get prefix(): string {
    return this.o.prefix ?? 'kmplz';
  }

  private userKey(userId: string): string {
    return `${this.prefix}:${this.o.name}:user:${userId}`;
  }

  private toJob(bullJob: BullJob<Envelope<T>>): Job<T> {
    return { id: bullJob.id!, userId: bullJob.data.userId, data: bullJob.data.data };
  }
}
