import { describe, expect, it } from 'vitest';
import { openMemoryStore } from '../../src/store/store.js';
import { LiveTallies } from '../../src/training/live-tallies.js';
import { StoreTrainingRepository } from '../../src/training/repository.js';
import { MessageEditor } from '../../src/util/message-editor.js';
import { FakeChannel } from './fake-channel.js';
import { runningTraining } from './fake-trainer.js';

const ref = { guildId: 'g1', trainingId: 't1' };
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

async function world() {
  const store = openMemoryStore();
  const repository = new StoreTrainingRepository(store);
  const channel = new FakeChannel();
  // A clock that does not move: reports after the first are held for the whole interval.
  const tallies = new LiveTallies({ repository, channel, editor: new MessageEditor({ intervalMs: 60_000, now: () => 0, onError: () => undefined }) });
  const checkpoints = [250, 500, 750].map((step) => ({ step, createdAt: 0 }));
  await repository.create(runningTraining(ref.guildId, ref.trainingId, 750, 250, { threadId: 'thread', checkpoints }));
  // Posted so far: the previews of 250 and 500 (post-once's marks), not 750's.
  const post = (what: string, messageId: string) => store.set(repository.messageMarkKey(ref, what), { by: 'boot', at: 0, messageId });
  await post('preview:250', 'p250');
  await post('preview:500', 'p500');
  return { repository, channel, tallies, post };
}

describe('LiveTallies', () => {
  it('rewrites each posted preview (not one still to post), and holds the edits of a burst of votes', async () => {
    const { repository, channel, tallies } = await world();
    await tallies.refresh(ref);
    await settle();
    expect(channel.rewrites.map((r) => [r.messageId, r.rewrite.kind])).toEqual([
      ['p250', 'preview-tally'],
      ['p500', 'preview-tally'],
    ]);
    for (const voter of ['a', 'b', 'c']) {
      await repository.update(ref, (current) => ({ ...current, votes: { ...current.votes, [voter]: 500 } }));
      await tallies.refresh(ref);
    }
    await settle();
    // Held: the previews were edited less than the interval ago; only the newest goes when it ends.
    expect(channel.rewrites).toHaveLength(2);
    // Stopping drops what is held.
    tallies.close();
    await settle();
    expect(channel.rewrites).toHaveLength(2);
  });

  it('the end message is rewritten only while a vote stays open after the end', async () => {
    const { repository, channel, tallies, post } = await world();
    await post('final', 'fin');
    await tallies.refresh(ref);
    await settle();
    expect(channel.rewrites.map((r) => r.messageId)).not.toContain('fin');
    await repository.update(ref, (current) => ({ ...current, status: 'succeeded', votingClosesAt: 10_000 }));
    const other = new LiveTallies({ repository, channel, editor: new MessageEditor({ intervalMs: 0, now: () => 0, onError: () => undefined }) });
    await other.refresh(ref);
    await settle();
    expect(channel.rewrites.filter((r) => r.messageId === 'fin').map((r) => r.rewrite.kind)).toEqual(['final-tally']);
  });
});
