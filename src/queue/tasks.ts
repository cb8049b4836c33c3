import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import { TIMED_OUT, within } from '../util/within.js';

/**
 * Long-running background work that must run in exactly one process at a time and survive that
 * process: following a training to its last preview. Each task has a kind and an id; starting a
 * task that runs already (here or in another process) does nothing.
 */
export interface TaskRunner {
  /** The handler for one kind of task. It runs until the work is done or `signal` aborts (shutdown). */
  register<D>(kind: string, handler: TaskHandler<D>): void;
  /** False when the task runs already (here or elsewhere): nothing new was started. */
  start<D>(kind: string, id: string, data: D): Promise<boolean>;
  /** Stops running tasks here; with BullMQ they go back to the queue for another process. */
  close(timeoutMs: number): Promise<void>;
}

export type TaskHandler<D> = (data: D, run: { signal: AbortSignal; takenOver: boolean }) => Promise<void>;

/** One process: tasks are promises in this process; the next start takes unfinished work up again. */
export class LocalTasks implements TaskRunner {
  private readonly handlers = new Map<string, TaskHandler<never>>();
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private closed = false;

  constructor(private readonly log: Logger) {}

  register<D>(kind: string, handler: TaskHandler<D>): void {
    this.handlers.set(kind, handler as TaskHandler<never>);
  }

  async start<D>(kind: string, id: string, data: D): Promise<boolean> {
    const key = `${kind}:${id}`;
    const handler = this.handlers.get(kind) as TaskHandler<D> | undefined;
    if (!handler) throw new Error(`no handler for tasks of kind ${kind}`);
    if (this.closed || this.running.has(key)) return false;
    const controller = new AbortController();
    const done = handler(data, { signal: controller.signal, takenOver: false })
      .catch((error: unknown) => this.log.error({ err: error, task: key }, 'a background task stopped on an error'))
      .finally(() => this.running.delete(key));
    this.running.set(key, { controller, done });
    return true;
  }

  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    const running = [...this.running.values()];
    for (const task of running) task.controller.abort(new Error('the bot is stopping'));
    await within(timeoutMs, Promise.allSettled(running.map((task) => task.done)));
  }
}

interface TaskEnvelope {
  kind: string;
  data: unknown;
  /** Tells this start's job from an earlier one with the same id. */
  nonce?: string;
}

/** Thrown by a task stopped for a shutdown, so BullMQ hands it straight to another process. */
class HandedOver extends Error {}

export interface BullTasksOptions {
  url: string;
  prefix?: string;
  log: Logger;
  /** See BullQueueOptions: how long until a dead process's task is taken over. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

/** Tasks at most this process follows at once (trainings sleep most of the time). */
const TASKS_PER_PROCESS = 50;

/**
 * Tasks on BullMQ: a task is a job whose lock is the lease. The process that holds it runs the
 * handler; if that process dies, its lock expires and another process's stalled-job check starts
 * the handler again there (`takenOver`). On a graceful stop the handler is aborted and the job is
 * failed with a retry left, so another process takes it a second later instead of after the lock
 * expires.
 */
export class BullTasks implements TaskRunner {
  private readonly handlers = new Map<string, TaskHandler<never>>();
  /** The running handlers here: how to stop each, and when it has stopped. */
  private readonly controllers = new Map<AbortController, Promise<unknown>>();
  private readonly connection: Redis;
  private readonly queue: Queue<TaskEnvelope>;
  private readonly worker: Worker<TaskEnvelope>;
  private closing = false;

  constructor(private readonly o: BullTasksOptions) {
    const prefix = o.prefix ?? 'kmplz';
    this.connection = new Redis(o.url, { maxRetriesPerRequest: null });
    this.connection.on('error', (error: Error) => o.log.warn({ err: error }, 'redis connection error'));
    this.queue = new Queue('tasks', { connection: this.connection, prefix });
    this.worker = new Worker(
      'tasks',
      async (job) => {
        const handler = this.handlers.get(job.data.kind);
        if (!handler) throw new Error(`no handler for tasks of kind ${job.data.kind}`);
        const controller = new AbortController();
        const takenOver = job.stalledCounter > 0 || job.attemptsStarted > 1;
        if (takenOver) o.log.info({ task: job.id }, 'took over a background task');
        const run = handler(job.data.data as never, { signal: controller.signal, takenOver });
        this.controllers.set(controller, run.catch(() => undefined));
        try {
          await run;
        } finally {
          this.controllers.delete(controller);
        }
        // Stopped by the shutdown rather than finished: another process carries on with it.
        if (controller.signal.aborted) throw new HandedOver('handed over to another process');
      },
      {
        connection: this.connection,
        prefix,
        concurrency: TASKS_PER_PROCESS,
        lockDuration: o.lockDurationMs ?? 30_000,
        stalledInterval: o.stalledIntervalMs ?? 15_000,
        // A task may be taken over for as long as processes keep stopping (deploys, crashes).
        maxStalledCount: Number.MAX_SAFE_INTEGER,
        autorun: false,
      },
    );
    const onBullError = (error: Error) => o.log.warn({ err: error }, 'bullmq error');
    this.queue.on('error', onBullError);
    this.worker.on('error', onBullError);
    this.worker.on('failed', (job, error) => {
      if (!(error instanceof HandedOver)) o.log.error({ err: error, task: job?.id }, 'a background task failed');
    });
  }

  async open(): Promise<void> {
    await this.queue.waitUntilReady();
    void this.worker.run().catch((error: unknown) => this.o.log.error({ err: error }, 'the task worker stopped'));
    await this.worker.waitUntilReady();
  }

  register<D>(kind: string, handler: TaskHandler<D>): void {
    this.handlers.set(kind, handler as TaskHandler<never>);
  }

  async start<D>(kind: string, id: string, data: D): Promise<boolean> {
    if (this.closing) return false;
    if (!this.handlers.has(kind)) throw new Error(`no handler for tasks of kind ${kind}`);
    const nonce = randomUUID();
    // The job id makes a second start a no-op while the task exists in any state; the stored
    // job then carries another start's nonce.
    const { id: jobId } = await this.queue.add(kind, { kind, data, nonce }, {
      jobId: `${kind}-${id.replaceAll(':', '-')}`,
      attempts: Number.MAX_SAFE_INTEGER,
      // A retry is a hand-over (or a process that does not know the kind yet, mid-deploy): a
      // second's pause keeps that from spinning.
      backoff: { type: 'fixed', delay: 1000 },
      removeOnComplete: true,
      removeOnFail: true,
    });
    const stored = await this.queue.getJob(jobId!);
    // Gone already: it was this start's, and it finished at once.
    return !stored || stored.data.nonce === nonce;
  }

  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    await this.worker.pause(true);
    for (const controller of this.controllers.keys()) controller.abort(new Error('the bot is stopping'));
    const stopped = await within(timeoutMs, Promise.allSettled([...this.controllers.values()]));
    // Forced only when a handler did not stop in time: BullMQ would wait for it forever.
    await this.worker.close(stopped === TIMED_OUT).catch(() => undefined);
    await this.queue.close().catch(() => undefined);
    await this.connection.quit().catch(() => undefined);
  }
}
