import { describe, expect, it } from 'vitest';
import { openMemoryStore } from '../../src/store/store.js';
import type { TrainingRef } from '../../src/training/records.js';
import { StoreTrainingRepository } from '../../src/training/repository.js';
import { RunTracker, savedBy } from '../../src/training/run-tracker.js';
import { captureLogger } from '../support/log.js';
import { FakeTrainer, runningTraining } from './fake-trainer.js';

const ref: TrainingRef = { guildId: 'g1', trainingId: 't1' };

async function world({ webhooks = false, deliveryIntervalMs = 5000 } = {}) {
  const repository = new StoreTrainingRepository(openMemoryStore());
  const trainer = new FakeTrainer();
  const clock = { t: 10_000, now: () => clock.t };
  trainer.now = clock.t;
  const spends: number[] = [];
  const changed: TrainingRef[] = [];
  const tracker = new RunTracker({
    repository,
    trainer,
    clock,
    log: captureLogger().log,
    triggerWord: 'KMPLZ',
    datasetZip: async () => ({ zip: Buffer.from('zip'), images: 8 }),
    recordSpend: async (_guildId, gpuSeconds) => void spends.push(gpuSeconds),
    webhookUrl: (r) => (webhooks ? `https://bot.test/webhooks/replicate?guild=${r.guildId}&training=${r.trainingId}` : undefined),
    onChanged: (r) => void changed.push(r),
    deliveryIntervalMs,
  });
  await repository.create(runningTraining(ref.guildId, ref.trainingId));
  const record = () => repository.mustLoad(ref);
  return { repository, trainer, clock, spends, changed, tracker, record };
}

describe('RunTracker', () => {
  it('uploads the zip once and creates each run once, in order, with the training’s seed and webhook', async () => {
    const { tracker, trainer, record } = await world({ webhooks: true });
    await tracker.start(ref);
    await tracker.start(ref);
    expect(trainer.calls.upload).toBe(1);
    expect(trainer.calls.start.map((input) => input.run.steps)).toEqual([250, 500, 750]);
    expect(trainer.calls.start[0]).toMatchObject({ seed: 42, triggerWord: 'KMPLZ', datasetUrl: 'https://files.test/1/kmplz-t1.zip', webhook: expect.stringContaining('training=t1') });
    const stored = await record();
    expect(stored.dataset?.fileId).toBe('file-1');
    expect(stored.runs?.map((run) => [run.id, run.status])).toEqual([
      ['run-1', 'starting'],
      ['run-2', 'starting'],
      ['run-3', 'starting'],
    ]);
  });

  it('a create whose answer was lost is found at the service, not created a second time', async () => {
    const { tracker, trainer, record } = await world();
    trainer.loseNextCreateAnswer = true;
    await expect(tracker.start(ref)).rejects.toThrow(/socket hang up/);
    expect((await record()).runs?.[0]).toMatchObject({ status: 'pending', createRequestedAt: 10_000 });
    await tracker.start(ref);
    expect(trainer.calls.find).toBe(1);
    expect(trainer.calls.start.map((input) => input.run.steps)).toEqual([250, 500, 750]);
    expect((await record()).runs?.map((run) => run.id)).toEqual(['run-1', 'run-2', 'run-3']);
  });

  it('a late snapshot does not undo a newer state: status forward only, progress up only', async () => {
    const { tracker, trainer, record } = await world();
    await tracker.start(ref);
    const old = trainer.set('run-1', { status: 'processing', progress: { step: 100, total: 250 }, startedAt: 9_000 });
    trainer.set('run-1', { status: 'succeeded', progress: { step: 250, total: 250 }, weights: [{ url: 'https://w/250.tar' }], gpuSeconds: 200 });
    expect((await tracker.poll(ref))).toBe(true);
    const late = await tracker.apply(ref, old);
    expect(late.changed).toBe(false);
    const run = (await record()).runs![0]!;
    expect(run).toMatchObject({ status: 'succeeded', progress: { step: 250 }, gpuSeconds: 200, startedAt: 9_000 });
    expect((await record()).checkpoints.map((c) => c.step)).toEqual([250]);
  });

  it('new weights become checkpoints once, in step order, and report a change', async () => {
    const { tracker, trainer, record, changed } = await world();
    await tracker.start(ref);
    const second = trainer.set('run-2', { status: 'succeeded', weights: [{ url: 'https://w/500.tar', version: 'o/m:v500' }] });
    const first = trainer.set('run-1', { status: 'succeeded', weights: [{ url: 'https://w/250.tar' }] });
    await tracker.apply(ref, second);
    await tracker.apply(ref, first);
    await tracker.apply(ref, second);
    expect((await record()).checkpoints).toEqual([
      { step: 250, weightsUrl: 'https://w/250.tar', createdAt: 10_000 },
      { step: 500, weightsUrl: 'https://w/500.tar', version: 'o/m:v500', createdAt: 10_000 },
    ]);
    expect(changed.length).toBeGreaterThanOrEqual(5); // three creates, two weights; not the repeat
    const before = changed.length;
    await tracker.apply(ref, second);
    expect(changed.length).toBe(before);
  });

  it('a run’s GPU time is spent once, whether it comes by webhook, poll, or both', async () => {
    const { tracker, trainer, spends } = await world({ webhooks: true });
    await tracker.start(ref);
    const done = trainer.set('run-1', { status: 'succeeded', weights: [{ url: 'https://w/250.tar' }], gpuSeconds: 321 });
    expect(await tracker.onWebhook(ref, { snapshot: done })).toBe(true);
    expect(await tracker.onWebhook(ref, { snapshot: done })).toBe(false);
    await tracker.poll(ref);
    await tracker.apply(ref, done);
    expect(spends).toEqual([321]);
  });

  it('webhook deliveries that only move the bar are stored at the interval; a new status or new weights at once', async () => {
    const { tracker, trainer, clock, record } = await world({ webhooks: true });
    await tracker.start(ref);
    const progress = async (step: number) => tracker.onWebhook(ref, { snapshot: trainer.set('run-3', { status: 'processing', progress: { step, total: 750 } }) });
    expect(await progress(10)).toBe(true);
    clock.t += 1000;
    expect(await progress(20)).toBe(false);
    expect((await record()).runs![2]!.progress?.step).toBe(10);
    // New weights go through within the interval.
    expect(await tracker.onWebhook(ref, { snapshot: trainer.set('run-3', { weights: [{ url: 'https://w/750.tar' }] }) })).toBe(true);
    clock.t += 1000;
    expect(await progress(30)).toBe(false);
    clock.t += 5000;
    expect(await progress(40)).toBe(true);
    expect((await record()).runs![2]!.progress?.step).toBe(40);
    // A webhook not about a training changes nothing.
    expect(await tracker.onWebhook(ref, { nothing: true })).toBe(false);
  });

  it('a run’s first webhook before its create answer is stored lands on the uncreated run of that length', async () => {
    const { tracker, repository, record } = await world({ webhooks: true });
    await tracker.start(ref);
    await repository.update(ref, (current) => ({ ...current, runs: current.runs!.map((run, i) => (i === 1 ? { steps: run.steps, checkpointSteps: run.checkpointSteps, status: 'pending' } : run)) }));
    const early = { id: 'run-2', status: 'processing' as const, weights: [], datasetUrl: 'https://files.test/1/kmplz-t1.zip', steps: 500 };
    expect((await tracker.apply(ref, early)).changed).toBe(true);
    expect((await record()).runs![1]).toMatchObject({ id: 'run-2', status: 'processing' });
  });

  it('cancel: created runs at the service, pending ones in the record; what a stop saves counts only the doomed runs', async () => {
    const { tracker, trainer, repository, record, clock } = await world();
    await tracker.start(ref);
    await repository.update(ref, (current) => ({ ...current, runs: [...current.runs!, { steps: 1000, checkpointSteps: [1000], status: 'pending' }] }));
    trainer.set('run-1', { status: 'succeeded', weights: [{ url: 'https://w/250.tar' }] });
    await tracker.poll(ref);
    const doomed = (run: { steps: number }) => run.steps > 250;
    const now = clock.now();
    const saved = savedBy(await record(), doomed, now);
    expect(saved).toBeGreaterThan(0);
    expect(savedBy(await record(), () => true, now)).toBe(saved);
    expect(savedBy(await record(), (run) => run.steps > 1000, now)).toBe(0);
    await tracker.cancel(ref, doomed);
    expect(trainer.calls.cancel).toEqual(['run-2', 'run-3']);
    expect((await record()).runs!.map((run) => run.status)).toEqual(['succeeded', 'canceled', 'canceled', 'canceled']);
  });

  it('a run created while the training was being canceled is canceled at the service at once', async () => {
    const { tracker, trainer, repository, record } = await world();
    const start = trainer.start.bind(trainer);
    trainer.start = async (input) => {
      const created = await start(input);
      if (input.run.steps === 500) await repository.update(ref, (current) => ({ ...current, status: 'canceled' }));
      return created;
    };
    await tracker.start(ref);
    expect(trainer.calls.start.map((input) => input.run.steps)).toEqual([250, 500]);
    expect(trainer.calls.cancel).toEqual(['run-2']);
    expect((await record()).runs![1]!.status).toBe('canceled');
  });

  it('settle cancels what still runs and polls until each run reported its GPU time, which is spent once', async () => {
    const { tracker, trainer, spends, record } = await world();
    await tracker.start(ref);
    trainer.set('run-1', { status: 'processing', startedAt: 9_500 });
    await tracker.poll(ref);
    await tracker.settle(ref, new AbortController().signal, { baseMs: 1, maxMs: 5 });
    expect((await record()).runs!.map((run) => run.status)).toEqual(['canceled', 'canceled', 'canceled']);
    expect(spends).toEqual([3]);
    await tracker.deleteDataset(ref);
    expect(trainer.calls.deleteDataset).toEqual(['file-1']);
  });
});
