/**
 * Runs at most one task per key every `intervalMs`, and always the last one asked for: a burst
 * of requests becomes one run now and one run when the interval is over. Tasks read the latest
 * state when they run, so nothing is lost by dropping the requests in between. Runs of one key
 * never overlap; a request made while one is running is run after it.
 */
export class Coalescer {
  private readonly slots = new Map<string, { lastAt: number; task?: () => Promise<void>; timer?: NodeJS.Timeout; running: boolean }>();
  private closed = false;

  constructor(
    private readonly intervalMs: number,
    private readonly onError: (error: unknown, key: string) => void,
    private readonly now: () => number = () => Date.now(),
  ) {}

  request(key: string, task: () => Promise<void>): void {
    if (this.closed) return;
    const slot = this.slots.get(key) ?? { lastAt: -Infinity, running: false };
    this.slots.set(key, slot);
    slot.task = task;
    this.pump(key);
  }

  /** Drops what is still waiting; runs in progress finish. */
  close(): void {
    this.closed = true;
    for (const slot of this.slots.values()) clearTimeout(slot.timer);
    this.slots.clear();
  }

  private pump(key: string): void {
    const slot = this.slots.get(key);
    if (!slot || slot.running || slot.timer || this.closed) return;
    const wait = slot.lastAt + this.intervalMs - this.now();
    if (wait > 0 || !slot.task) {
      // Nothing to run: the slot is kept until its interval is over, so the next request still waits for it.
      slot.timer = setTimeout(
        () => {
          slot.timer = undefined;
          if (slot.task) this.pump(key);
          else if (!slot.running) this.slots.delete(key);
        },
        Math.max(0, wait),
      );
      slot.timer.unref();
      return;
    }
    const task = slot.task;
    slot.task = undefined;
    slot.running = true;
    slot.lastAt = this.now();
    void task()
      .catch((error: unknown) => this.onError(error, key))
      .finally(() => {
        slot.running = false;
        this.pump(key);
      });
  }
}
