/**
 * The contract between the bot and whatever runs its generation jobs: the in-process
 * `FairQueue` today, a BullMQ queue shared by several bot processes when `REDIS_URL` is set.
 * Methods that a Redis-backed queue can only answer after a round trip may return a promise;
 * callers always `await` them.
 */

export type MaybePromise<T> = T | Promise<T>;

/** What the bot hands to the queue. The id is the bot's own job id, the key it stores the job under. */
export interface Job<T> {
  id: string;
  userId: string;
  data: T;
}

/** Runs one job; must stop (reject) soon after `signal` aborts, e.g. by cancelling the remote prediction. */
export type JobWorker<T, R> = (job: Job<T>, signal: AbortSignal) => Promise<R>;

export type EnqueueResult =
  | { ok: true; jobId: string; state: 'running' }
  /** `position` is 1-based: 1 means "next to start". */
  | { ok: true; jobId: string; state: 'waiting'; position: number }
  /** The user already has `cap` jobs waiting or running. */
  | { ok: false; reason: 'user-cap'; cap: number }
  | { ok: false; reason: 'duplicate-id' }
  /** The queue is shutting down. */
  | { ok: false; reason: 'closed' };

/**
 * `removed`: the job was waiting and is gone. `aborting`: the job was running; its signal
 * is aborted and its outcome follows once the worker settles. `not-found`: unknown or finished.
 */
export type CancelResult = 'removed' | 'aborting' | 'not-found';

export type JobOutcome<R> =
  | { status: 'succeeded'; result: R }
  | { status: 'failed'; error: unknown }
  | { status: 'canceled'; by: 'user' | 'shutdown' };

export interface QueueStats {
  waiting: number;
  running: number;
  /** Users with at least one waiting job: the people the round-robin rotates among. */
  waitingUsers: number;
}

export interface CloseReport {
  /** Jobs still running when the timeout ran out; their signals were aborted. */
  abandoned: string[];
}

export type Unsubscribe = () => void;

export interface JobQueue<T, R> {
  enqueue(job: Job<T>): MaybePromise<EnqueueResult>;
  cancel(jobId: string): MaybePromise<CancelResult>;
  /** 1-based place in the order jobs would start in now; `undefined` when the job is not waiting. */
  position(jobId: string): MaybePromise<number | undefined>;
  stats(): MaybePromise<QueueStats>;
  /** Fired when a waiting job's place changes after it was enqueued (the enqueue result carries the first one). */
  onPositionChange(listener: (jobId: string, position: number) => void): Unsubscribe;
  /** May fire before `enqueue` returns, when a slot was free. */
  onStart(listener: (job: Job<T>) => void): Unsubscribe;
  onSettled(listener: (job: Job<T>, outcome: JobOutcome<R>) => void): Unsubscribe;
  /**
   * Stops taking jobs, gives up the waiting ones (this process will not run them; in-process
   * queues settle them as canceled by `shutdown`), and waits
   * up to `timeoutMs` for the running ones before aborting them.
   */
  close(options?: { timeoutMs?: number }): Promise<CloseReport>;
}
