import { afterEach, describe, expect, it } from 'vitest';
import { EventBus, type BotEvents } from '../../src/events.js';
import { openMemoryStore } from '../../src/store/store.js';
import { FollowLoop } from '../../src/training/follow-loop.js';
import { Follower } from '../../src/training/follower.js';
import { LiveTallies } from '../../src/training/live-tallies.js';
import type { TrainingRecord, TrainingRef } from '../../src/training/records.js';
import { StoreTrainingRepository } from '../../src/training/repository.js';
import { RunTracker } from '../../src/training/run-tracker.js';
import { TrainingThread } from '../../src/training/thread.js';
import { MessageEditor } from '../../src/util/message-editor.js';
import { VotingCloser } from '../../src/voting/closing.js';
import { captureLogger } from '../support/log.js';
import { FakeChannel } from './fake-channel.js';
import { FakeTrainer, runningTraining } from './fake-trainer.js';

const ref: TrainingRef = { guildId: 'g1', trainingId: 't1' };
let closers: VotingCloser[] = [];
afterEach(() => {
  for (const closer of closers) closer.stop();
  closers = [];
});

/**
 * One training followed by the loop with every part real but the edges: a fake Trainer, a fake
 * chat and the memory store. No Discord, no Replicate, no preview pictures.
 */
async function world(record: TrainingRecord) {
  const repository = new StoreTrainingRepository(openMemoryStore());
  const trainer = new FakeTrainer();
  const channel = new FakeChannel();
  const clock = { now: () => Date.now() };
  const log = captureLogger().log;
  const events = new EventBus();
  const seen: { name: string; payload: unknown }[] = [];
  events.onAny((event) => seen.push(event));
  // What the record said of each preview when its event came (the steps whose link was stored by then).
  const linked = new Set<number>();
  const update = repository.update.bind(repository);
  repository.update = async (r, fn) => {
    const updated = await update(r, fn);
    for (const c of updated.checkpoints) if (c.previewUrl) linked.add(c.step);
    return updated;
  };
  const storedAtEvent: boolean[] = [];
  events.on('training.preview-posted', ({ step }) => storedAtEvent.push(linked.has(step)));
  const editor = () => new MessageEditor({ intervalMs: 5, now: clock.now, onError: () => undefined });
  const spends: number[] = [];
  const runs = new RunTracker({
    repository,
    trainer,
    clock,
    log,
    triggerWord: 'KMPLZ',
    datasetZip: async () => ({ zip: Buffer.from('zip'), images: 8 }),
    recordSpend: async (_guildId, gpuSeconds) => void spends.push(gpuSeconds),
    webhookUrl: () => undefined,
    onChanged: () => undefined,
    deliveryIntervalMs: 5,
  });
  const thread = new TrainingThread({ repository, channel, clock, log, events, editor: editor() });
  const tallies = new LiveTallies({ repository, channel, editor: editor() });
  const voting = new VotingCloser({ repository, clock, log, sweepMs: 1000, refresh: (r) => tallies.refresh(r), announce: async () => undefined });
  closers.push(voting);
  const previewed: number[] = [];
  const loop = new FollowLoop({
    repository,
    runs,
    thread,
    tallies,
    voting,
    clock,
    log,
    events,
    previews: {
      message: async (_ref, current, checkpoint) => {
        previewed.push(checkpoint.step);
        return { kind: 'preview', record: current, step: checkpoint.step, notDrawn: [], canStop: false };
      },
    },
    poll: { baseMs: 2, maxMs: 10 },
    reconcileMs: 60_000,
    usesWebhooks: false,
    budget: async () => undefined,
    syncArchives: () => undefined,
  });
  expect(await repository.claimRunning(ref.guildId, ref.trainingId)).toEqual({ claimed: true });
  await repository.create(record);
  const follower = new Follower();
  const done = loop.run(ref, follower, false);
  const until = async (what: string, ok: () => boolean | Promise<boolean>) => {
    for (let i = 0; i < 500; i++) {
      if (await ok()) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  return { repository, trainer, channel, spends, previewed, seen, storedAtEvent, follower, done, until };
}

describe('FollowLoop', () => {
  it('opens the thread, creates the runs, posts each checkpoint’s preview once in step order, and settles with the last checkpoint active', async () => {
    const w = await world(runningTraining(ref.guildId, ref.trainingId, 750, 250));
    await w.until('the three runs', () => w.trainer.runs.size === 3);
    // The longest run ends first: a preview goes up as its checkpoint comes, not in plan order.
    w.trainer.set('run-3', { status: 'succeeded', weights: [{ url: 'https://w/750.tar' }], gpuSeconds: 30, startedAt: 1 });
    await w.until('the 750 checkpoint', async () => (await w.repository.mustLoad(ref)).checkpoints.length === 1);
    w.trainer.set('run-1', { status: 'succeeded', weights: [{ url: 'https://w/250.tar' }], gpuSeconds: 10, startedAt: 1 });
    w.trainer.set('run-2', { status: 'succeeded', weights: [{ url: 'https://w/500.tar' }], gpuSeconds: 20, startedAt: 1 });
    w.follower.wake();
    await w.done;

    expect(w.channel.posted.map((p) => p.what)).toEqual(['announcement', 'status', 'preview:750', 'preview:250', 'preview:500', 'final']);
    expect(w.previewed).toEqual([750, 250, 500]);
    const record = await w.repository.mustLoad(ref);
    expect(record.status).toBe('succeeded');
    expect(record.checkpoints.every((c) => c.previewUrl)).toBe(true);
    expect(await w.repository.activeCheckpoint(ref.guildId)).toEqual({ trainingId: ref.trainingId, step: 750, chosenBy: 'last' });
    expect(await w.repository.isClaimed(ref.guildId)).toBe(false);
    expect(await w.repository.followed()).toEqual([]);
    expect(w.trainer.calls.deleteDataset).toEqual(['file-1']);
    expect(w.spends.sort((a, b) => a - b)).toEqual([10, 20, 30]);
    const named = <K extends keyof BotEvents>(name: K) => w.seen.filter((e) => e.name === name).map((e) => e.payload as BotEvents[K]);
    expect(named('training.preview-posted').map((e) => e.step)).toEqual([750, 250, 500]);
    // Each told once the record holds the preview's link, not before.
    expect(w.storedAtEvent).toEqual([true, true, true]);
    expect(named('training.settled')).toEqual([{ ...ref, status: 'succeeded', winner: 750 }]);
  });

  it('a training whose every run failed fails with the run’s error, says so once, and changes no active checkpoint', async () => {
    const w = await world(runningTraining(ref.guildId, ref.trainingId, 500, 250));
    await w.until('the two runs', () => w.trainer.runs.size === 2);
    w.trainer.set('run-1', { status: 'failed', error: 'CUDA out of memory' });
    w.trainer.set('run-2', { status: 'failed', error: 'CUDA out of memory' });
    w.follower.wake();
    await w.done;
    expect(await w.repository.mustLoad(ref)).toMatchObject({ status: 'failed', failure: 'CUDA out of memory' });
    expect(w.channel.posted.map((p) => p.what)).toEqual(['announcement', 'status', 'final']);
    expect(w.channel.posted.at(-1)?.message).toMatchObject({ kind: 'final', chosen: undefined });
    expect(await w.repository.activeCheckpoint(ref.guildId)).toBeUndefined();
    expect(await w.repository.isClaimed(ref.guildId)).toBe(false);
  });

  it('a training canceled meanwhile cancels its runs at the service and settles as canceled', async () => {
    const w = await world(runningTraining(ref.guildId, ref.trainingId, 500, 250));
    await w.until('the two runs', () => w.trainer.runs.size === 2);
    await w.repository.update(ref, (current) => ({ ...current, status: 'canceled', canceled: { by: 'bob', savedGpuSeconds: 5 }, finishedAt: Date.now() }));
    w.follower.wake();
    await w.done;
    expect(w.trainer.calls.cancel.sort()).toEqual(['run-1', 'run-2']);
    expect(w.channel.posted.at(-1)).toMatchObject({ what: 'final', message: { kind: 'final', record: { status: 'canceled' } } });
    expect(await w.repository.followed()).toEqual([]);
  });
});
