import { describe, expect, it } from 'vitest';
import type { GenerationJob, GenerationParameters } from '../../src/generation/jobs.js';
import { GenerationJobs } from '../../src/generation/repository.js';
import { openMemoryStore } from '../../src/store/store.js';

const job = (id: string, overrides: Partial<GenerationJob> = {}): GenerationJob => ({
  id,
  guildId: 'g1',
  userId: 'u1',
  parameters: { prompt: 'KMPLZ, a heron', steps: 20, guidance: 7, strength: 0.8, width: 1024, height: 1024, seed: 42, seedChosen: true, checkpoint: { trainingId: 't1', step: 500 } },
  userPrompt: 'a heron',
  notes: [],
  reply: { applicationId: 'app', interactionToken: id, tokenExpiresAt: 0, channelId: 'c1', userId: 'u1' },
  uploadLimit: 1024,
  status: 'queued',
  createdAt: 0,
  ...overrides,
});
const result = { imageFile: 'guilds/g1/results/a.png', predictionId: 'p', gpuSeconds: 1 };

describe('GenerationJobs', () => {
  it('creates a job once: a second create of the same id (a takeover of its interaction) keeps the first', async () => {
    const jobs = new GenerationJobs(openMemoryStore());
    expect(await jobs.create(job('a'))).toBe(true);
    expect(await jobs.create(job('a', { userId: 'u2' }))).toBe(false);
    expect((await jobs.get('g1', 'a'))?.userId).toBe('u1');
    // Per server: another server's job id finds nothing here.
    expect(await jobs.get('g2', 'a')).toBeUndefined();
  });

  it('finds an earlier picture only for a chosen seed, identical parameters and a succeeded job', async () => {
    const jobs = new GenerationJobs(openMemoryStore());
    const done = job('a', { status: 'succeeded', result });
    await jobs.save(done);
    await jobs.rememberResult(done);
    expect((await jobs.drawnBefore('g1', done.parameters))?.id).toBe('a');
    expect(await jobs.drawnBefore('g1', { ...done.parameters, steps: 21 })).toBeUndefined();
    expect(await jobs.drawnBefore('g1', { ...done.parameters, seedChosen: false })).toBeUndefined();
    expect(await jobs.drawnBefore('g2', done.parameters)).toBeUndefined();
    // A job stored before `strength` existed was drawn at 0.6: it matches a request for 0.6.
    const { strength: _none, ...older } = done.parameters;
    const old = job('b', { status: 'succeeded', result, parameters: { ...older, seed: 5 } as GenerationParameters });
    await jobs.save(old);
    await jobs.rememberResult(old);
    expect((await jobs.drawnBefore('g1', { ...done.parameters, seed: 5, strength: 0.6 }))?.id).toBe('b');
    // The pointer outlives a job that was later run again and failed: that is no picture to give.
    await jobs.save({ ...done, status: 'failed' });
    expect(await jobs.drawnBefore('g1', done.parameters)).toBeUndefined();
  });

  it('a random seed is never remembered', async () => {
    const store = openMemoryStore();
    const jobs = new GenerationJobs(store);
    const random = job('r', { status: 'succeeded', result, parameters: { ...job('r').parameters, seedChosen: false } });
    await jobs.rememberResult(random);
    expect(await store.keys('guild:g1:')).toEqual([]);
  });

  it('keeps the unfinished list free of duplicates and deletes it when it empties', async () => {
    const store = openMemoryStore();
    const jobs = new GenerationJobs(store);
    await jobs.addUnfinished(job('a'));
    await jobs.addUnfinished(job('b'));
    await jobs.addUnfinished(job('a'));
    expect(await jobs.unfinished()).toEqual([
      { guildId: 'g1', jobId: 'b' },
      { guildId: 'g1', jobId: 'a' },
    ]);
    await jobs.removeUnfinished('a');
    await jobs.removeUnfinished('b');
    await jobs.removeUnfinished('b');
    expect(await jobs.unfinished()).toEqual([]);
    expect(await store.keys('jobs:')).toEqual([]);
  });

  it('records predictions by picture without bringing back a job that is gone', async () => {
    const jobs = new GenerationJobs(openMemoryStore());
    await jobs.save(job('a'));
    await jobs.recordPrediction(job('a'), 0, 'p0');
    await jobs.recordPrediction(job('a'), 1, 'p1');
    expect((await jobs.get('g1', 'a'))?.predictions).toEqual(['p0', 'p1']);
    await jobs.discard(job('a'));
    await jobs.recordPrediction(job('a'), 0, 'late');
    await jobs.markAnswered(job('a'));
    expect(await jobs.get('g1', 'a')).toBeUndefined();
  });

  it('lists the showcased jobs once each, in order', async () => {
    const jobs = new GenerationJobs(openMemoryStore());
    for (const id of ['b', 'a', 'b']) await jobs.markShowcased(job(id));
    expect(await jobs.showcased('g1')).toEqual(['b', 'a']);
    expect(await jobs.showcased('g2')).toEqual([]);
  });
});
