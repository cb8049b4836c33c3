import type { EventEmitter } from 'node:events';
import KeyvPostgres from '@keyv/postgres';
import KeyvRedis, { createClient } from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import { Keyv } from 'keyv';

/**
 * What the store needs from a backend beyond keyv's get/set/delete: the stored string of a key
 * and an atomic compare-and-swap on it. `update` and `setIfAbsent` are built on these, so they
 * stay exact when several bot processes share one Redis or PostgreSQL (or one SQLite file); the
 * in-process mutex only saves the retries.
 */
export interface Backend {
  /** Names the backend in log lines and errors: scheme, host and path, never a password. */
  readonly description: string;
  readonly keyv: Keyv;
  /** The stored (serialized) string, expired or not, exactly as compareAndSwap compares it. */
  readRaw(key: string): Promise<string | undefined>;
  /**
   * Replaces the stored string by `next` (undefined: deletes the key) only while it still equals
   * `expected` (undefined: only while the key is absent). True when it swapped. The ttl matters
   * only where the backend expires keys itself (Redis); keyv keeps the expiry inside the value.
   */
  compareAndSwap(key: string, expected: string | undefined, next: string | undefined, ttlMs: number | undefined): Promise<boolean>;
  /** Resolves when the backend answered a round trip, rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

function createKeyv(store: unknown): Keyv {
  return new Keyv({
    store,
    // The store prefixes every key with `kmplz:` itself, identically on every backend; keyv's
    // own prefixing differs per adapter (`keyv:` here, `namespace::` inside the Redis adapter).
    namespace: undefined,
    useKeyPrefix: false,
    // keyv's default is to emit the error and answer "missing" — an update would then overwrite
    // a record it merely failed to read.
    throwOnErrors: true,
  });
}

/** keyv's Map store, for unit tests: one process, so a synchronous compare is atomic. */
export function memoryBackend(): Backend {
  const map = new Map<string, string>();
  const keyv = createKeyv(map);
  return {
    description: 'memory',
    keyv,
    async readRaw(key) {
      return map.get(key);
    },
    async compareAndSwap(key, expected, next) {
      if (map.get(key) !== expected) return false;
      if (next === undefined) map.delete(key);
      else map.set(key, next);
      return true;
    },
    async ping() {},
    async close() {},
  };
}

type Run = (sql: string, params: readonly unknown[]) => Promise<unknown[]>;

/**
 * The SQL adapters keep one row per key in `table(key, value)`. Each swap is one statement whose
 * WHERE clause carries the expected value, so the database decides who wins; RETURNING tells
 * whether a row was touched (SQLite has it since 3.35, the sqlite3 package bundles a newer one).
 */
function sqlCompareAndSwap(run: Run, table: string, placeholder: (n: number) => string): Backend['compareAndSwap'] {
  const [p1, p2, p3] = [placeholder(1), placeholder(2), placeholder(3)];
  return async (key, expected, next) => {
    if (expected === undefined && next === undefined) {
      return (await run(`SELECT key FROM ${table} WHERE key = ${p1}`, [key])).length === 0;
    }
    const rows =
      expected === undefined
        ? await run(`INSERT INTO ${table} (key, value) VALUES (${p1}, ${p2}) ON CONFLICT (key) DO NOTHING RETURNING key`, [key, next])
        : next === undefined
          ? await run(`DELETE FROM ${table} WHERE key = ${p1} AND value = ${p2} RETURNING key`, [key, expected])
          : await run(`UPDATE ${table} SET value = ${p1} WHERE key = ${p2} AND value = ${p3} RETURNING key`, [next, key, expected]);
    return rows.length === 1;
  };
}

/** `file` is an absolute path whose folder exists. */
export function sqliteBackend(file: string): Backend {
  // A second process on the same file waits for the write lock instead of failing at once.
  const adapter = new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: 5_000 });
  const keyv = createKeyv(adapter);
  const table = adapter.opts.table ?? 'keyv';
  const run: Run = (sql, params) => adapter.query(sql, ...params);
  // SQLite's default journal syncs the disk twice on every write: 20–60 ms a write on a busy
  // disk, and a /kmplz job writes its record about eight times (accepted, running, its
  // prediction, spend, done, answered, …), which made up most of a job's time outside the GPU.
  // With a write-ahead log and synchronous=NORMAL a write is about 1 ms; a crash of the process
  // loses nothing, only a power cut can lose the last writes (never corrupting the file). The
  // adapter has one connection, so the pragmas run first, before any query of the store.
  void run('PRAGMA journal_mode = WAL', []).catch(() => undefined);
  void run('PRAGMA synchronous = NORMAL', []).catch(() => undefined);
  return {
    description: `sqlite://${file}`,
    keyv,
    async readRaw(key) {
      const rows = (await run(`SELECT value FROM ${table} WHERE key = ?`, [key])) as Array<{ value: string }>;
      return rows[0]?.value;
    },
    compareAndSwap: sqlCompareAndSwap(run, table, () => '?'),
    async ping() {
      await run('SELECT 1', []);
    },
    close: () => keyv.disconnect(),
  };
}

/**
 * @keyv/postgres keeps ONE pool in a module variable and ends that one on disconnect, whichever
 * store asks: two open stores would end each other's pool. So a process opens one at a time.
 */
let postgresOpen = false;

export function postgresBackend(url: string): Backend {
  if (postgresOpen) {
    throw new Error('a postgres store is already open in this process (@keyv/postgres shares one pool per process); reuse it');
  }
  const adapter: KeyvPostgres = new KeyvPostgres({
    uri: url,
    // Without it pg waits for an unreachable server as long as the OS lets a connect hang.
    connectionTimeoutMillis: 5_000,
    // pg's pool emits 'error' when an idle connection dies (the server restarted, a proxy timed
    // it out); with no listener that error crashes the process. @keyv/postgres keeps its pool
    // private, but pg-pool calls its `log` option as a method of the pool, first before it opens
    // any connection: the one place a listener can be attached. tests/store/postgres.test.ts
    // restarts the server under an open store to prove it still holds.
    log(this: EventEmitter) {
      if (this.listenerCount('error') === 0) this.on('error', (error: unknown) => adapter.emit('error', error));
    },
  });
  postgresOpen = true;
  const keyv = createKeyv(adapter);
  const table = `${adapter.opts.schema ?? 'public'}.${adapter.opts.table ?? 'keyv'}`;
  const run: Run = (sql, params) => adapter.query(sql, params);
  return {
    description: describeUrl(url),
    keyv,
    async readRaw(key) {
      const rows = (await run(`SELECT value FROM ${table} WHERE key = $1`, [key])) as Array<{ value: string }>;
      return rows[0]?.value;
    },
    compareAndSwap: sqlCompareAndSwap(run, table, (n) => `$${n}`),
    async ping() {
      await run('SELECT 1', []);
    },
    async close() {
      try {
        await keyv.disconnect();
      } finally {
        postgresOpen = false;
      }
    },
  };
}

/**
 * Compare-and-swap as one Lua script, which Redis runs without interleaving other commands.
 * KEYS[1] key; ARGV: expected, expected-present ('1'/'0'), next, next-present, ttl ms ('0': none).
 */
const REDIS_SWAP = `
local current = redis.call('GET', KEYS[1])
if ARGV[2] == '1' then
  if current ~= ARGV[1] then return 0 end
elseif current then
  return 0
end
if ARGV[4] == '1' then
  if ARGV[5] ~= '0' then
    redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[5])
  else
    redis.call('SET', KEYS[1], ARGV[3])
  end
else
  redis.call('DEL', KEYS[1])
end
return 1
`;

export function redisBackend(url: string): Backend {
  let everReady = false;
  const client = createClient({
    url,
    // While the connection is down, commands fail at once instead of queueing until Redis is
    // back: a handler gets an error it can report rather than hanging past Discord's deadlines.
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 5_000,
      // A Redis that is unreachable at start is a configuration error, reported by openStore;
      // one that goes away later is waited for, with capped backoff.
      reconnectStrategy: (retries, cause) => (everReady ? Math.min(100 * 2 ** retries, 2_000) : cause),
    },
  });
  client.on('ready', () => {
    everReady = true;
  });
  const adapter = new KeyvRedis(client, { throwOnErrors: true, throwOnConnectError: true });
  const keyv = createKeyv(adapter);
  return {
    description: describeUrl(url),
    keyv,
    async readRaw(key) {
      return (await client.get(key)) ?? undefined;
    },
    async compareAndSwap(key, expected, next, ttlMs) {
      const ttl = ttlMs === undefined ? '0' : String(Math.max(1, Math.ceil(ttlMs)));
      const swapped = await client.eval(REDIS_SWAP, {
        keys: [key],
        arguments: [expected ?? '', expected === undefined ? '0' : '1', next ?? '', next === undefined ? '0' : '1', ttl],
      });
      return swapped === 1;
    },
    async ping() {
      // openStore's first check is what opens the connection.
      if (!client.isOpen) await client.connect();
      await client.ping();
    },
    close: () => keyv.disconnect(),
  };
}

function describeUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}
