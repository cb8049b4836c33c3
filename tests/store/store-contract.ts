import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';

export interface StoreContractOptions {
  /** Each makeStore() opens the same data again, so values must survive closing and reopening. */
  persistent?: boolean;
  /** Two stores may be open on the same data at once, as two bot processes would be. */
  concurrentInstances?: boolean;
}

/** Polls until `get` answers undefined; fails after `withinMs`. */
async function waitUntilMissing(store: Store, key: string, withinMs: number): Promise<void> {
  const started = Date.now();
  while ((await store.get(key)) !== undefined) {
    if (Date.now() - started > withinMs) throw new Error(`${key} still present after ${withinMs} ms`);
    await sleep(25);
  }
}

/** The behaviour every Store must have, whatever its backend. */
export function runStoreContract(name: string, makeStore: () => Promise<Store>, options: StoreContractOptions = {}): void {
  describe(`store contract: ${name}`, () => {
    const opened: Store[] = [];
    const open = async () => {
      const store = await makeStore();
      opened.push(store);
      return store;
    };
    let store: Store;
    /** Per-test key prefix: persistent backends keep the keys of earlier tests. */
    let ns: string;

    beforeEach(async () => {
      store = await open();
      ns = `test:${randomUUID()}:`;
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    it('lists the live keys under a prefix, across pages, without the others or the expired', async () => {
      const wanted = Array.from({ length: 23 }, (_, n) => `${ns}guild:1:item:${n}`);
      for (const key of wanted) await store.set(key, { n: key });
      await store.set(`${ns}guild:12:item`, 'a neighbour whose id starts the same');
      await store.set(`${ns}guild:1:gone`, 'expiring', 30);
      await sleep(80);
      expect((await store.keys(`${ns}guild:1:`)).sort()).toEqual([...wanted].sort());
      expect(await store.keys(`${ns}nothing:`)).toEqual([]);
    });

    it('round-trips nested objects, arrays, unicode and every JSON scalar', async () => {
      const record = {
        guild: { id: '1234567890123456789', roles: ['a', 'b'], nested: { deeper: { list: [1, [2, [3]], { x: null }] } } },
        numbers: [0, -1.5e-7, Number.MAX_SAFE_INTEGER, 3.141592653589793],
        flags: { yes: true, no: false, nothing: null },
        empty: { object: {}, array: [], string: '' },
        text: '日本語 · 🎨🖌️ · עברית · Ελληνικά · tab\there · "quotes" \\ back \u0000 nul \u2028',
        // keyv's serializer gives leading colons a meaning (":base64:" marks a Buffer): they must come back as written.
        colons: [':', '::x', ':base64:AAAA'],
      };
      const cases: Array<[string, unknown]> = [
        ['record', record],
        ['array', [record, [], 'x']],
        ['string', 'just a string'],
        ['colon string', ':base64:aGVsbG8='],
        ['zero', 0],
        ['false', false],
        ['null', null],
        ['ключ 🔑', { unicode: 'key' }],
      ];
      for (const [key, value] of cases) await store.set(ns + key, value);
      for (const [key, value] of cases) expect(await store.get(ns + key), key).toStrictEqual(value);
    });

    it('answers undefined for a missing key, and delete says whether the key existed', async () => {
      expect(await store.get(`${ns}missing`)).toBeUndefined();
      expect(await store.delete(`${ns}missing`)).toBe(false);
      await store.set(`${ns}k`, { v: 1 });
      expect(await store.delete(`${ns}k`)).toBe(true);
      expect(await store.get(`${ns}k`)).toBeUndefined();
      expect(await store.delete(`${ns}k`)).toBe(false);
    });

    it('overwrites a value completely (no merging)', async () => {
      await store.set(`${ns}k`, { a: 1, b: { c: 2 } });
      await store.set(`${ns}k`, { b: { d: 3 } });
      expect(await store.get(`${ns}k`)).toStrictEqual({ b: { d: 3 } });
    });

    it('refuses values that are not plain JSON and stores nothing', async () => {
      class Checkpoint {
        step = 250;
      }
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const bad: unknown[] = [
        new Date(),
        { at: new Date() },
        Buffer.from('png'),
        new Map([['a', 1]]),
        new Set([1]),
        new Checkpoint(),
        Number.NaN,
        { cost: Number.POSITIVE_INFINITY },
        [1, undefined, 3],
        [1, , 3],
        undefined,
        10n,
        () => 1,
        Symbol('s'),
        cyclic,
      ];
      for (const value of bad) {
        await expect(store.set(`${ns}bad`, value), String(value)).rejects.toThrow(TypeError);
        await expect(store.setIfAbsent(`${ns}bad`, value), String(value)).rejects.toThrow(TypeError);
      }
      expect(await store.get(`${ns}bad`)).toBeUndefined();

      await store.set(`${ns}k`, { ok: true });
      await expect(store.update(`${ns}k`, () => ({ at: new Date() }))).rejects.toThrow(/plain JSON: \$\.at: a Date/);
      expect(await store.get(`${ns}k`)).toStrictEqual({ ok: true });
    });

    it('drops properties whose value is undefined, as JSON does', async () => {
      await store.set(`${ns}k`, { a: 1, threadId: undefined });
      expect(await store.get(`${ns}k`)).toStrictEqual({ a: 1 });
    });

    it('refuses empty or over-long keys and ttls that are not positive', async () => {
      await expect(store.get('')).rejects.toThrow(TypeError);
      await expect(store.set('x'.repeat(250), 1)).rejects.toThrow(/1 to 249 characters/);
      await store.set('x'.repeat(249), 1);
      expect(await store.delete('x'.repeat(249))).toBe(true);
      for (const ttl of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(store.set(`${ns}k`, 1, ttl), String(ttl)).rejects.toThrow(/positive number of milliseconds/);
      }
    });

    it('expires a value after its ttl, and leaves values without one alone', async () => {
      const before = Date.now();
      await store.set(`${ns}short`, { v: 1 }, 150);
      await store.set(`${ns}forever`, { v: 2 });
      expect(await store.get(`${ns}short`)).toStrictEqual({ v: 1 });
      await waitUntilMissing(store, `${ns}short`, 3_000);
      // Not before its time (a few ms of slack for clock granularity).
      expect(Date.now() - before).toBeGreaterThanOrEqual(145);
      expect(await store.get(`${ns}forever`)).toStrictEqual({ v: 2 });
    });

    it('update keeps the expiry the record already had', async () => {
      await store.set(`${ns}k`, 1, 400);
      expect(await store.update<number>(`${ns}k`, (n) => (n ?? 0) + 1)).toBe(2);
      expect(await store.get(`${ns}k`)).toBe(2);
      await waitUntilMissing(store, `${ns}k`, 3_000);
    });

    it('update loses none of 50 concurrent increments', async () => {
      const key = `${ns}counter`;
      const results = await Promise.all(
        Array.from({ length: 50 }, async () =>
          store.update<{ n: number }>(key, async (current) => {
            // Yield inside fn so the calls overlap for real if the store did not serialise them.
            await sleep(Math.random() * 3);
            return { n: (current?.n ?? 0) + 1 };
          }),
        ),
      );
      expect(await store.get(key)).toStrictEqual({ n: 50 });
      // Each call saw the value its predecessor wrote: the results are 1..50, each once.
      expect(results.map((r) => r?.n).sort((a, b) => (a ?? 0) - (b ?? 0))).toStrictEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    });

    it('update gets undefined for a missing key, and returning undefined deletes the key', async () => {
      const key = `${ns}k`;
      let seen: unknown = 'not called';
      expect(await store.update(key, (current) => ((seen = current), undefined))).toBeUndefined();
      expect(seen).toBeUndefined();
      expect(await store.get(key)).toBeUndefined();

      await store.set(key, { votes: { ana: 250 } });
      expect(await store.update(key, () => undefined)).toBeUndefined();
      expect(await store.get(key)).toBeUndefined();
      expect(await store.delete(key)).toBe(false);
    });

    it('update passes on an error thrown by fn, writes nothing, and the key stays usable', async () => {
      const key = `${ns}k`;
      await store.set(key, 1);
      const failure = new Error('no such checkpoint');
      await expect(store.update(key, () => Promise.reject(failure))).rejects.toBe(failure);
      expect(await store.get(key)).toBe(1);
      expect(await store.update<number>(key, (n) => (n ?? 0) + 1)).toBe(2);
    });

    it('setIfAbsent: exactly one of 20 concurrent callers wins, and its value stays', async () => {
      const key = `${ns}webhook:abc`;
      const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => store.setIfAbsent(key, { by: i })));
      expect(wins.filter(Boolean)).toHaveLength(1);
      expect(await store.get(key)).toStrictEqual({ by: wins.indexOf(true) });
      expect(await store.setIfAbsent(key, { by: 'late' })).toBe(false);
    });

    it('setIfAbsent does not replace a value written by set, but wins again once a mark expired', async () => {
      await store.set(`${ns}k`, 'first');
      expect(await store.setIfAbsent(`${ns}k`, 'second')).toBe(false);
      expect(await store.get(`${ns}k`)).toBe('first');

      expect(await store.setIfAbsent(`${ns}mark`, 1, 300)).toBe(true);
      expect(await store.setIfAbsent(`${ns}mark`, 2, 300)).toBe(false);
      await sleep(350);
      expect(await store.setIfAbsent(`${ns}mark`, 3)).toBe(true);
      expect(await store.get(`${ns}mark`)).toBe(3);
    });

    it.skipIf(!options.concurrentInstances)('two stores on the same data (two processes) lose no update and agree on one setIfAbsent winner', async () => {
      const other = await open();
      const key = `${ns}shared`;
      const increment = (s: Store) => s.update<number>(key, async (n) => {
        await sleep(Math.random() * 3);
        return (n ?? 0) + 1;
      });
      await Promise.all(Array.from({ length: 40 }, (_, i) => increment(i % 2 ? store : other)));
      expect(await store.get(key)).toBe(40);
      expect(await other.get(key)).toBe(40);

      const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).setIfAbsent(`${ns}mark`, i)));
      expect(wins.filter(Boolean)).toHaveLength(1);
    });

    it.skipIf(!options.persistent)('values survive closing and reopening the store', async () => {
      await store.set(`${ns}k`, { kept: ['yes', '✓'] });
      await store.setIfAbsent(`${ns}mark`, true, 60_000);
      await store.close();
      const reopened = await open();
      expect(await reopened.get(`${ns}k`)).toStrictEqual({ kept: ['yes', '✓'] });
      expect(await reopened.setIfAbsent(`${ns}mark`, true)).toBe(false);
    });

    it('answers ping while open; once closed, ping is false, calls reject and close can be repeated', async () => {
      expect(await store.ping()).toBe(true);
      await store.close();
      await store.close();
      expect(await store.ping()).toBe(false);
      await expect(store.get(`${ns}k`)).rejects.toThrow(/closed/);
      await expect(store.set(`${ns}k`, 1)).rejects.toThrow(/closed/);
      await expect(store.update(`${ns}k`, () => 1)).rejects.toThrow(/closed/);
      await expect(store.setIfAbsent(`${ns}k`, 1)).rejects.toThrow(/closed/);
    });
  });
}
