import type { Cluster } from '../cluster/cluster.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { UserError } from '../errors.js';
import type { BotEventBus } from '../events.js';
import { msg } from '../i18n/index.js';
import type { Logger } from '../log.js';
import { recordSpend, spentThisMonth } from '../money/budget.js';
import type { TaskRunner } from '../queue/tasks.js';
import type { Generator, Trainer } from '../services/types.js';
import type { Store } from '../store/store.js';
import { MessageEditor } from '../util/message-editor.js';
import { VotingCloser } from '../voting/closing.js';
import { votingPhase } from '../voting/window.js';
import type { KeptArchives } from './checkpoint-archives.js';
import { trainingItems, trainingZip } from './dataset-export.js';
import { TrainingControls } from './controls.js';
import { FollowLoop } from './follow-loop.js';
import { Follower } from './follower.js';
import { LiveTallies } from './live-tallies.js';
import { PreviewMaker } from './previews.js';
import { refKey, type TrainingDraft, type TrainingRecord, type TrainingRef } from './records.js';
import { claimRefused } from './refusals.js';
import type { TrainingRepository } from './repository.js';
import type { TrainingService } from './service.js';
import { RunTracker } from './run-tracker.js';
import { TrainingThread, type ThreadChannel } from './thread.js';
import { DEFAULT_TRAINING_TIMING, type TrainingTiming } from './timing.js';
import { newTrainingRecord } from './new-record.js';

export interface TrainingSupervisorOptions {
  repository: TrainingRepository;
  /** The dataset (the zip, the previews' reference drawings) and the month's spend. */
  store: Store;
  config: Config;
  clock: Clock;
  log: Logger;
  events: BotEventBus;
  /** The training's thread in the chat (src/training/discord-thread.ts). */
  channel: ThreadChannel;
  trainer: Trainer;
  /** Runs each training's follower in exactly one process (BullMQ when `REDIS_URL` is set). */
  tasks: TaskRunner;
  /** Who else is alive, and a way to wake a follower running in another process. */
  cluster: Cluster;
  /** The same generator as `/kmplz`: previews show what the class will get. */
  generator: Generator;
  /** kmplz's own copies of the checkpoints' archives (kept per its retention rule). */
  archives: KeptArchives;
  timing?: Partial<TrainingTiming>;
}

/**
 * Follows every training from Start to its last preview and its vote. It ties the parts: the
 * repository (what is stored), the run tracker (the runs at the service), the thread (Discord),
 * the follow loop (one training's passes) and the voting closer (the deadline sweep). Everything
 * is in the store, so `resume()` after a restart — even a SIGKILL — takes every unfinished
 * training up where it was. Each training is followed by one process at a time (a task of
 * `tasks`); another takes it over when that one stops.
 */
export class TrainingSupervisor implements TrainingService {
  readonly repository: TrainingRepository;
  private readonly followers = new Map<string, Follower>();
  private closed = false;
  private readonly runs: RunTracker;
  private readonly thread: TrainingThread;
  private readonly tallies: LiveTallies;
  private readonly voting: VotingCloser;
  private readonly loop: FollowLoop;
  private readonly controls: TrainingControls;
  private readonly stopListening: () => void;

  constructor(private readonly o: TrainingSupervisorOptions) {
    const timing = { ...DEFAULT_TRAINING_TIMING, ...o.timing };
    const { repository, store, config, clock, log, events, channel } = o;
    this.repository = repository;
    const editor = (intervalMs: number, what: string, changeStartsInterval = false) =>
      new MessageEditor({ intervalMs, now: () => clock.now(), onError: (error, key) => log.warn({ err: error, message: key }, `could not update ${what}`), changeStartsInterval });
    // A forced status edit (a preview posted, the end) counts toward the status message's interval too.
    this.thread = new TrainingThread({ repository, channel, clock, log, events, editor: editor(timing.statusEditIntervalMs, 'a training status', true) });
    this.tallies = new LiveTallies({ repository, channel, editor: editor(timing.tallyEditIntervalMs, 'a preview’s tally') });
    this.runs = new RunTracker({
      repository,
      trainer: o.trainer,
      clock,
      log,
      triggerWord: config.TRIGGER_WORD,
      datasetZip: async (guildId) => {
        const items = await trainingItems(store, config, guildId);
        return { zip: await trainingZip(config, items), images: items.length };
      },
      recordSpend: async (guildId, gpuSeconds) => void (await recordSpend(store, config, clock, guildId, gpuSeconds, 'training')),
      webhookUrl: (ref) => this.webhookUrl(ref),
      // New weights get kmplz’s own copy before Replicate deletes them; any change retries a failed download.
      onChanged: (ref) => void o.archives.sync(ref),
      deliveryIntervalMs: timing.statusEditIntervalMs,
    });
    this.controls = new TrainingControls({ repository, runs: this.runs, clock, log });
    this.voting = new VotingCloser({
      repository,
      clock,
      log,
      sweepMs: timing.deadlineSweepMs,
      refresh: (ref) => this.tallies.refresh(ref),
      announce: async (ref, record, chosen) => {
        if (record.threadId) await this.thread.post(ref, record.threadId, 'result', async () => ({ kind: 'result', record, chosen }));
        // The vote decided which archives stay (checkpoint-archives.ts: the chosen and the last).
        void o.archives.sync(ref);
      },
      // Told once the close is stored whole (the deadline off its list), not while announcing it.
      closed: (ref, chosen) => events.emit('training.voting-closed', { ...ref, ...(chosen ? { winner: chosen.step } : {}) }),
    });
    this.loop = new FollowLoop({
      repository,
      clock,
      log,
      events,
      runs: this.runs,
      thread: this.thread,
      tallies: this.tallies,
      voting: this.voting,
      previews: new PreviewMaker({ repository, store, config, clock, log, generator: o.generator }),
      poll: timing.poll,
      reconcileMs: timing.reconcileMs,
      usesWebhooks: this.usesWebhooks,
      budget: async (guildId) => (config.BUDGET_USD === undefined ? undefined : { spentUsd: (await spentThisMonth(store, clock, guildId)).usd, budgetUsd: config.BUDGET_USD }),
      syncArchives: (ref) => void o.archives.sync(ref),
    });
    o.tasks.register<{ ref: TrainingRef; resumed: boolean }>('training', ({ ref, resumed }, run) => this.runFollower(ref, resumed || run.takenOver, run.signal));
    this.stopListening = o.cluster.onSignal((signal) => {
      if (signal.type === 'wake-training') this.followers.get(signal.key)?.wake();
    });
  }

  /** Webhooks instead of polling: the service can reach the bot. */
  get usesWebhooks(): boolean {
    return Boolean(this.o.config.PUBLIC_URL && this.o.config.HTTP_PORT !== undefined);
  }

  /** Takes up every training a previous run of the bot left unfinished. */
  async resume(): Promise<number> {
    const refs = await this.repository.followed();
    for (const ref of refs) await this.follow(ref, { resumed: true });
    if (refs.length > 0) this.o.log.info({ trainings: refs.length }, 'took up unfinished trainings');
    // Deadlines that fell while the bot was down are processed now, the others when they fall.
    if (!this.closed) await this.voting.start();
    return refs.length;
  }

  /** After a vote: the previews of the training show the new tallies (throttled, see LiveTallies). */
  async showTallies(ref: TrainingRef): Promise<void> {
    try {
      await this.tallies.refresh(ref);
    } catch (error) {
      // The vote is stored; a tally that lags behind must not make it fail.
      this.o.log.warn({ err: error, ...ref }, 'could not update the tallies');
    }
  }

  /** Ends the vote of a training now (a trainer's Close or pick, a new training): see VotingCloser. */
  closeVoting(ref: TrainingRef): Promise<void> {
    return this.voting.close(ref);
  }

  /**
   * Starts a confirmed training: one per server at a time. Resolves once the thread is open
   * (so the reply can link it); the runs are created and followed in the background.
   */
  async begin(draft: TrainingDraft): Promise<TrainingRecord> {
    const { store, config, clock, trainer } = this.o;
    const repository = this.repository;
    const ref: TrainingRef = { guildId: draft.guildId, trainingId: draft.id };
    const claim = await repository.claimRunning(draft.guildId, draft.id);
    if (!claim.claimed) throw claimRefused(claim);
    const previous = await repository.last(draft.guildId);
    let record: TrainingRecord;
    try {
      const items = await trainingItems(store, config, draft.guildId);
      if (items.length === 0) throw new UserError('empty-dataset', msg('error.empty-dataset'));
      record = newTrainingRecord(draft, items, { trainer, config, now: clock.now() });
      if (previous && votingPhase(previous) === 'open') {
        // A new training ends the last one's vote: its result is announced in its own thread now,
        // rather than a day later over the new training's checkpoint. Closed before the pointer
        // moves: once it moves, /kmplz reads the stored choice, which only the close brings up
        // to the vote's leader (a close that fails after storing it, posting the result, still
        // leaves /kmplz right; the deadline sweep finishes it).
        await this.closeVoting({ guildId: previous.guildId, trainingId: previous.id }).catch((error: unknown) =>
          this.o.log.warn({ err: error, trainingId: previous.id }, 'could not close the last training’s vote yet; the deadline sweep goes on with it'),
        );
      }
      await repository.create(record);
    } catch (error) {
      await repository.release(ref);
      throw error;
    }
    this.o.log.info({ trainingId: ref.trainingId, guildId: ref.guildId, strategy: trainer.strategy, steps: draft.steps }, 'training started');
    this.o.events.emit('training.started', { ...ref, strategy: trainer.strategy, steps: draft.steps });
    try {
      record = (await this.thread.open(ref)) ?? record;
    } catch (error) {
      // The loop opens it on its next pass; the training itself is stored and followed.
      this.o.log.warn({ err: error, trainingId: ref.trainingId }, 'could not open the training thread yet');
    }
    await this.follow(ref, { resumed: false });
    return record;
  }

  /** A Replicate webhook for one of this server's trainings (already verified and deduplicated). */
  async onWebhook(ref: TrainingRef, body: unknown): Promise<void> {
    if (this.closed) return;
    if (await this.runs.onWebhook(ref, body)) await this.wakeOrFollow(ref);
  }

  /** A trainer's Cancel: every run of the running training stops; the GPU time that saves. */
  async cancel(guildId: string, trainingId: string, userId: string): Promise<{ savedGpuSeconds: number }> {
    const saved = await this.controls.cancel({ guildId, trainingId }, userId);
    await this.wakeOrFollow({ guildId, trainingId });
    return saved;
  }

  /** A trainer's Stop after `step`: the runs that would make later checkpoints are canceled. */
  async stopAfter(guildId: string, trainingId: string, step: number, userId: string): Promise<{ savedGpuSeconds: number; canceledSteps: number[] }> {
    const stopped = await this.controls.stopAfter({ guildId, trainingId }, step, userId);
    await this.wakeOrFollow({ guildId, trainingId });
    return stopped;
  }

  /**
   * Stops the deadline sweep, the tallies and the held status reports. The followers stop with their tasks (the app closes
   * the task runner first): the runs go on at the service, and another process or the next
   * start takes them up. Safe to call twice.
   */
  close(): void {
    this.closed = true;
    this.voting.stop();
    this.tallies.close();
    this.thread.close();
    this.stopListening();
  }

  /** `resumed`: taken up after a restart, so the runs are polled at once, webhooks or not. */
  private async follow(ref: TrainingRef, { resumed }: { resumed: boolean }): Promise<void> {
    if (this.closed) return;
    await this.o.tasks.start('training', refKey(ref), { ref, resumed });
  }

  /** The training's task: follows it here until it is done or the task is stopped. */
  private async runFollower(ref: TrainingRef, resumed: boolean, signal: AbortSignal): Promise<void> {
    const key = refKey(ref);
    const follower = new Follower();
    signal.addEventListener('abort', () => follower.abort.abort(signal.reason), { once: true });
    this.followers.set(key, follower);
    try {
      await this.loop.run(ref, follower, resumed);
    } catch (error) {
      this.o.log.error({ err: error, ...ref }, 'training follower stopped on an error');
    } finally {
      this.followers.delete(key);
      await this.thread.forget(ref).catch((error: unknown) => this.o.log.warn({ err: error, ...ref }, 'could not read the training to forget its status message'));
    }
  }

  /** Something changed: the follower looks now, in whichever process it runs (or starts, if none does). */
  private async wakeOrFollow(ref: TrainingRef): Promise<void> {
    this.followers.get(refKey(ref))?.wake();
    await this.o.cluster.publish({ type: 'wake-training', key: refKey(ref) }).catch((error: unknown) => this.o.log.warn({ err: error, ...ref }, 'could not wake the training’s follower'));
    await this.follow(ref, { resumed: true });
  }

  private webhookUrl(ref: TrainingRef): string | undefined {
    if (!this.usesWebhooks) return undefined;
    const url = new URL('/webhooks/replicate', `${this.o.config.PUBLIC_URL}/`);
    url.searchParams.set('guild', ref.guildId);
    url.searchParams.set('training', ref.trainingId);
    return url.toString();
  }
}
