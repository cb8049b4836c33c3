import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@keyv/redis';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { requireRedisOrSkip, startRedisServer } from '../support/redis-server.js';
import { capturingLogger } from './capture-log.js';
import { runStoreContract } from './store-contract.js';

const redis = await requireRedisOrSkip();

describe.skipIf(!redis)('redis store', () => {
  runStoreContract('redis', () => openStore(redis!.url, { dataDir: '.' }), { persistent: true, concurrentInstances: true });

  it('keeps keys under the kmplz: prefix in Redis', async () => {
    const store = await openStore(redis!.url, { dataDir: '.' });
    await store.set('guild:1:probe', { v: 1 });
    const client = createClient({ url: redis!.url });
    await client.connect();
    expect(await client.exists('kmplz:guild:1:probe')).toBe(1);
    await client.close();
    await store.close();
  });

  it('while Redis stays down: calls fail after the outage wait, ping is false, the error is logged, close does not hang', async () => {
    const server = await startRedisServer();
    const { log, lines } = capturingLogger();
    const store = await openStore(server!.url, { dataDir: '.', log, outageWaitMs: 300 });
    await store.set('k', 1);
    await server!.stop();
    await sleep(50);
    const started = Date.now();
    await expect(store.get('k')).rejects.toThrow(/store get "k" failed on redis:\/\/127\.0\.0\.1/);
    await expect(store.update('k', () => 2)).rejects.toThrow(/failed/);
    expect(await store.ping()).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(lines.some((line) => line.includes('store backend error'))).toBe(true);
    expect(lines.some((line) => line.includes('waiting for it to come back'))).toBe(true);
    await store.close();
  });

  it('a call made while Redis restarts waits for it and succeeds (nothing lost to a restart)', async () => {
    const server = await startRedisServer({ persistent: true });
    const store = await openStore(server!.url, { dataDir: '.' });
    await store.set('during', 0);
    const restarting = server!.restart({ downForMs: 500 });
    // Redis is down for half a second: the write waits for it instead of failing.
    await sleep(300);
    const write = store.update<number>('during', (n = 0) => n + 1);
    await restarting;
    expect(await write).toBe(1);
    expect(await store.get('during')).toBe(1);
    await store.close();
    await server!.stop();
  });

  it('reconnects by itself after Redis restarts', async () => {
    const store = await openStore(redis!.url, { dataDir: '.' });
    await store.set('before', 1);
    await redis!.restart();
    const deadline = Date.now() + 5_000;
    while (!(await store.ping())) {
      if (Date.now() > deadline) throw new Error('store did not reconnect within 5 s');
      await sleep(50);
    }
    await store.set('after', 2);
    expect(await store.get('after')).toBe(2);
    await store.close();
  });
});
