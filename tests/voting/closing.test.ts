import { afterEach, describe, expect, it, vi } from 'vitest';
import { openMemoryStore } from '../../src/store/store.js';
import type { TrainingRecord, TrainingRef } from '../../src/training/records.js';
import { StoreTrainingRepository } from '../../src/training/repository.js';
import { VotingCloser } from '../../src/voting/closing.js';
import { captureLogger } from '../support/log.js';

const ref: TrainingRef = { guildId: 'g', trainingId: 'tr1' };
const HOUR = 60 * 60_000;

function training(over: Partial<TrainingRecord> = {}): TrainingRecord {
  return {
    id: ref.trainingId,
    guildId: ref.guildId,
    channelId: 'c',
    threadId: 't',
    startedBy: 'u',
    status: 'succeeded',
    steps: 750,
    checkpointEvery: 250,
    checkpoints: [250, 500, 750].map((step) => ({ step, createdAt: 0 })),
    votes: { a: 500, b: 500, c: 250 },
    createdAt: 0,
    ...over,
  };
}

let closer: VotingCloser | undefined;
afterEach(() => closer?.stop());

async function world(record: TrainingRecord, { failAnnounce = 0 } = {}) {
  const store = openMemoryStore();
  let now = 1_000_000;
  const announced: (number | undefined)[] = [];
  let failures = failAnnounce;
  const repository = new StoreTrainingRepository(store);
  await repository.create(record);
  // The order of the close's last steps: the deadline leaving its list, the `closed` notice.
  const steps: string[] = [];
  const removeDeadline = repository.removeDeadline.bind(repository);
  repository.removeDeadline = async (r) => {
    await removeDeadline(r);
    steps.push('deadline removed');
  };
  closer = new VotingCloser({
    repository,
    clock: { now: () => now },
    log: captureLogger().log,
    sweepMs: 10,
    refresh: async () => {},
    announce: async (_ref, _record, chosen) => {
      if (failures-- > 0) throw new Error('Discord is down');
      announced.push(chosen?.step);
    },
    closed: (_ref, chosen) => steps.push(`closed ${chosen?.step}`),
  });
  return {
    steps,
    store,
    closer,
    announced,
    advance: (ms: number) => (now += ms),
    deadlines: () => repository.deadlines(),
    active: () => repository.activeCheckpoint(ref.guildId),
    record: () => repository.load(ref),
  };
}

describe('VotingCloser', () => {
  it('keeps an opened vote until its deadline, then closes it once: winner active, result announced, deadline forgotten', async () => {
    const w = await world(training());
    expect((await w.closer.open(ref, 1_000_000 + HOUR)).votingClosesAt).toBe(1_000_000 + HOUR);
    // Opened again (a settle repeated after a restart): the first deadline stands.
    await w.closer.open(ref, 1_000_000 + 5 * HOUR);
    expect((await w.record())!.votingClosesAt).toBe(1_000_000 + HOUR);
    expect(await w.deadlines()).toEqual([ref]);

    await w.closer.start();
    expect(w.announced).toEqual([]);
    expect((await w.record())!.votingClosedAt).toBeUndefined();

    w.advance(HOUR);
    await vi.waitFor(() => expect(w.announced).toEqual([500]), { timeout: 2000 });
    expect(await w.active()).toEqual({ trainingId: ref.trainingId, step: 500, chosenBy: 'vote' });
    expect((await w.record())!.votingClosedAt).toBe(1_000_000 + HOUR);
    expect(await w.deadlines()).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(w.announced).toEqual([500]);
    // The notice (the training.voting-closed event) comes once the close is stored whole.
    expect(w.steps).toEqual(['deadline removed', 'closed 500']);
  });

  it('a close whose announcement failed stays on the list, and the next sweep finishes it', async () => {
    const w = await world(training(), { failAnnounce: 1 });
    await w.closer.open(ref, 1_000_000 + HOUR);
    await expect(w.closer.close(ref)).rejects.toThrow('Discord is down');
    expect((await w.record())!.votingClosedAt).toBe(1_000_000);
    expect(await w.deadlines()).toEqual([ref]);
    // Closed already, so due at once, deadline or not.
    await w.closer.start();
    expect(w.announced).toEqual([500]);
    expect(await w.deadlines()).toEqual([]);
  });

  it('a trainer’s pick wins; a training that did not succeed makes nothing active but a trainer’s pick', async () => {
    const picked = await world(training({ override: { step: 250, by: 'u' } }));
    await picked.closer.close(ref);
    expect(await picked.active()).toEqual({ trainingId: ref.trainingId, step: 250, chosenBy: 'trainer' });

    const failed = await world(training({ status: 'failed' }));
    await failed.closer.close(ref);
    expect(await failed.active()).toBeUndefined();
    expect(failed.announced).toEqual([500]);
  });
});
