import type { Unsubscribe } from './job-queue.js';

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
