import { describe, expect, it } from 'vitest';
import { EventBus, type BotEvents } from '../../src/events.js';
import { openMemoryStore } from '../../src/store/store.js';
import type { TrainingRecord } from '../../src/training/records.js';
import { StoreTrainingRepository } from '../../src/training/repository.js';
import { MAX_DISCORD_REFUSALS, TrainingThread } from '../../src/training/thread.js';
import { MessageEditor } from '../../src/util/message-editor.js';
import { captureLogger } from '../support/log.js';
import { FakeChannel } from './fake-channel.js';
import { runningTraining } from './fake-trainer.js';

const ref = { guildId: 'g1', trainingId: 't1' };
async function world(record: TrainingRecord = runningTraining(ref.guildId, ref.trainingId)) {
  const repository = new StoreTrainingRepository(openMemoryStore());
  await repository.create(record);
  const channel = new FakeChannel();
  const clock = { t: 1000, now: () => clock.t };
  const events = new EventBus();
  const gaveUp: BotEvents['training.discord-gave-up'][] = [];
  events.on('training.discord-gave-up', (event) => gaveUp.push(event));
  // The training's status as last stored, when each give-up was told.
  let stored = record.status;
  const update = repository.update.bind(repository);
  repository.update = async (r, fn) => {
    const updated = await update(r, fn);
    stored = updated.status;
    return updated;
  };
  const statusAtGiveUp: string[] = [];
  events.on('training.discord-gave-up', () => statusAtGiveUp.push(stored));
  // As the supervisor builds it: a forced edit counts toward the status message's interval.
  const editor = new MessageEditor({ intervalMs: 5000, now: clock.now, onError: () => undefined, changeStartsInterval: true });
  const thread = new TrainingThread({ repository, channel, clock, log: captureLogger().log, events, editor });
  return { repository, channel, clock, thread, gaveUp, statusAtGiveUp, record: () => repository.mustLoad(ref) };
}

describe('TrainingThread', () => {
  it('opens the announcement, its thread and the status message once, and stores where they are', async () => {
    const { thread, channel, record } = await world();
    await thread.open(ref);
    await thread.open(ref);
    expect(channel.posted.map((p) => p.what)).toEqual(['announcement', 'status']);
    expect(channel.threads).toEqual(['m1']);
    expect(await record()).toMatchObject({ announcementId: 'm1', threadId: 'thread-of-m1', statusMessageId: 'm2' });
  });

  it('counts refusals in a row, starts again after a success, and gives up at the limit: nothing is sent after, the event says so', async () => {
    const { thread, channel, record, gaveUp } = await world();
    await thread.open(ref);
    const post = (what: string) => thread.post(ref, 'thread-of-m1', what, async () => ({ kind: 'result', record: runningTraining(ref.guildId, ref.trainingId), chosen: undefined }));
    channel.refusing = true;
    await expect(post('preview:250')).rejects.toThrow(/Missing Permissions/);
    await expect(post('preview:250')).rejects.toThrow();
    expect((await record()).discordRefusals).toMatchObject({ count: 2, what: 'preview:250', code: 50013 });
    channel.refusing = false;
    expect(await post('preview:250')).toMatchObject({ posted: true });
    expect((await record()).discordRefusals).toBeUndefined();
    channel.refusing = true;
    for (let i = 0; i < MAX_DISCORD_REFUSALS; i++) await expect(post('final')).rejects.toThrow();
    expect((await record()).discordRefusals).toMatchObject({ count: MAX_DISCORD_REFUSALS, gaveUpAt: 1000 });
    expect(gaveUp).toEqual([{ ...ref, what: 'final', code: 50013, threadOpened: true }]);
    const attempts = channel.attempts;
    channel.refusing = false;
    expect(await post('final')).toBeUndefined();
    await thread.refreshStatus(ref, true);
    expect(channel.attempts).toBe(attempts);
    // A training whose thread was open goes on: giving up posting does not fail it.
    expect((await record()).status).toBe('running');
  });

  it('a thread Discord never lets open fails the training, before any run', async () => {
    const { thread, channel, record, gaveUp, statusAtGiveUp } = await world();
    channel.refusing = true;
    for (let i = 0; i < MAX_DISCORD_REFUSALS; i++) await expect(thread.open(ref)).rejects.toThrow();
    expect(await thread.open(ref)).toBeUndefined();
    expect(gaveUp).toEqual([{ ...ref, what: 'thread', code: 50013, threadOpened: false }]);
    // Told once the failure is stored: a listener reading the training finds it failed.
    expect(statusAtGiveUp).toEqual(['failed']);
    expect(await record()).toMatchObject({ status: 'failed', failure: expect.stringContaining('<#channel>') });
  });

  it('status reports within the interval wait and only the newest goes; a forced edit goes at once', async () => {
    const { thread, channel, clock, repository } = await world();
    await thread.open(ref);
    await thread.refreshStatus(ref, false);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(channel.edits).toHaveLength(1);
    clock.t += 1000;
    await thread.refreshStatus(ref, false);
    await thread.refreshStatus(ref, false);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(channel.edits).toHaveLength(1);
    await repository.update(ref, (current) => ({ ...current, status: 'succeeded' }));
    clock.t += 5000;
    await thread.refreshStatus(ref, true);
    expect(channel.edits).toHaveLength(2);
    expect(channel.edits.at(-1)).toMatchObject({ kind: 'status', record: { status: 'succeeded' } });
    // Right after a forced edit a report waits for the interval, as it would after a report.
    await thread.refreshStatus(ref, false);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(channel.edits).toHaveLength(2);
    await thread.forget(ref);
  });
});
