import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { requirePostgresOrSkip } from '../support/postgres-server.js';
import { capturingLogger } from './capture-log.js';
import { runStoreContract } from './store-contract.js';

const postgres = await requirePostgresOrSkip();

describe.skipIf(!postgres)('postgres store', () => {
  // @keyv/postgres allows one open store per process, so no two-instance test here; the SQL
  // compare-and-swap it would exercise is the one the sqlite suite runs with two instances.
  runStoreContract('postgres', () => openStore(postgres!.url, { dataDir: '.' }), { persistent: true });

  it('refuses a second open store in the same process, saying why', async () => {
    const store = await openStore(postgres!.url, { dataDir: '.' });
    await expect(openStore(postgres!.url, { dataDir: '.' })).rejects.toThrow(/already open in this process/);
    await store.close();
  });

  it('survives a server restart: idle connections dropping do not crash the process, and the store answers again', async () => {
    const { log, lines } = capturingLogger();
    const store = await openStore(postgres!.url, { dataDir: '.', log });
    await store.set('before', { kept: true });
    await postgres!.restart();
    const deadline = Date.now() + 5_000;
    while (!(await store.ping())) {
      if (Date.now() > deadline) throw new Error('store did not answer within 5 s of the restart');
      await sleep(50);
    }
    expect(await store.get('before')).toStrictEqual({ kept: true });
    // The dropped idle connection was reported, not thrown.
    expect(lines.some((line) => line.includes('store backend error') && line.includes('57P01'))).toBe(true);
    await store.close();
  });
});

