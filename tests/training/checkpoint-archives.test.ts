import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/config.js';
import { openMemoryStore } from '../../src/store/store.js';
import { StoreTrainingRepository } from '../../src/training/repository.js';
import { CheckpointArchives, checkpointArchivePath } from '../../src/training/checkpoint-archives.js';
import type { TrainingRecord } from '../../src/training/records.js';
import { captureLogger } from '../support/log.js';

/** Weights URLs like Replicate's: the archive while it lives, 404 once `gone` holds the step. */
let server: Server;
let base: string;
const gone = new Set<number>();
const downloads: number[] = [];
const archiveOf = (step: number) => Buffer.from(`archive of step ${step}`);

beforeAll(async () => {
  server = createServer((req, res) => {
    const step = Number(/\/(\d+)\.tar$/.exec(req.url ?? '')?.[1]);
    if (gone.has(step)) return res.writeHead(404).end();
    downloads.push(step);
    res.writeHead(200, { 'content-type': 'application/x-tar' }).end(archiveOf(step));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function setup() {
  const dir = await mkdtemp(path.join(tmpdir(), 'kmplz-archives-'));
  const config: Config = parseConfig({ DISCORD_TOKEN: 't', DATA_DIR: dir });
  const store = openMemoryStore();
  const trainings = new StoreTrainingRepository(store);
  const archives = new CheckpointArchives({ config, repository: trainings, log: captureLogger().log });
  const record: TrainingRecord = {
    id: 'tr1',
    guildId: 'g1',
    channelId: 'c1',
    startedBy: 'u1',
    status: 'running',
    steps: 1000,
    checkpointEvery: 250,
    checkpoints: [250, 500, 750, 1000].map((step) => ({ step, weightsUrl: `${base}/${step}.tar`, createdAt: 0 })),
    votes: {},
    createdAt: 0,
  };
  await trainings.create(record);
  /** The record as a test's step leaves it (stored whole, as the training's owner would). */
  const save = (changed: TrainingRecord) => trainings.update({ guildId: 'g1', trainingId: 'tr1' }, () => changed);
  const kept = async () => (await readdir(path.dirname(checkpointArchivePath(config, 'g1', 'tr1', 0))).catch(() => [])).sort();
  return { dir, config, trainings, save, archives, record, kept };
}

describe('checkpoint archives', () => {
  it('keeps every checkpoint while voting is open, then only the chosen and the last one', async () => {
    const { dir, trainings, save, archives, record, kept } = await setup();
    try {
      await archives.sync({ guildId: 'g1', trainingId: 'tr1' });
      expect(await kept()).toEqual(['1000.tar', '250.tar', '500.tar', '750.tar']);
      // Already kept: not downloaded again.
      const before = downloads.length;
      await archives.sync({ guildId: 'g1', trainingId: 'tr1' });
      expect(downloads.length).toBe(before);

      // Finished with a deadline: the vote is still open, everything stays.
      await save({ ...record, status: 'succeeded', votingClosesAt: 1 });
      await archives.sync({ guildId: 'g1', trainingId: 'tr1' });
      expect(await kept()).toHaveLength(4);

      await save({ ...record, status: 'succeeded', votingClosesAt: 1, votingClosedAt: 2 });
      await trainings.setActiveCheckpoint('g1', { trainingId: 'tr1', step: 500, chosenBy: 'vote' });
      await archives.sync({ guildId: 'g1', trainingId: 'tr1' });
      expect(await kept()).toEqual(['1000.tar', '500.tar']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads its copy after the weights URL is gone, downloads one it lacks while the URL lives, and says undefined after', async () => {
    const { dir, config, archives, record } = await setup();
    try {
      gone.clear();
      expect((await archives.read(record, 250))?.toString()).toBe('archive of step 250');
      expect(checkpointArchivePath(config, 'g1', 'tr1', 250)).toMatch(/guilds\/g1\/trainings\/tr1\/checkpoints\/250\.tar$/);
      gone.add(250).add(500);
      expect((await archives.read(record, 250))?.toString()).toBe('archive of step 250');
      expect(await archives.read(record, 500)).toBeUndefined();
    } finally {
      gone.clear();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('coalesces calls made during a sync into one more round, and a failed download is only logged', async () => {
    const { dir, save, archives, record, kept } = await setup();
    try {
      await save({ ...record, checkpoints: [{ step: 250, weightsUrl: 'http://127.0.0.1:1/unreachable.tar', createdAt: 0 }] });
      await expect(archives.sync({ guildId: 'g1', trainingId: 'tr1' })).resolves.toBeUndefined();
      expect(await kept()).toEqual([]);
      await save(record);
      const first = archives.sync({ guildId: 'g1', trainingId: 'tr1' });
      const second = archives.sync({ guildId: 'g1', trainingId: 'tr1' });
      expect(second).toBe(first);
      await first;
      expect(await kept()).toHaveLength(4);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
