import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.js';
import { memoryBackend, postgresBackend, redisBackend, sqliteBackend, type Backend } from './backends.js';
import { KeyvStore } from './keyv-store.js';

/**
 * The bot's key-value store. Values are plain JSON (null, booleans, finite numbers, strings,
 * arrays, plain objects): anything else — a Date, a Buffer, a Map, NaN — is refused with a
 * TypeError instead of coming back changed. Properties set to `undefined` are dropped.
 * Keys are the bot's own (`guild:…`); the store adds the `kmplz:` prefix in the backend.
 * Backend failures reject the call (and are logged); they never read as "missing".
 */
export interface Store {
  get<T>(key: string): Promise<T | undefined>;
  /** `ttlMs`, when given, is a positive number of milliseconds after which the key reads as missing. */
  set<T>(key: string, value: T, ttlMs?: number): Promise<void>;
  /** True when the key existed. */
  delete(key: string): Promise<boolean>;
  /**
   * Read-modify-write of one key: `fn` gets the current value (or undefined) and returns the new
   * one (or undefined to delete). Returns the new value. Calls on one key are serialised within
   * the process, and the write is a compare-and-swap in the backend, so no update is lost — not
   * even between processes sharing a backend. When another process wrote the key in between,
   * `fn` runs again on the fresh value: keep it free of side effects. A key's expiry survives
   * the update.
   */
  update<T>(key: string, fn: (current: T | undefined) => T | undefined | Promise<T | undefined>): Promise<T | undefined>;
  /**
   * Sets only when the key is absent (or expired); true when this call set it. Atomic across
   * processes sharing the backend: made for exactly-once marks (webhook ids, posted previews).
   */
  setIfAbsent<T>(key: string, value: T, ttlMs?: number): Promise<boolean>;
  /**
   * The live keys that start with `prefix` (everything of one server: `guild:<id>:`). It walks the
   * whole store, so it is for rare, deliberate work (forgetting a server), never a request path.
   */
  keys(prefix: string): Promise<string[]>;
  /** Health check for /healthz: true when the backend answered within a couple of seconds. */
  ping(): Promise<boolean>;
  /** Closes the connection; later calls reject, ping answers false. Safe to call twice. */
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** `sqlite://` with no path puts the database at `<dataDir>/kmplz.sqlite`. */
  dataDir: string;
  log?: Logger;
  /** How long a call waits for a backend that went away (a restart) before failing. */
  outageWaitMs?: number;
}

/**
 * Opens the store named by STORE_URL and checks that it answers, so a wrong URL or a server
 * that is down stops the bot at start with a clear message:
 * - `sqlite://./data/kmplz.sqlite` (relative to the working directory), `sqlite:///abs/path`
 *   or bare `sqlite://`; the folder is created;
 * - `redis://[:password@]host:port[/db]`, `rediss://…` (TLS);
 * - `postgres://user:password@host:port/db` or `postgresql://…` (one per process).
 */
export async function openStore(url: string, opts: OpenStoreOptions): Promise<Store> {
  const backend = await createBackend(url, opts.dataDir).catch((error: Error) => {
    throw new Error(`STORE_URL: ${error.message}`, { cause: error });
  });
  const store = new KeyvStore(backend, opts.log, opts.outageWaitMs);
  try {
    await store.check(true);
  } catch (error) {
    await store.close().catch(() => {});
    throw new Error(`STORE_URL: cannot use the store at ${backend.description}: ${(error as Error).message}`, { cause: error });
  }
  opts.log?.info({ store: backend.description }, 'store opened');
  return store;
}

async function createBackend(url: string, dataDir: string): Promise<Backend> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'sqlite': {
      const file = sqliteFile(url.slice('sqlite://'.length), dataDir);
      await mkdir(path.dirname(file), { recursive: true }).catch((error: Error) => {
        throw new Error(`cannot create the folder of sqlite://${file}: ${error.message}`, { cause: error });
      });
      return sqliteBackend(file);
    }
    case 'redis':
    case 'rediss':
      return redisBackend(url);
    case 'postgres':
    case 'postgresql':
      return postgresBackend(url);
    default:
      throw new Error(
        `${scheme ? `unknown scheme "${scheme}://"` : 'not a URL'}; use sqlite://<file>, redis://<host>:<port> or postgres://<user>@<host>/<database>`,
      );
  }
}

/** A fresh, empty store in memory with the same behaviour, for tests of other modules. */
export function openMemoryStore(): Store {
  return new KeyvStore(memoryBackend());
}

function sqliteFile(location: string, dataDir: string): string {
  return location === '' ? path.resolve(dataDir, 'kmplz.sqlite') : path.resolve(location);
}
