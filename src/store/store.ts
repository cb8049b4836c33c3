import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.js';
import { memoryBackend, postgresBackend, redisBackend, sqliteBackend, type Backend } from './backends.js';
import { KeyvStore } from './keyv-store.js';
import type { Store } from './port.js';

/** Re-exported: the bot's modules take the interface from where a store is opened. */
export type { Store } from './port.js';

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
