import type { Job, JobOutcome, Unsubscribe } from './job-queue.js';

/** Event listeners that never throw into the emitter: a failing listener (say, a Discord edit) is reported, the others still run. */
export class Listeners<A extends unknown[]> {
  private readonly listeners = new Set<(...args: A) => void>();

  constructor(private readonly onError: (error: unknown) => void) {}

  add(listener: (...args: A) => void): Unsubscribe {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  emit(...args: A): void {
    for (const listener of this.listeners) {
      try {
        listener(...args);
      } catch (error) {
        this.onError(error);
      }
    }
  }
}

/** The three events every `JobQueue` offers, for the queues to extend. */
export abstract class QueueEvents<T, R> {
  protected readonly positionListeners: Listeners<[jobId: string, position: number]>;
  protected readonly startListeners: Listeners<[job: Job<T>]>;
  protected readonly settledListeners: Listeners<[job: Job<T>, outcome: JobOutcome<R>]>;

  constructor(onListenerError: (error: unknown) => void) {
    this.positionListeners = new Listeners(onListenerError);
    this.startListeners = new Listeners(onListenerError);
    this.settledListeners = new Listeners(onListenerError);
  }

  onPositionChange(listener: (jobId: string, position: number) => void): Unsubscribe {
    return this.positionListeners.add(listener);
  }

  onStart(listener: (job: Job<T>) => void): Unsubscribe {
    return this.startListeners.add(listener);
  }

  onSettled(listener: (job: Job<T>, outcome: JobOutcome<R>) => void): Unsubscribe {
    return this.settledListeners.add(listener);
  }
}
