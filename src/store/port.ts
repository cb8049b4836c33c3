/*
 * The store's interface, apart from its implementation (keyv-store.ts) and from opening one
 * (store.ts): the implementation needs the interface, and opening needs the implementation.
 */

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
