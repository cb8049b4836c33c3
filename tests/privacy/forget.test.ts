import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runForget } from '../../deploy/forget.js';
import { parseConfig, type Config } from '../../src/config.js';
import { addToDataset, loadDataset } from '../../src/dataset/dataset.js';
import { forgetGuild } from '../../src/privacy/forget.js';
import { openStore, type Store } from '../../src/store/store.js';
import { drawing } from '../support/fixtures.js';
import { captureLogger } from '../support/log.js';

const A = '1400000000000000001';
const B = '1400000000000000002';

let dir: string;
let env: Record<string, string>;
let config: Config;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kmplz-forget-'));
  env = { DISCORD_TOKEN: 'x', DATA_DIR: dir, STORE_URL: `sqlite://${path.join(dir, 'kmplz.sqlite')}` };
  config = parseConfig(env);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Two servers with a drawing each, a job, a month's spending, a training, and entries in the bot-wide lists. */
async function seed(store: Store): Promise<void> {
  const { log } = captureLogger();
  for (const guildId of [A, B]) {
    const report = await addToDataset({ store, config, log }, guildId, 'someone', [{ name: 'a.png', data: await drawing(300, 300, '#336699') }]);
    expect(report.added).toHaveLength(1);
    await store.set(`guild:${guildId}:job:j1`, { prompt: 'a cat drawn by someone' });
    await store.set(`guild:${guildId}:spend:2026-12`, { gpuSeconds: 12 });
    await store.set(`guild:${guildId}:training:t1`, { votes: { someone: 250 } });
  }
  await store.set('jobs:unfinished', [{ guildId: A, jobId: 'j1' }, { guildId: B, jobId: 'j1' }]);
  await store.set('trainings:followed', [{ guildId: A, trainingId: 't1' }, { guildId: B, trainingId: 't1' }]);
}

describe('forgetting a server', () => {
  it('`npm run forget -- <id>` removes every record and file of that server, spending included, and nothing of another', async () => {
    const store = await openStore(config.STORE_URL, { dataDir: dir });
    await seed(store);
    await store.close();

    expect(await runForget([A], env)).toMatch(new RegExp(`^Server ${A}: removed 4 store records and .*guilds/${A}\\.$`));

    const after = await openStore(config.STORE_URL, { dataDir: dir });
    try {
      expect(await after.keys(`guild:${A}:`)).toEqual([]);
      expect(existsSync(path.join(dir, 'guilds', A))).toBe(false);
      expect(await after.get('jobs:unfinished')).toEqual([{ guildId: B, jobId: 'j1' }]);
      expect(await after.get('trainings:followed')).toEqual([{ guildId: B, trainingId: 't1' }]);
      // The other server is untouched, files and all.
      expect((await after.keys(`guild:${B}:`)).sort()).toEqual([`guild:${B}:dataset`, `guild:${B}:job:j1`, `guild:${B}:spend:2026-12`, `guild:${B}:training:t1`]);
      const [image] = (await loadDataset(after, B)).images;
      expect(existsSync(path.join(dir, image!.originalFile))).toBe(true);
      expect(await readdir(path.join(dir, 'guilds'))).toEqual([B]);
    } finally {
      await after.close();
    }
  });

  it('keeps the spending records when asked (from inside Discord, the budget must not reset)', async () => {
    const store = await openStore(config.STORE_URL, { dataDir: dir });
    try {
      await seed(store);
      expect(await forgetGuild({ store, config }, A, { keepSpending: true })).toEqual({ records: 3, files: true });
      expect(await store.keys(`guild:${A}:`)).toEqual([`guild:${A}:spend:2026-12`]);
      expect(await forgetGuild({ store, config }, A, { keepSpending: true })).toEqual({ records: 0, files: false });
    } finally {
      await store.close();
    }
  });

  it('goes through the lists\' owners: a list left empty is gone, as when its last entry ends (src/store/ref-list.ts)', async () => {
    const store = await openStore(config.STORE_URL, { dataDir: dir });
    try {
      await store.set('jobs:unfinished', [{ guildId: A, jobId: 'j1' }]);
      await store.set('trainings:followed', [{ guildId: A, trainingId: 't1' }]);
      await store.set('trainings:voting-deadlines', [{ guildId: A, trainingId: 't1' }, { guildId: B, trainingId: 't2' }]);
      await forgetGuild({ store, config }, A);
      expect(await store.get('jobs:unfinished')).toBeUndefined();
      expect(await store.get('trainings:followed')).toBeUndefined();
      expect(await store.get('trainings:voting-deadlines')).toEqual([{ guildId: B, trainingId: 't2' }]);
    } finally {
      await store.close();
    }
  });

  it('refuses what is not a server id before touching anything', async () => {
    await expect(runForget([], env)).rejects.toThrow(/Usage: npm run forget -- <server id>/);
    await expect(runForget(['../..'], env)).rejects.toThrow(/Usage/);
    const store = await openStore(config.STORE_URL, { dataDir: dir });
    try {
      await expect(forgetGuild({ store, config }, '..')).rejects.toThrow(RangeError);
    } finally {
      await store.close();
    }
  });
});
