import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { runStoreContract } from './store-contract.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'kmplz-sqlite-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

// Every store opens the same file, so reopening finds the data and two open stores behave like two processes.
runStoreContract('sqlite', () => openStore(`sqlite://${dir}/kmplz.sqlite`, { dataDir: dir }), {
  persistent: true,
  concurrentInstances: true,
});

describe('openStore with sqlite URLs', () => {
  it('resolves a relative path against the working directory and creates the folders', async () => {
    const file = path.join(dir, 'relative', 'deeper', 'bot.sqlite');
    const store = await openStore(`sqlite://./${path.relative(process.cwd(), file)}`, { dataDir: '/nonexistent' });
    await store.set('k', 1);
    await store.close();
    expect((await stat(file)).isFile()).toBe(true);
  });

  it('puts a bare sqlite:// into DATA_DIR', async () => {
    const dataDir = path.join(dir, 'data-dir');
    const store = await openStore('sqlite://', { dataDir });
    await store.set('k', 1);
    await store.close();
    expect((await stat(path.join(dataDir, 'kmplz.sqlite'))).isFile()).toBe(true);
  });

  it('fails at open, naming the file, when the database cannot be created or opened', async () => {
    const file = path.join(dir, 'plain-file');
    await writeFile(file, '');
    // A path under a regular file cannot be a folder.
    await expect(openStore(`sqlite://${file}/inner/db.sqlite`, { dataDir: dir })).rejects.toThrow(
      `STORE_URL: cannot create the folder of sqlite://${file}/inner/db.sqlite`,
    );
    // A folder is not a database file.
    await expect(openStore(`sqlite://${dir}`, { dataDir: dir })).rejects.toThrow(`STORE_URL: cannot use the store at sqlite://${dir}`);
  });
});
