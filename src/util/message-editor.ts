/**
 * The one way kmplz edits a message it keeps up to date (a `/kmplz` reply, a training's status
 * message, a preview's tally, a batch caption's progress): per message, in the order the edits
 * are made, one on its way at a time, and the last state wins.
 *
 * Two kinds of edit: a change of state (the picture is being drawn, the answer, the end) goes
 * out next, right after the edit already on its way; a report that only informs (a place in the
 * queue, a progress bar, a tally) is coalesced per message with a trailing throttle: the first
 * goes out at once, the ones after it within `intervalMs` are held and only the newest of them is
 * sent when the window ends. Discord rate-limits the edits of one message (about one a second per
 * channel), and in a burst every vote or every job moving up the queue would otherwise edit the
 * same messages again and again, with the answer queued behind them. A change drops the held
 * report: it describes an older state, and a change is never kept waiting for a timer. An edit
 * should read the state it shows when it runs, not when it was asked for: then dropping the
 * reports in between loses nothing.
 *
 * Keys name messages (`job:<id>`, `<guild>/<training>/<step>`…): what they mean is the caller's.
 */
export class MessageEditor {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly reports = new Map<string, Report>();
  private closed = false;

  constructor(
    private readonly o: {
      intervalMs: number;
      now: () => number;
      onError: (error: unknown, key: string) => void;
      /**
       * A change starts the interval as a report does, so a report right after it waits: for a
       * message whose changes and reports share one budget of edits (a training's status
       * message). Off, a report after a change goes at once (a reply's first progress after
       * "Drawing…").
       */
      changeStartsInterval?: boolean;
    },
  ) {}

  /** A change of state: sent after the edit on its way (if any), before anything held. */
  change(key: string, edit: () => Promise<unknown>): Promise<void> {
    const report = this.reports.get(key);
    if (report) {
      clearTimeout(report.timer);
      report.held = undefined;
      report.timer = undefined;
    }
    if (this.o.changeStartsInterval && !this.closed) {
      if (report) report.lastSent = this.o.now();
      else this.reports.set(key, { lastSent: this.o.now() });
    }
    return this.inTurn(key, edit);
  }

  /** A report that only informs: at once when the message was not edited within the interval, else the newest one when it ends. */
  report(key: string, edit: () => Promise<unknown>): void {
    if (this.closed) return;
    let report = this.reports.get(key);
    if (!report) {
      report = { lastSent: -Infinity };
      this.reports.set(key, report);
    }
    const wait = report.lastSent + this.o.intervalMs - this.o.now();
    if (wait <= 0 && !report.timer) {
      this.send(key, report, edit);
      return;
    }
    report.held = edit;
    if (report.timer) return;
    report.timer = setTimeout(() => {
      const current = this.reports.get(key);
      if (!current) return;
      current.timer = undefined;
      const held = current.held;
      current.held = undefined;
      if (held) this.send(key, current, held);
    }, Math.max(0, wait));
    // A held report must not keep a stopping process alive.
    report.timer.unref?.();
  }

  /** The message will not change any more (the job is over): nothing held for it is sent. */
  forget(key: string): void {
    const report = this.reports.get(key);
    if (report) clearTimeout(report.timer);
    this.reports.delete(key);
  }

  /** Stopping: drops every held report and takes no new ones; edits on their way finish. */
  close(): void {
    this.closed = true;
    for (const report of this.reports.values()) clearTimeout(report.timer);
    this.reports.clear();
  }

  private send(key: string, report: Report, edit: () => Promise<unknown>): void {
    report.lastSent = this.o.now();
    this.inTurn(key, edit).catch((error: unknown) => this.o.onError(error, key));
  }

  /** Runs one edit of a message after the ones before it, so they reach Discord in order. */
  private inTurn(key: string, edit: () => Promise<unknown>): Promise<void> {
    const previous = this.chains.get(key) ?? Promise.resolve();
    const mine = previous.then(async () => void (await edit()));
    const tail = mine.catch(() => undefined);
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
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
