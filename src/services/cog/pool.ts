import type { Logger } from '../../log.js';
import type { Store } from '../../store/store.js';
import { sleep } from '../../util/backoff.js';
import { CogServer } from './server.js';
import { keys } from '../../store/keys.js';

/** A server held for one prediction; released once that prediction is over. */
export interface CogLease {
  readonly server: CogServer;
  release(): Promise<void>;
}

export interface CogPoolOptions {
  fetch?: typeof fetch;
  log: Logger;
  /** Shared by every process of the bot (with REDIS_URL): leases are taken there, so two processes never send two jobs to one server. */
  store: Store;
  /** How long a lease lives without renewal (a process that died frees its servers after this). */
  leaseMs?: number;
  /** How often a waiting job looks again for a server another process freed. */
  retryMs?: number;
}

/**
 * Cog servers run one prediction at a time (docs/http.md: "By default, the server runs one
 * prediction at a time … When all prediction slots are in use, the server returns 409
 * Conflict"). The pool hands each server to one job at a time: a lease in the store (atomic
 * `setIfAbsent`, renewed while held), so with REDIS_URL several bot processes share the same
 * servers without sending two jobs to one; within a process, waiters are woken as soon as a
 * server is released. Servers of one kind share the work: the first free one is taken.
 */
export class CogPool {
  private readonly servers = new Map<string, CogServer>();
  private readonly wakers = new Set<() => void>();
  private readonly leaseMs: number;

  constructor(private readonly o: CogPoolOptions) {
    this.leaseMs = o.leaseMs ?? 30_000;
  }

  server(url: string): CogServer {
    let server = this.servers.get(url);
    if (!server) this.servers.set(url, (server = new CogServer(url, this.o.fetch)));
    return server;
  }

  /** Waits for one of `urls` to be free (and READY), then holds it for `holder`. */
  async acquire(urls: readonly string[], holder: string, signal?: AbortSignal): Promise<CogLease> {
    for (;;) {
      signal?.throwIfAborted();
      for (const url of urls) {
        const lease = await this.tryTake(url, holder);
        if (!lease) continue;
        // A server another client uses (or one still running kmplz's job of before a restart) is not free.
        const health = await this.server(url).health(signal);
        if (health === 'READY') return lease;
        await lease.release();
      }
      await this.nextRelease(this.o.retryMs ?? 1000, signal);
    }
  }

  /** Holds `url` for `holder` again after a restart (the holder's lease may have lapsed meanwhile). */
  async adopt(url: string, holder: string): Promise<CogLease | undefined> {
    return this.tryTake(url, holder);
  }

  private async tryTake(url: string, holder: string): Promise<CogLease | undefined> {
    const key = keys.cogLease(url);
    const mine = (await this.o.store.setIfAbsent(key, holder, this.leaseMs)) || (await this.o.store.get<string>(key)) === holder;
    if (!mine) return undefined;
    await this.o.store.set(key, holder, this.leaseMs);
    const renew = setInterval(() => {
      void this.o.store.set(key, holder, this.leaseMs).catch((error: unknown) => this.o.log.warn({ err: error, url }, 'could not renew a Cog server lease'));
    }, Math.max(100, this.leaseMs / 3));
    renew.unref();
    let released = false;
    return {
      server: this.server(url),
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(renew);
        await this.o.store.update<string>(key, (current) => (current === holder ? undefined : current)).catch((error: unknown) => this.o.log.warn({ err: error, url }, 'could not release a Cog server lease'));
        for (const wake of [...this.wakers]) wake();
      },
    };
  }

  private nextRelease(ms: number, signal?: AbortSignal): Promise<void> {
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    this.wakers.add(wake);
    return Promise.race([woken, sleep(ms, signal)]).finally(() => this.wakers.delete(wake));
  }
}

