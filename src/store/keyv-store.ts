import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.js';
import type { Backend } from './backends.js';
import { KeyMutex } from './key-mutex.js';
import { assertPlainJson } from './plain-json.js';
import type { Store } from './port.js';

const KEY_PREFIX = 'kmplz:';
/** The SQL adapters declare `key VARCHAR(255)`; PostgreSQL enforces it, so every backend does. */
const MAX_KEY_LENGTH = 255 - KEY_PREFIX.length;
/** /healthz answers promptly; opening allows for a slow first connection (TLS, a remote host). */
const PING_TIMEOUT_MS = 2_000;
const OPEN_TIMEOUT_MS = 10_000;
/** Swaps only fail when another process wrote the same key in between; this many in a row means something is wrong. */
const MAX_SWAP_ATTEMPTS = 50;
/**
 * How long an operation waits for a backend that is briefly away (Redis or PostgreSQL
 * restarting) before failing. Only refusals where nothing reached the server are retried, so a
 * retried write cannot have happened twice.
 */
export const DEFAULT_OUTAGE_WAIT_MS = 15_000;

interface Current<T> {
  /** The stored string, expired or not: what the swap must find unchanged. */
  raw: string | undefined;
  /** The live value, undefined when absent or expired. */
  value: T | undefined;
  expires: number | undefined;
}

export class KeyvStore implements Store {
  private readonly mutex = new KeyMutex();
  private closing: Promise<void> | undefined;

  constructor(
    private readonly backend: Backend,
    private readonly log?: Logger,
    private readonly outageWaitMs = DEFAULT_OUTAGE_WAIT_MS,
  ) {
    backend.keyv.on('error', (error: unknown) => log?.error({ err: error, store: backend.description }, 'store backend error'));
  }

  async get<T>(key: string): Promise<T | undefined> {
    this.checkOpen('get', key);
    return this.io('get', key, () => this.backend.keyv.get<T>(KEY_PREFIX + key));
  }

  async set<T>(key: string, value: T, ttlMs?: number): Promise<void> {
    this.checkOpen('set', key);
    checkValue(value);
    checkTtl(ttlMs);
    await this.io('set', key, () => this.backend.keyv.set(KEY_PREFIX + key, value, ttlMs));
  }

  async delete(key: string): Promise<boolean> {
    this.checkOpen('delete', key);
    return this.io('delete', key, () => this.backend.keyv.delete(KEY_PREFIX + key));
  }

  async update<T>(key: string, fn: (current: T | undefined) => T | undefined | Promise<T | undefined>): Promise<T | undefined> {
    this.checkOpen('update', key);
    return this.mutex.run(key, () =>
      this.swapLoop<T, T | undefined>('update', key, async (current) => {
        const next = await fn(current);
        if (next !== undefined) checkValue(next);
        return { next, result: next };
      }),
    );
  }

  async setIfAbsent<T>(key: string, value: T, ttlMs?: number): Promise<boolean> {
    this.checkOpen('setIfAbsent', key);
    checkValue(value);
    checkTtl(ttlMs);
    return this.mutex.run(key, () =>
      this.swapLoop<T, boolean>(
        'setIfAbsent',
        key,
        async (current) => (current === undefined ? { next: value, result: true } : { result: false }),
        ttlMs,
      ),
    );
  }

  async keys(prefix: string): Promise<string[]> {
    this.checkOpen('keys', prefix);
    const { keyv } = this.backend;
    // keyv iterates every adapter kmplz uses (Map, SQLite, PostgreSQL, Redis SCAN) and skips expired entries.
    if (!keyv.iterator) throw new Error(`the ${this.backend.description} store cannot list its keys`);
    const iterate = keyv.iterator.bind(keyv);
    return this.io('keys', prefix, async () => {
      const found: string[] = [];
      // Collected before anyone deletes: the SQL adapters page with OFFSET, which deleting would shift.
      for await (const [key] of iterate(undefined)) {
        if (typeof key === 'string' && key.startsWith(KEY_PREFIX + prefix)) found.push(key.slice(KEY_PREFIX.length));
      }
      return found;
    });
  }

  async ping(): Promise<boolean> {
    if (this.closing) return false;
    try {
      await this.check();
      return true;
    } catch (error) {
      this.log?.warn({ err: error, store: this.backend.description }, 'store ping failed');
      return false;
    }
  }

  /** Like ping, but rejects with the reason; openStore calls it with the longer timeout to report it. */
  async check(opening = false): Promise<void> {
    const timeoutMs = opening ? OPEN_TIMEOUT_MS : PING_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.backend.ping(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    this.closing ??= this.backend.close();
    return this.closing;
  }

  /**
   * Reads the key, lets `decide` choose from its live value, and writes the choice with a
   * compare-and-swap; when the swap finds the key changed (another process wrote it), starts
   * over. A decision without a `next` key leaves the key as it is.
   */
  private async swapLoop<T, R>(
    operation: string,
    key: string,
    decide: (current: T | undefined) => Promise<{ next?: T | undefined; result: R }>,
    ttlMs?: number,
  ): Promise<R> {
    const { keyv } = this.backend;
    const fullKey = KEY_PREFIX + key;
    for (let attempt = 1; attempt <= MAX_SWAP_ATTEMPTS; attempt++) {
      const current = await this.io(operation, key, () => this.read<T>(fullKey));
      const decision = await decide(current.value);
      if (!('next' in decision)) return decision.result;
      // A new ttl is setIfAbsent's; update keeps the expiry the record already had.
      const expires = ttlMs !== undefined ? Date.now() + ttlMs : current.expires;
      const next = decision.next;
      const nextRaw = next === undefined ? undefined : ((await keyv.serializeData({ value: next, expires })) as string);
      const swapped = await this.io(operation, key, () => this.backend.compareAndSwap(fullKey, current.raw, nextRaw, expires === undefined ? undefined : expires - Date.now()), {
        // The connection dropped with the swap in flight: the key itself tells whether it happened.
        afterLostAnswer: async () => {
          const raw = await this.backend.readRaw(fullKey);
          return raw === nextRaw ? true : raw === current.raw ? undefined : false;
        },
      });
      if (swapped) return decision.result;
      // Processes retrying in lockstep would keep colliding: spread them out.
      await sleep(Math.random() * Math.min(100, 2 ** attempt));
    }
    throw new Error(`store ${operation} "${key}": gave up after ${MAX_SWAP_ATTEMPTS} attempts, other writers kept changing the key`);
  }

  private async read<T>(fullKey: string): Promise<Current<T>> {
    const raw = await this.backend.readRaw(fullKey);
    if (raw === undefined) return { raw, value: undefined, expires: undefined };
    const data = await this.backend.keyv.deserializeData<T>(raw);
    const expires = data?.expires ?? undefined;
    if (data === undefined || (expires !== undefined && Date.now() > expires)) return { raw, value: undefined, expires: undefined };
    return { raw, value: data.value, expires };
  }

  private checkOpen(operation: string, key: string): void {
    checkKey(key);
    if (this.closing) throw new Error(`store ${operation} "${key}": the store is closed`);
  }

  /**
   * Runs backend work, naming the operation, key and backend when it fails, and waits out a short
   * outage (a restart): a command refused before it was sent is sent again; one whose answer was
   * lost with the connection is sent again only when that is harmless (reads, plain writes,
   * deletes), while a compare-and-swap asks `afterLostAnswer` what became of it (undefined: not
   * done, send it again).
   */
  private async io<R>(operation: string, key: string, run: () => Promise<R>, { afterLostAnswer }: { afterLostAnswer?: () => Promise<R | undefined> } = {}): Promise<R> {
    const giveUpAt = Date.now() + this.outageWaitMs;
    let step: () => Promise<R | undefined> = run;
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await step();
        if (result !== undefined || step === run) return result as R;
        step = run;
      } catch (error) {
        const kind = connectionFailure(error);
        if (!this.closing && kind && Date.now() < giveUpAt) {
          if (attempt === 0) this.log?.warn({ store: this.backend.description, operation, key }, 'store unreachable; waiting for it to come back');
          if (kind === 'answer-lost' && afterLostAnswer) step = afterLostAnswer;
          await sleep(Math.min(1000, 50 * 2 ** attempt));
          continue;
        }
        throw new Error(`store ${operation} "${key}" failed on ${this.backend.description}: ${(error as Error).message}`, { cause: error });
      }
    }
  }
}

/**
 * How a command failed with its connection: `not-sent` (refused while the connection was down),
 * `answer-lost` (the connection dropped while it was in flight: it may or may not have run), or
 * undefined for any other failure.
 */
function connectionFailure(error: unknown): 'not-sent' | 'answer-lost' | undefined {
  for (let e = error as { name?: string; code?: string; message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.name === 'ClientOfflineError' || e.code === 'ECONNREFUSED' || /client is offline|ECONNREFUSED/.test(e.message ?? '')) return 'not-sent';
    if (e.name === 'SocketClosedUnexpectedlyError' || e.code === 'ECONNRESET' || e.code === 'EPIPE' || /Socket closed unexpectedly|ECONNRESET|Connection terminated/.test(e.message ?? '')) return 'answer-lost';
  }
  return undefined;
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new TypeError(`store keys are 1 to ${MAX_KEY_LENGTH} characters, got ${JSON.stringify(key)}`);
  }
}

function checkValue(value: unknown): void {
  if (value === undefined) throw new TypeError('store values are plain JSON: undefined cannot be stored (delete the key instead)');
  assertPlainJson(value);
}

function checkTtl(ttlMs: number | undefined): void {
  if (ttlMs !== undefined && !(Number.isFinite(ttlMs) && ttlMs > 0)) {
    throw new TypeError(`a store ttl is a positive number of milliseconds, got ${ttlMs}`);
  }
}
