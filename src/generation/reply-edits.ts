/**
 * The edits of each job's reply, in the order they are made, one on its way at a time.
 *
 * Two kinds: a change of state (the picture is being drawn, the answer, the end) goes out next,
 * right after the edit already on its way; a report that only informs (a place in the queue, a
 * progress bar) is coalesced per reply with a trailing throttle: the first goes out at once, the
 * ones after it within `intervalMs` are held and only the newest of them is sent when the window
 * ends. A person needs to see their place change, not every step of it, and in a burst of fifty
 * every job moving up would otherwise edit every waiting reply (Discord rate-limits the edits of
 * one reply, and the answer would queue behind them). A state change drops the held report: it
 * describes an older state, and the answer is never kept waiting for a timer.
 */
export class ReplyEdits {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly reports = new Map<string, Report>();

  constructor(private readonly o: { intervalMs: number; now: () => number; onError: (error: unknown, jobId: string) => void }) {}

  /** A change of state: sent after the edit on its way (if any), before anything held. */
  change(jobId: string, edit: () => Promise<unknown>): Promise<void> {
    const report = this.reports.get(jobId);
    if (report) {
      clearTimeout(report.timer);
      report.held = undefined;
      report.timer = undefined;
    }
    return this.inTurn(jobId, edit);
  }

  /** A report that only informs: at once when the reply was not edited within the interval, else the newest one when it ends. */
  report(jobId: string, edit: () => Promise<unknown>): void {
    let report = this.reports.get(jobId);
    if (!report) {
      report = { lastSent: -Infinity };
      this.reports.set(jobId, report);
    }
    const wait = report.lastSent + this.o.intervalMs - this.o.now();
    if (wait <= 0 && !report.timer) {
      this.send(jobId, report, edit);
      return;
    }
    report.held = edit;
    if (report.timer) return;
    report.timer = setTimeout(() => {
      const current = this.reports.get(jobId);
      if (!current) return;
      current.timer = undefined;
      const held = current.held;
      current.held = undefined;
      if (held) this.send(jobId, current, held);
    }, Math.max(0, wait));
    // A held report must not keep a stopping process alive.
    report.timer.unref?.();
  }

  /** The job is over: nothing held for its reply is sent any more. */
  forget(jobId: string): void {
    const report = this.reports.get(jobId);
    if (report) clearTimeout(report.timer);
    this.reports.delete(jobId);
  }

  private send(jobId: string, report: Report, edit: () => Promise<unknown>): void {
    report.lastSent = this.o.now();
    this.inTurn(jobId, edit).catch((error: unknown) => this.o.onError(error, jobId));
  }

  /** Runs one edit of a job's reply after the ones before it, so they reach Discord in order. */
  private inTurn(jobId: string, edit: () => Promise<unknown>): Promise<void> {
    const previous = this.chains.get(jobId) ?? Promise.resolve();
    const mine = previous.then(async () => void (await edit()));
    const tail = mine.catch(() => undefined);
    this.chains.set(jobId, tail);
    void tail.then(() => {
      if (this.chains.get(jobId) === tail) this.chains.delete(jobId);
    });
    return mine;
  }
}

interface Report {
  /** When the last report went out (clock ms). */
  lastSent: number;
  /** The newest report waiting for the window to end. */
  held?: () => Promise<unknown>;
  timer?: NodeJS.Timeout;
}
