import type { Store } from '../store/store.js';
import { keys } from '../store/keys.js';
import { addRef, listRefs, removeRef, removeRefsWhere } from '../store/ref-list.js';
import { refKey, type ActiveCheckpoint, type CheckpointRecord, type TrainingDraft, type TrainingRecord, type TrainingRef } from './records.js';

/** What `GET /checkpoints/<token>.tar` finds by its token. */
export interface ServedArchive extends TrainingRef {
  step: number;
}

/** How a claim of a server's one training slot went. */
export type RunningClaim =
  | { claimed: true }
  /** This very training holds it already (a second Start click). */
  | { claimed: false; holder: 'self' }
  /** Another training runs in the server. */
  | { claimed: false; holder: 'other'; running: TrainingRecord }
  /** Twice in a row someone else took the slot between our reads: a race with another Start. */
  | { claimed: false; holder: 'racing' };

/**
 * The one owner of the trainings' stored state: the records and every key beside them (the
 * server's running slot, the last training, the active checkpoint, drafts, the lists a restarted
 * bot reads, the marks that make a run's spend count once, the served archives' index). Nothing
 * else reads or writes those keys, so their layout can change in one place.
 *
 * Every `update` is a compare-and-swap of the record: its `fn` may run more than once and must
 * stay free of side effects.
 */
export interface TrainingRepository {
  load(ref: TrainingRef): Promise<TrainingRecord | undefined>;
  /** The record, or an error: for callers that follow a training that must exist. */
  mustLoad(ref: TrainingRef): Promise<TrainingRecord>;
  /** Compare-and-swap; throws when the record is gone. */
  update(ref: TrainingRef, fn: (current: TrainingRecord) => TrainingRecord): Promise<TrainingRecord>;
  /** Compare-and-swap that leaves a missing record missing (undefined then). */
  updateIfPresent(ref: TrainingRef, fn: (current: TrainingRecord) => TrainingRecord): Promise<TrainingRecord | undefined>;
  /** Stores a started training: the record, the server's last-training pointer, the followed list; its draft goes. */
  create(record: TrainingRecord): Promise<void>;
  /** The server's last training (the one `/vote`, `/checkpoints`, `/kmplz` speak of). */
  last(guildId: string): Promise<TrainingRecord | undefined>;

  /** Takes the server's one training slot for `trainingId`; a slot left by a training that ended is freed first. */
  claimRunning(guildId: string, trainingId: string): Promise<RunningClaim>;
  /** The record of the training holding the server's slot, when it still runs. */
  running(guildId: string): Promise<TrainingRecord | undefined>;
  /** Whether anything holds the slot (even a training about to free it). */
  isClaimed(guildId: string): Promise<boolean>;
  /** Frees the slot when `ref` holds it. */
  release(ref: TrainingRef): Promise<void>;

  /** Trainings some run of the bot has to follow to their end. */
  followed(): Promise<TrainingRef[]>;
  unfollow(ref: TrainingRef): Promise<void>;
  /** Trainings whose voting deadline is still to be processed. */
  deadlines(): Promise<TrainingRef[]>;
  addDeadline(ref: TrainingRef): Promise<void>;
  removeDeadline(ref: TrainingRef): Promise<void>;
  /** A server forgotten (src/privacy/forget.ts): its trainings leave the followed and deadline lists. */
  forgetGuild(guildId: string): Promise<void>;

  activeCheckpoint(guildId: string): Promise<ActiveCheckpoint | undefined>;
  setActiveCheckpoint(guildId: string, active: ActiveCheckpoint): Promise<void>;
  /** The active checkpoint with its training and checkpoint record; undefined when either is gone. */
  activeWithRecord(guildId: string): Promise<{ active: ActiveCheckpoint; training: TrainingRecord; checkpoint: CheckpointRecord } | undefined>;

  saveDraft(draft: TrainingDraft, ttlMs: number): Promise<void>;
  draft(guildId: string, trainingId: string): Promise<TrainingDraft | undefined>;
  deleteDraft(guildId: string, trainingId: string): Promise<void>;

  /** True the first time only: a run's billed GPU time is added to the month's spend under this mark. */
  markRunSpent(ref: TrainingRef, runId: string, gpuSeconds: number): Promise<boolean>;
  /** The key of the post-once mark of one of the training's messages (`what`: `status`, `preview:500`…). */
  messageMarkKey(ref: TrainingRef, what: string): string;
  /** The id of one of the training's messages, once posted. */
  postedMessageId(ref: TrainingRef, what: string): Promise<string | undefined>;

  servedArchive(token: string): Promise<ServedArchive | undefined>;
  serveArchive(token: string, served: ServedArchive): Promise<void>;
  unserveArchive(token: string): Promise<void>;
}

/** The repository over the bot's store (any backend: memory, SQLite, Redis, Postgres). */
export class StoreTrainingRepository implements TrainingRepository {
  constructor(private readonly store: Store) {}

  load(ref: TrainingRef): Promise<TrainingRecord | undefined> {
    return this.store.get<TrainingRecord>(keys.training(ref.guildId, ref.trainingId));
  }

  async mustLoad(ref: TrainingRef): Promise<TrainingRecord> {
    return (await this.load(ref)) ?? gone(ref);
  }

  async update(ref: TrainingRef, fn: (current: TrainingRecord) => TrainingRecord): Promise<TrainingRecord> {
    return (await this.updateIfPresent(ref, fn)) ?? gone(ref);
  }

  updateIfPresent(ref: TrainingRef, fn: (current: TrainingRecord) => TrainingRecord): Promise<TrainingRecord | undefined> {
    return this.store.update<TrainingRecord>(keys.training(ref.guildId, ref.trainingId), (current) => current && fn(current));
  }

  async create(record: TrainingRecord): Promise<void> {
    const ref = { guildId: record.guildId, trainingId: record.id };
    await this.store.set(keys.training(ref.guildId, ref.trainingId), record);
    await this.store.set(keys.lastTraining(ref.guildId), ref.trainingId);
    await addRef(this.store, keys.followed(), ref, refKey);
    await this.store.delete(keys.draft(ref.guildId, ref.trainingId));
  }

  async last(guildId: string): Promise<TrainingRecord | undefined> {
    const trainingId = await this.store.get<string>(keys.lastTraining(guildId));
    return trainingId ? this.load({ guildId, trainingId }) : undefined;
  }

  async claimRunning(guildId: string, trainingId: string): Promise<RunningClaim> {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (await this.store.setIfAbsent(keys.running(guildId), trainingId)) return { claimed: true };
      const current = await this.store.get<string>(keys.running(guildId));
      if (current === trainingId) return { claimed: false, holder: 'self' };
      const other = current ? await this.load({ guildId, trainingId: current }) : undefined;
      if (other?.status === 'running') return { claimed: false, holder: 'other', running: other };
      // The slot of a training that ended without freeing it: freed, and tried again.
      await this.store.update<string>(keys.running(guildId), (value) => (value === current ? undefined : value));
    }
    return { claimed: false, holder: 'racing' };
  }

  async running(guildId: string): Promise<TrainingRecord | undefined> {
    const trainingId = await this.store.get<string>(keys.running(guildId));
    const record = trainingId ? await this.load({ guildId, trainingId }) : undefined;
    return record?.status === 'running' ? record : undefined;
  }

  async isClaimed(guildId: string): Promise<boolean> {
    return (await this.store.get<string>(keys.running(guildId))) !== undefined;
  }

  async release(ref: TrainingRef): Promise<void> {
    await this.store.update<string>(keys.running(ref.guildId), (current) => (current === ref.trainingId ? undefined : current));
  }

  followed(): Promise<TrainingRef[]> {
    return listRefs(this.store, keys.followed());
  }

  unfollow(ref: TrainingRef): Promise<void> {
    return removeRef(this.store, keys.followed(), refKey(ref), refKey);
  }

  deadlines(): Promise<TrainingRef[]> {
    return listRefs(this.store, keys.votingDeadlines());
  }

  addDeadline(ref: TrainingRef): Promise<void> {
    return addRef(this.store, keys.votingDeadlines(), ref, refKey);
  }

  removeDeadline(ref: TrainingRef): Promise<void> {
    return removeRef(this.store, keys.votingDeadlines(), refKey(ref), refKey);
  }

  async forgetGuild(guildId: string): Promise<void> {
    const ofGuild = (ref: TrainingRef) => ref.guildId === guildId;
    await removeRefsWhere(this.store, keys.followed(), ofGuild);
    await removeRefsWhere(this.store, keys.votingDeadlines(), ofGuild);
  }

  activeCheckpoint(guildId: string): Promise<ActiveCheckpoint | undefined> {
    return this.store.get<ActiveCheckpoint>(keys.activeCheckpoint(guildId));
  }

  setActiveCheckpoint(guildId: string, active: ActiveCheckpoint): Promise<void> {
    return this.store.set<ActiveCheckpoint>(keys.activeCheckpoint(guildId), active);
  }

  async activeWithRecord(guildId: string): Promise<{ active: ActiveCheckpoint; training: TrainingRecord; checkpoint: CheckpointRecord } | undefined> {
    const active = await this.activeCheckpoint(guildId);
    if (!active) return undefined;
    const training = await this.load({ guildId, trainingId: active.trainingId });
    const checkpoint = training?.checkpoints.find((c) => c.step === active.step);
    return training && checkpoint ? { active, training, checkpoint } : undefined;
  }

  saveDraft(draft: TrainingDraft, ttlMs: number): Promise<void> {
    return this.store.set(keys.draft(draft.guildId, draft.id), draft, ttlMs);
  }

  draft(guildId: string, trainingId: string): Promise<TrainingDraft | undefined> {
    return this.store.get<TrainingDraft>(keys.draft(guildId, trainingId));
  }

  async deleteDraft(guildId: string, trainingId: string): Promise<void> {
    await this.store.delete(keys.draft(guildId, trainingId));
  }

  markRunSpent(ref: TrainingRef, runId: string, gpuSeconds: number): Promise<boolean> {
    return this.store.setIfAbsent(keys.runSpend(ref.guildId, ref.trainingId, runId), gpuSeconds);
  }

  messageMarkKey(ref: TrainingRef, what: string): string {
    return keys.message(ref.guildId, ref.trainingId, what);
  }

  async postedMessageId(ref: TrainingRef, what: string): Promise<string | undefined> {
    return (await this.store.get<{ messageId?: string }>(this.messageMarkKey(ref, what)))?.messageId;
  }

  servedArchive(token: string): Promise<ServedArchive | undefined> {
    return this.store.get<ServedArchive>(keys.archiveToken(token));
  }

  serveArchive(token: string, served: ServedArchive): Promise<void> {
    return this.store.set<ServedArchive>(keys.archiveToken(token), served);
  }

  async unserveArchive(token: string): Promise<void> {
    await this.store.delete(keys.archiveToken(token));
  }
}

function gone(ref: TrainingRef): never {
  throw new Error(`training ${ref.trainingId} of guild ${ref.guildId} is gone from the store`);
}
