import type { Store } from '../../store/store.js';
import { sleep } from '../../util/backoff.js';
import type { CogPrediction } from './server.js';
import { keys } from '../../store/keys.js';

/** What kmplz keeps of a prediction it started on a Cog server, in the store (restarts, other processes). */
export interface CogRecord {
  prediction: CogPrediction;
  /** The server running it. */
  url: string;
  /** ms: when kmplz sent it (a server whose setup started later has restarted since, and lost it). */
  sentAt: number;
  /** ms of the last news about it. */
  seenAt: number;
  /** What the adapter needs to read it again (a training's dataset URL and length). */
  meta?: Record<string, unknown>;
}

const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);
/** A day: past every `completed` retry (coglet tries for about seven minutes). */
const TTL_MS = 24 * 3600_000;
/** Logs are kept as a tail: the progress bar is on the last line, and tqdm redraws make them long. */
const LOG_TAIL = 8 * 1024;

export const isTerminal = (p: CogPrediction) => TERMINAL.has(p.status);

/**
 * The last word on each of kmplz's Cog predictions. Cog cannot be polled (docs/http.md: "Polling
 * for prediction status is not currently supported"), so webhooks are the news; they are kept in
 * the store so that a restarted process, or another one sharing it, still knows what came.
 */
export class CogPredictions {
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly chains = new Map<string, Promise<unknown>>();
  /** This process's latest news, ahead of the store by at most a second of log lines. */
  private readonly latest = new Map<string, { record: CogRecord; storedAt: number }>();

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  async started(id: string, url: string, prediction: CogPrediction, meta?: Record<string, unknown>): Promise<void> {
    const at = this.now();
    await this.put({ prediction: trim(prediction), url, sentAt: at, seenAt: at, ...(meta ? { meta } : {}) });
  }

  /** A webhook (or a re-PUT's answer). Never moves a prediction back from a terminal state. */
  update(prediction: CogPrediction): Promise<CogRecord | undefined> {
    // One at a time per prediction: a late `logs` webhook read before the `completed` one was
    // written must not write its older state over it.
    const previous = this.chains.get(prediction.id) ?? Promise.resolve();
    const next = previous.then(() => this.apply(prediction));
    const settled = next.catch(() => undefined);
    this.chains.set(prediction.id, settled);
    void settled.then(() => {
      if (this.chains.get(prediction.id) === settled) this.chains.delete(prediction.id);
    });
    return next;
  }

  private async apply(prediction: CogPrediction): Promise<CogRecord | undefined> {
    const record = await this.get(prediction.id);
    if (!record) return undefined;
    if (isTerminal(record.prediction) && !isTerminal(prediction)) return record;
    // Each webhook is the whole state; one overtaken by a newer one must not shrink a growing output.
    const shrinks = Array.isArray(record.prediction.output) && Array.isArray(prediction.output) && prediction.output.length < record.prediction.output.length;
    const merged = { ...record.prediction, ...prediction, ...(shrinks ? { output: record.prediction.output } : {}) };
    const next = { ...record, prediction: trim(merged), seenAt: this.now() };
    // Log lines alone (the progress bar, up to twice a second per prediction) reach the store at
    // most once a second; a new status, output or error at once.
    const changed = next.prediction.status !== record.prediction.status || JSON.stringify(next.prediction.output) !== JSON.stringify(record.prediction.output) || next.prediction.error !== record.prediction.error;
    const storedAt = this.latest.get(next.prediction.id)?.storedAt ?? 0;
    if (changed || this.now() - storedAt >= 1000) await this.put(next);
    else this.remember(next, storedAt);
    return next;
  }

  async get(id: string): Promise<CogRecord | undefined> {
    const mine = this.latest.get(id)?.record;
    // The store too: another process may have taken a newer webhook.
    const stored = await this.store.get<CogRecord>(keys.cogPrediction(id));
    return mine && (!stored || mine.seenAt >= stored.seenAt) ? mine : stored;
  }

  /** Resolves once the prediction is terminal, checking `watch` now and then (a restarted server sends nothing). */
  async waitTerminal(id: string, options: { signal?: AbortSignal; onUpdate?: (p: CogPrediction) => void; watch?: () => Promise<void>; watchEveryMs?: number }): Promise<CogPrediction> {
    let lastWatch = this.now();
    for (;;) {
      const record = await this.get(id);
      if (record) {
        options.onUpdate?.(record.prediction);
        if (isTerminal(record.prediction)) return record.prediction;
      }
      if (options.watch && this.now() - lastWatch >= (options.watchEveryMs ?? 5000)) {
        lastWatch = this.now();
        await options.watch();
      }
      await this.nextNews(id, 1000, options.signal);
    }
  }

  private nextNews(id: string, ms: number, signal?: AbortSignal): Promise<void> {
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const set = this.waiters.get(id) ?? new Set();
    this.waiters.set(id, set.add(wake));
    return Promise.race([woken, sleep(ms, signal)]).finally(() => {
      set.delete(wake);
      if (!set.size) this.waiters.delete(id);
    });
  }

  private async put(record: CogRecord): Promise<void> {
    const id = record.prediction.id;
    await this.store.set(keys.cogPrediction(id), record, TTL_MS);
    this.remember(record, this.now());
  }

  private remember(record: CogRecord, storedAt: number): void {
    const id = record.prediction.id;
    this.latest.set(id, { record, storedAt });
    if (isTerminal(record.prediction)) setTimeout(() => this.latest.delete(id), 60_000).unref();
    for (const wake of this.waiters.get(id) ?? []) wake();
  }
}


function trim(p: CogPrediction): CogPrediction {
  const { input: _input, ...rest } = p;
  return { ...rest, ...(typeof p.logs === 'string' && p.logs.length > LOG_TAIL ? { logs: p.logs.slice(-LOG_TAIL) } : {}) };
}
