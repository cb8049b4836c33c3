import { describe, expect, it } from 'vitest';
import { openMemoryStore } from '../../src/store/store.js';
import type { TrainingDraft } from '../../src/training/records.js';
import { StoreTrainingRepository } from '../../src/training/repository.js';
import { runningTraining } from './fake-trainer.js';

const guildId = 'g1';
const ref = { guildId, trainingId: 't1' };

function world() {
  const store = openMemoryStore();
  return { store, repo: new StoreTrainingRepository(store) };
}

const draft = (id: string): TrainingDraft => ({ id, guildId, channelId: 'c', startedBy: 'alice', steps: 750, checkpointEvery: 250, uploadLimit: 8e6, createdAt: 0 });

describe('StoreTrainingRepository', () => {
  it('create stores the record, makes it the last training, follows it and drops its draft', async () => {
    const { repo } = world();
    await repo.saveDraft(draft('t1'), 60_000);
    expect(await repo.draft(guildId, 't1')).toMatchObject({ id: 't1' });
    await repo.create(runningTraining(guildId, 't1'));
    expect((await repo.last(guildId))?.id).toBe('t1');
    expect(await repo.followed()).toEqual([ref]);
    expect(await repo.draft(guildId, 't1')).toBeUndefined();
    // Created twice (a retried Start): followed once.
    await repo.create(runningTraining(guildId, 't1'));
    expect(await repo.followed()).toEqual([ref]);
  });

  it('a draft is forgotten after its time', async () => {
    const { repo } = world();
    await repo.saveDraft(draft('t9'), 20);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await repo.draft(guildId, 't9')).toBeUndefined();
  });

  it('update is a compare-and-swap: concurrent updates all land, and a missing record throws', async () => {
    const { repo } = world();
    await repo.create(runningTraining(guildId, 't1'));
    await Promise.all(Array.from({ length: 25 }, (_, i) => repo.update(ref, (current) => ({ ...current, votes: { ...current.votes, [`u${i}`]: 250 } }))));
    expect(Object.keys((await repo.mustLoad(ref)).votes)).toHaveLength(25);
    const missing = { guildId, trainingId: 'nope' };
    await expect(repo.update(missing, (c) => c)).rejects.toThrow(/gone from the store/);
    await expect(repo.mustLoad(missing)).rejects.toThrow(/gone from the store/);
    expect(await repo.updateIfPresent(missing, (c) => c)).toBeUndefined();
    expect(await repo.load(missing)).toBeUndefined();
  });

  it('one training slot per server: claimed once, refused to another running training, freed from one that ended', async () => {
    const { repo } = world();
    expect(await repo.claimRunning(guildId, 't1')).toEqual({ claimed: true });
    expect(await repo.claimRunning(guildId, 't1')).toEqual({ claimed: false, holder: 'self' });
    await repo.create(runningTraining(guildId, 't1'));
    const refused = await repo.claimRunning(guildId, 't2');
    expect(refused).toMatchObject({ claimed: false, holder: 'other', running: { id: 't1' } });
    expect((await repo.running(guildId))?.id).toBe('t1');
    // Another server's slot is its own.
    expect(await repo.claimRunning('g2', 't3')).toEqual({ claimed: true });
    // t1 ended without freeing the slot (a crash between the two): the next claim frees it.
    await repo.update(ref, (current) => ({ ...current, status: 'succeeded' }));
    expect(await repo.running(guildId)).toBeUndefined();
    expect(await repo.isClaimed(guildId)).toBe(true);
    expect(await repo.claimRunning(guildId, 't2')).toEqual({ claimed: true });
  });

  it('release frees the slot only for the training holding it', async () => {
    const { repo } = world();
    await repo.claimRunning(guildId, 't2');
    await repo.release(ref);
    expect(await repo.isClaimed(guildId)).toBe(true);
    await repo.release({ guildId, trainingId: 't2' });
    expect(await repo.isClaimed(guildId)).toBe(false);
  });

  it('the followed and deadline lists lose a ref once, and their key goes when they empty', async () => {
    const { store, repo } = world();
    await repo.create(runningTraining(guildId, 't1'));
    await repo.create(runningTraining(guildId, 't2'));
    await repo.unfollow(ref);
    expect(await repo.followed()).toEqual([{ guildId, trainingId: 't2' }]);
    await repo.unfollow({ guildId, trainingId: 't2' });
    expect(await repo.followed()).toEqual([]);
    await repo.addDeadline(ref);
    await repo.addDeadline(ref);
    expect(await repo.deadlines()).toEqual([ref]);
    await repo.removeDeadline(ref);
    expect(await repo.deadlines()).toEqual([]);
    expect(await store.keys('trainings:')).toEqual([]);
  });

  it('the active checkpoint comes with its training and checkpoint, and not when either is gone', async () => {
    const { repo } = world();
    await repo.create(runningTraining(guildId, 't1', 750, 250, { checkpoints: [{ step: 250, createdAt: 1 }] }));
    await repo.setActiveCheckpoint(guildId, { trainingId: 't1', step: 250, chosenBy: 'vote' });
    expect(await repo.activeCheckpoint(guildId)).toEqual({ trainingId: 't1', step: 250, chosenBy: 'vote' });
    expect((await repo.activeWithRecord(guildId))?.checkpoint.step).toBe(250);
    await repo.setActiveCheckpoint(guildId, { trainingId: 't1', step: 500, chosenBy: 'trainer' });
    expect(await repo.activeWithRecord(guildId)).toBeUndefined();
  });

  it('a run’s spend is marked once, whatever the number of deliveries', async () => {
    const { repo } = world();
    expect(await repo.markRunSpent(ref, 'r1', 12)).toBe(true);
    expect(await repo.markRunSpent(ref, 'r1', 12)).toBe(false);
    expect(await repo.markRunSpent(ref, 'r2', 12)).toBe(true);
    expect(await repo.markRunSpent({ guildId, trainingId: 't2' }, 'r1', 12)).toBe(true);
  });

  it('message marks and served archives are read back by name', async () => {
    const { store, repo } = world();
    expect(await repo.postedMessageId(ref, 'final')).toBeUndefined();
    await store.set(repo.messageMarkKey(ref, 'final'), { by: 'boot', at: 1, messageId: 'm1' });
    expect(await repo.postedMessageId(ref, 'final')).toBe('m1');
    expect(await repo.postedMessageId(ref, 'preview:250')).toBeUndefined();
    await repo.serveArchive('tok', { ...ref, step: 250 });
    expect(await repo.servedArchive('tok')).toEqual({ ...ref, step: 250 });
    await repo.unserveArchive('tok');
    expect(await repo.servedArchive('tok')).toBeUndefined();
  });
});
