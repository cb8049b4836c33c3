import type {
  CancelResult,
  CloseReport,
  EnqueueResult,
  Job,
  JobOutcome,
  JobQueue,
  JobWorker,
  QueueStats,
} from './job-queue.js';
import { QueueEvents } from './listeners.js';

export interface FairQueueOptions<T, R> {
  worker: JobWorker<T, R>;
  /** Jobs running at once across everybody (predictions in flight). */
  concurrency: number;
  /** Jobs one user may have waiting or running at once. */
  perUserCap: number;
  /**
   * Where errors thrown by event listeners go. A listener that fails (say, a Discord edit)
   * must not leave the queue half-updated, so listeners never throw into it.
   */
  onListenerError?: (error: unknown) => void;
}

export interface DrainReport {
  /** Jobs still waiting or running when the timeout ran out (nothing was aborted). */
  pending: string[];
}

type RunningJob<T> = {
  job: Job<T>;
  controller: AbortController;
  canceledBy?: 'user' | 'shutdown';
};

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * An in-process job queue that serves users in turn.
 *
 * Fairness rule: among users with waiting jobs, the one served least recently goes next
 * (users never served go first, in the order their first waiting job arrived); a user who is
 * served goes to the back. Among users who keep jobs waiting this is a strict rotation, and a
 * newcomer is not queued behind the second request of someone whose first one is already
 * running. So one person's ten requests cost everybody else at most one turn.
 */
export class FairQueue<T, R> extends QueueEvents<T, R> implements JobQueue<T, R> {
  private readonly worker: JobWorker<T, R>;
  private readonly concurrency: number;
  private readonly perUserCap: number;

  /** Waiting jobs per user, oldest first. A user is present only while they have waiting jobs. */
  private readonly waitingByUser = new Map<string, Job<T>[]>();
  /** When each user's current stretch of waiting began: breaks ties between users never served. */
  private readonly waitingSince = new Map<string, number>();
  /**
   * When each user was last served (a dispatch counter, 0 = never). Kept after their jobs are
   * done so that leaving and coming back does not buy a better turn; bounded by the chat's members.
   */
  private readonly lastServed = new Map<string, number>();
  private readonly running = new Map<string, RunningJob<T>>();
  private readonly runningCountByUser = new Map<string, number>();
  /** Current 1-based place of every waiting job; rebuilt after every change. */
  private positions = new Map<string, number>();
  private sequence = 0;
  private accepting = true;
  private readonly stateWatchers = new Set<() => void>();


  constructor(options: FairQueueOptions<T, R>) {
    super(options.onListenerError ?? ((error: unknown) => console.error('queue listener failed', error)));
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${options.concurrency}`);
    }
    if (!Number.isInteger(options.perUserCap) || options.perUserCap < 1) {
      throw new RangeError(`perUserCap must be a positive integer, got ${options.perUserCap}`);
    }
    this.worker = options.worker;
    this.concurrency = options.concurrency;
    this.perUserCap = options.perUserCap;
  }

  enqueue(job: Job<T>): EnqueueResult {
    if (!this.accepting) return { ok: false, reason: 'closed' };
    if (this.positions.has(job.id) || this.running.has(job.id)) return { ok: false, reason: 'duplicate-id' };
    if (this.loadOf(job.userId) >= this.perUserCap) {
      return { ok: false, reason: 'user-cap', cap: this.perUserCap };
    }

    const lane = this.waitingByUser.get(job.userId);
    if (lane) {
      lane.push(job);
    } else {
      this.waitingByUser.set(job.userId, [job]);
      this.waitingSince.set(job.userId, ++this.sequence);
    }
    this.dispatch();
    this.refreshPositions();

    const position = this.positions.get(job.id);
    return position === undefined
      ? { ok: true, jobId: job.id, state: 'running' }
      : { ok: true, jobId: job.id, state: 'waiting', position };
  }

  cancel(jobId: string): CancelResult {
    const runningJob = this.running.get(jobId);
    if (runningJob) {
      if (!runningJob.controller.signal.aborted) {
        runningJob.canceledBy = 'user';
        runningJob.controller.abort();
      }
      return 'aborting';
    }
    const job = this.removeWaiting(jobId);
    if (!job) return 'not-found';
    this.refreshPositions();
    this.settledListeners.emit(job, { status: 'canceled', by: 'user' });
    this.notifyStateWatchers();
    return 'removed';
  }

  position(jobId: string): number | undefined {
    return this.positions.get(jobId);
  }

  stats(): QueueStats {
    return { waiting: this.positions.size, running: this.running.size, waitingUsers: this.waitingByUser.size };
  }

  /** Stops taking jobs and runs what is already queued; resolves when idle or at the timeout. */
  async drain(options: { timeoutMs?: number } = {}): Promise<DrainReport> {
    this.accepting = false;
    await this.waitFor(() => this.positions.size === 0 && this.running.size === 0, options.timeoutMs);
    return { pending: [...this.dispatchOrder(), ...this.running.keys()] };
  }

  async close(options: { timeoutMs?: number } = {}): Promise<CloseReport> {
    this.accepting = false;
    const givenUp = this.dispatchOrder().map((jobId) => this.removeWaiting(jobId));
    this.refreshPositions();
    for (const job of givenUp) {
      if (job) this.settledListeners.emit(job, { status: 'canceled', by: 'shutdown' });
    }
    this.notifyStateWatchers();

    await this.waitFor(() => this.running.size === 0, options.timeoutMs);
    const abandoned = [...this.running.values()];
    for (const runningJob of abandoned) {
      runningJob.canceledBy ??= 'shutdown';
      runningJob.controller.abort();
    }
    return { abandoned: abandoned.map((runningJob) => runningJob.job.id) };
  }

  private loadOf(userId: string): number {
    return (this.waitingByUser.get(userId)?.length ?? 0) + (this.runningCountByUser.get(userId) ?? 0);
  }

  /** Users with waiting jobs, next to be served first. */
  private rotation(): string[] {
    const served = (userId: string) => this.lastServed.get(userId) ?? 0;
    const since = (userId: string) => this.waitingSince.get(userId) ?? 0;
    return [...this.waitingByUser.keys()].sort((a, b) => served(a) - served(b) || since(a) - since(b));
  }

  /**
   * The order waiting jobs would start in if nothing else arrived: serving a user sends them
   * to the back of the rotation, so the order is each user's first job in rotation order,
   * then each user's second job, and so on.
   */
  private dispatchOrder(): string[] {
    const lanes = this.rotation().map((userId) => this.waitingByUser.get(userId) ?? []);
    const longest = Math.max(0, ...lanes.map((lane) => lane.length));
    const order: string[] = [];
    for (let round = 0; round < longest; round++) {
      for (const lane of lanes) {
        const job = lane[round];
        if (job) order.push(job.id);
      }
    }
    return order;
  }

  private removeWaiting(jobId: string): Job<T> | undefined {
    for (const [userId, lane] of this.waitingByUser) {
      const index = lane.findIndex((job) => job.id === jobId);
      if (index === -1) continue;
      const [job] = lane.splice(index, 1);
      if (lane.length === 0) {
        this.waitingByUser.delete(userId);
        this.waitingSince.delete(userId);
      }
      return job;
    }
    return undefined;
  }

  private dispatch(): void {
    while (this.running.size < this.concurrency) {
      const job = this.takeNextWaiting();
      if (!job) return;
      this.lastServed.set(job.userId, ++this.sequence);
      this.start(job);
    }
  }

  private takeNextWaiting(): Job<T> | undefined {
    const userId = this.rotation()[0];
    const nextJobId = userId === undefined ? undefined : this.waitingByUser.get(userId)?.[0]?.id;
    return nextJobId === undefined ? undefined : this.removeWaiting(nextJobId);
  }

  private start(job: Job<T>): void {
    const runningJob: RunningJob<T> = { job, controller: new AbortController() };
    this.running.set(job.id, runningJob);
    this.runningCountByUser.set(job.userId, (this.runningCountByUser.get(job.userId) ?? 0) + 1);
    this.startListeners.emit(job);
    // The worker runs on a later microtask so that it never re-enters the queue mid-dispatch,
    // and a worker that throws synchronously is handled like one that rejects.
    Promise.resolve()
      .then(() => this.worker(job, runningJob.controller.signal))
      .then(
        (result) => this.settle(runningJob, { status: 'succeeded', result }),
        (error: unknown) =>
          this.settle(
            runningJob,
            runningJob.canceledBy ? { status: 'canceled', by: runningJob.canceledBy } : { status: 'failed', error },
          ),
      );
  }

  private settle(runningJob: RunningJob<T>, outcome: JobOutcome<R>): void {
    const { job } = runningJob;
    this.running.delete(job.id);
    const remaining = (this.runningCountByUser.get(job.userId) ?? 1) - 1;
    if (remaining > 0) this.runningCountByUser.set(job.userId, remaining);
    else this.runningCountByUser.delete(job.userId);

    this.settledListeners.emit(job, outcome);
    this.dispatch();
    this.refreshPositions();
    this.notifyStateWatchers();
  }

  /** Recomputes every waiting job's place and tells listeners about the ones that moved. */
  private refreshPositions(): void {
    const previous = this.positions;
    const next = new Map<string, number>();
    this.positions = next;
    this.dispatchOrder().forEach((jobId, index) => next.set(jobId, index + 1));
    for (const [jobId, position] of next) {
      const before = previous.get(jobId);
      if (before !== undefined && before !== position) this.positionListeners.emit(jobId, position);
    }
  }

  private waitFor(condition: () => boolean, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.stateWatchers.delete(check);
        resolve();
      };
      const check = () => {
        if (condition()) finish();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.stateWatchers.add(check);
    });
  }

  private notifyStateWatchers(): void {
    for (const check of [...this.stateWatchers]) check();
  }
}
