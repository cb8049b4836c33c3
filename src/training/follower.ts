/** One training followed in this process: its loop, and a way to wake it when a webhook arrives. */
export class Follower {
  readonly abort = new AbortController();
  private wakeUp: (() => void) | undefined;
  private woken = false;

  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.woken = true;
  }

  /** Waits `ms`, or less when woken or aborted. */
  async sleep(ms: number): Promise<void> {
    if (this.woken || this.abort.signal.aborted) {
      this.woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.abort.signal.removeEventListener('abort', done);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
      this.abort.signal.addEventListener('abort', done, { once: true });
    });
  }
}
