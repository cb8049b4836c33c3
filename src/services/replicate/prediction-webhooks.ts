import { isTerminal, type ReplicateRun } from './client.js';

/**
 * What Replicate's webhooks said about predictions, handed to whoever follows them in this
 * process. The webhook route verifies and deduplicates a delivery, then (through the cluster, so
 * the process that follows the prediction gets it) calls `deliver`. A follower reads the newest
 * state with `newest` and sleeps in `wait` until the next delivery instead of polling.
 *
 * A delivery can come before its follower asks: Replicate sends `start` (and for a fast model
 * even `completed`) while the create's answer is still on its way. So the newest state of every
 * prediction is kept a while whether or not anybody follows it yet.
 */
export class PredictionDeliveries {
  private readonly states = new Map<string, { run: ReplicateRun; at: number }>();
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(private readonly keepMs = 10 * 60_000) {}

  deliver(run: ReplicateRun): void {
    const now = Date.now();
    // Deliveries are retried and may cross: never let an older state replace a newer one.
    const known = this.states.get(run.id)?.run;
    if (!known || isNewer(run, known)) {
      // Deleted first, so the map stays in the order of last delivery (the pruning below relies on it).
      this.states.delete(run.id);
      this.states.set(run.id, { run, at: now });
    }
    for (const [id, state] of this.states) {
      if (now - state.at > this.keepMs) this.states.delete(id);
      else break; // In order of last delivery: the rest are newer.
    }
    for (const wake of this.waiters.get(run.id) ?? []) wake();
  }

  /** The newest delivered state of `id` if it is newer than `than`. */
  newer(id: string, than: ReplicateRun): ReplicateRun | undefined {
    const run = this.states.get(id)?.run;
    return run && isNewer(run, than) ? run : undefined;
  }

  /** Resolves at the next delivery about `id`, after `ms`, or when `signal` aborts. */
  wait(id: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.waiters.get(id) ?? new Set<() => void>();
      this.waiters.set(id, waiters);
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        waiters.delete(done);
        if (waiters.size === 0 && this.waiters.get(id) === waiters) this.waiters.delete(id);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      waiters.add(done);
      if (signal?.aborted) done();
      else signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** The prediction was followed to its end. */
  forget(id: string): void {
    this.states.delete(id);
  }
}

/**
 * Whether `a` is a later state of the prediction than `b`: a later status, or the same one with
 * more logs or output (logs and output only grow while a prediction runs).
 */
export function isNewer(a: ReplicateRun, b: ReplicateRun): boolean {
  const rank = (run: ReplicateRun) => (isTerminal(run.status) ? 2 : run.status === 'processing' ? 1 : 0);
  if (rank(a) !== rank(b)) return rank(a) > rank(b);
  if (isTerminal(a.status)) return false;
  const size = (run: ReplicateRun) => (run.logs ?? '').length + (Array.isArray(run.output) ? run.output.length : 0);
  return size(a) > size(b);
}

/**
 * The part of a prediction a follower needs, for a cluster signal: the status, the output, the
 * error, the metrics and the logs (an SDXL prediction's are a few KB; past LOGS_TAIL only their
 * end, where the last progress bar is, is kept).
 */
export function compactRun(body: unknown): ReplicateRun | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const raw = body as Record<string, unknown>;
  if (typeof raw.id !== 'string' || typeof raw.status !== 'string') return undefined;
  const logs = typeof raw.logs === 'string' ? raw.logs.slice(-LOGS_TAIL) : '';
  return { id: raw.id, status: raw.status, output: raw.output, error: raw.error, logs, metrics: raw.metrics } as ReplicateRun;
}

const LOGS_TAIL = 64 * 1024;
