/**
 * Emulated time. Every duration inside the emulator (queue time, model work, `Prefer: wait`,
 * webhook throttling and retries, output expiry) is in emulated seconds and runs `timeScale`
 * times real time, so a 500-second training finishes in half a second of a test while its logs,
 * metrics and timestamps still read like the real service's.
 */
export class Scheduler {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(readonly timeScale: number) {
    if (!(timeScale > 0)) throw new Error(`timeScale must be > 0, got ${timeScale}`);
  }

  /** Real milliseconds for `seconds` of emulated time; Infinity for "never". */
  realMs(seconds: number): number {
    const ms = seconds * 1000 * this.timeScale;
    // setTimeout fires at once for delays past 2^31-1 ms: such a wait means "never" here.
    return ms > 2 ** 31 - 1 ? Infinity : Math.max(0, ms);
  }

  /** Emulated seconds for a real duration in milliseconds. */
  emulatedSeconds(realMs: number): number {
    return realMs / 1000 / this.timeScale;
  }

  /** Runs `fn` after `seconds` of emulated time; returns a function that cancels it. */
  later(seconds: number, fn: () => void): () => void {
    const ms = this.realMs(seconds);
    if (ms === Infinity) return () => {};
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
    return () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    };
  }

  /** Resolves after `seconds` of emulated time; rejects with the signal's reason once it aborts. */
  sleep(seconds: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        cancel();
        reject(signal?.reason);
      };
      const cancel = this.later(seconds, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Drops every pending timer (the emulator is closing). */
  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
