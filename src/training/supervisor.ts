import { randomInt } from 'node:crypto';
import { ActionRowBuilder, AttachmentBuilder, ButtonBuilder, ButtonStyle, DiscordAPIError, Routes, type Client, type MessageCreateOptions } from 'discord.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { UserError } from '../errors.js';
import { msg, t } from '../i18n/index.js';
import { DEFAULT_TRAINING_SIZE } from '../images/preprocess.js';
import type { Logger } from '../log.js';
import { estimateGenerationSeconds, formatUsd, recordSpend, requireBudget, spentThisMonth } from '../money/budget.js';
import { ServiceError, type Generator, type Trainer, type TrainingSnapshot } from '../services/types.js';
import type { Cluster } from '../cluster/cluster.js';
import { isPermissionRefusal } from '../interactions/bot-permissions.js';
import type { TaskRunner } from '../queue/tasks.js';
import type { Store } from '../store/store.js';
import { blindLabels, checkpointName, describeReveal, isHidden, shownOrder } from '../voting/blind.js';
import { explainWinner, tally, type Winner } from '../voting/tally.js';
import { VotingCloser } from '../voting/closing.js';
import { activeFor, leaderOf, votingAtEnd, votingPhase } from '../voting/window.js';
import { liveLines, resultLines } from '../voting/window-text.js';
import type { CheckpointArchives } from './checkpoint-archives.js';
import { trainingItems, trainingZip, type TrainingItem } from './dataset-export.js';
import { estimateTraining, remainingRunSeconds, type TrainingEstimate, type TrainingPrices } from './plan.js';
import { usdPerSecond } from '../money/prices.js';
import { Follower } from './follower.js';
import { LiveTallies } from './live-tallies.js';
import { postOnce, type PostOnceDeps, type PostOnceRequest } from './post-once.js';
import { previewContent } from './preview-text.js';
import { mergeRun, runIndexOf, withRun } from './run-snapshots.js';
import { PREVIEW_SETTINGS, choosePreviewSamples, loadSavedPreview, makePreviewSheet, savePreview } from './preview.js';
import { loadLastTraining, type ActiveCheckpoint, type CheckpointRecord, type TrainingDraft, type TrainingRecord, type TrainingRef, type TrainingRunRecord } from './records.js';
import { cancelId, describeCost, describeSpend, finalComponents, gpuSecondsSoFar, isTerminalRun, renderStatus, stopId, voteId, votesButton, votesId } from './status.js';
import { keys } from '../store/keys.js';

export interface TrainingTiming {
  /** Bounded backoff between polls of running runs: back to `baseMs` whenever something moved. */
  poll: { baseMs: number; maxMs: number };
  /** With webhooks: how often runs are polled anyway, in case a delivery was lost for good. */
  reconcileMs: number;
  /** Minimum time between two edits of a status message (Discord allows about one per second per channel). */
  statusEditIntervalMs: number;
  /** Minimum time between two tally edits of one preview message: a burst of votes becomes a couple of edits. */
  tallyEditIntervalMs: number;
  /** How often due voting deadlines are looked for. */
  deadlineSweepMs: number;
}

const DEFAULT_TRAINING_TIMING: TrainingTiming = {
  poll: { baseMs: 2000, maxMs: 30_000 },
  reconcileMs: 5 * 60_000,
  statusEditIntervalMs: 5000,
  tallyEditIntervalMs: 3000,
  deadlineSweepMs: 15_000,
};

export interface TrainingSupervisorOptions {
  store: Store;
  config: Config;
  clock: Clock;
  log: Logger;
  client: Client;
  trainer: Trainer;
  /** Runs each training's follower in exactly one process (BullMQ when `REDIS_URL` is set). */
  tasks: TaskRunner;
  /** Who else is alive, and a way to wake a follower running in another process. */
  cluster: Cluster;
  /** The same generator as `/kmplz`: previews show what the class will get. */
  generator: Generator;
  /** kmplz's own copies of the checkpoints' archives (kept per its retention rule). */
  archives: CheckpointArchives;
  timing?: Partial<TrainingTiming>;
}

/** The estimate shown before Start and checked against the budget: every run, and a preview sheet per checkpoint. */
export function estimateFor(trainer: Trainer, config: Config, items: readonly TrainingItem[], steps: number, every: number): TrainingEstimate {
  return estimateTraining(trainer.plan(steps, every), {
    images: items.length,
    samples: choosePreviewSamples(items, config.TRIGGER_WORD, 0).length,
    prices: trainingPrices(config),
    preview: PREVIEW_SETTINGS,
    strategy: trainer.strategy,
  });
}

/** A training's runs bill at the trainer's price, its previews at the generator's. */
export function trainingPrices(config: Config): TrainingPrices {
  return { training: usdPerSecond(config, 'training'), preview: usdPerSecond(config, 'generation') };
}

const refKey = ({ guildId, trainingId }: TrainingRef) => `${guildId}/${trainingId}`;

/**
 * Discord refusals for missing permissions in a row before the supervisor stops posting for a
 * training. With the retries' backoff five span about half a minute: enough to ride out a
 * permission being edited, not to wait for an admin (they learn of it from `/checkpoints` and the
 * log), and few enough not to spin against a channel that stays closed (each is an invalid
 * request, and Discord bans IPs that make many).
 */
export const MAX_DISCORD_REFUSALS = 5;

/**
 * Follows every training from Start to its last preview: opens the thread, uploads the zip,
 * creates the runs, follows them (polls with bounded backoff, or webhooks when `PUBLIC_URL` and
 * `HTTP_PORT` are set), stores each checkpoint's weights, posts each checkpoint's preview
 * exactly once, edits the status message, and at the end opens the vote's window (or closes
 * it: src/voting/window.ts decides), whose deadline a sweep processes. Everything it knows is
 * in the store, so `resume()` after a restart — even a SIGKILL — takes every unfinished
 * training up where it was.
 *
 * Each training is followed by one process at a time (a task of `tasks`): with several processes
 * on one Redis, the one holding the task follows it, and another takes it over when that one
 * stops. Marks of runs that are no longer alive are recovered; a live one's are left to it.
 */
export class TrainingSupervisor {
  private readonly timing: TrainingTiming;
  private readonly followers = new Map<string, Follower>();
  private readonly lastStatus = new Map<string, { at: number; content: string }>();
  /** Per run: the last webhook snapshot stored, to skip deliveries that only move the bar. */
  private readonly lastDelivery = new Map<string, { at: number; status: string; weights: number }>();
  private closed = false;
  private readonly tallies: LiveTallies;
  private readonly voting: VotingCloser;
  private readonly stopListening: () => void;

  constructor(private readonly o: TrainingSupervisorOptions) {
    this.timing = { ...DEFAULT_TRAINING_TIMING, ...o.timing };
    this.tallies = new LiveTallies({ store: o.store, client: o.client, log: o.log, clock: o.clock, triggerWord: o.config.TRIGGER_WORD, intervalMs: this.timing.tallyEditIntervalMs });
    this.voting = new VotingCloser({
      store: o.store,
      clock: o.clock,
      log: o.log,
      sweepMs: this.timing.deadlineSweepMs,
      refresh: (ref) => this.tallies.refresh(ref),
      announce: async (ref, record, chosen) => {
        await this.announceResult(ref, record, chosen);
        // The vote decided which archives stay (checkpoint-archives.ts: the chosen and the last).
        void this.o.archives.sync(ref);
      },
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

  private get postDeps(): PostOnceDeps {
    return { store: this.o.store, client: this.o.client, clock: this.o.clock, log: this.o.log, cluster: this.o.cluster };
  }

  /** Takes up every training a previous run of the bot left unfinished. */
  async resume(): Promise<number> {
    const refs = (await this.o.store.get<TrainingRef[]>(keys.followed())) ?? [];
    for (const ref of refs) await this.follow(ref, { resumed: true });
    if (refs.length > 0) this.o.log.info({ trainings: refs.length }, 'took up unfinished trainings');
    // Deadlines that fell while the bot was down are processed now, the others when they fall.
    if (!this.closed) await this.voting.start();
    return refs.length;
  }

  /** After a vote: the previews of the training show the new tallies (coalesced, see LiveTallies). */
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

  /** The closed vote's result in the training's thread, once. */
  private async announceResult(ref: TrainingRef, record: TrainingRecord, chosen: Winner | undefined): Promise<void> {
    if (!record.threadId) return;
    const content = resultLines(record, chosen).join('\n');
    await this.postInThread(ref, record.threadId, 'result', votesId(ref.trainingId, 'result'), async () => ({
      content,
      components: [new ActionRowBuilder<ButtonBuilder>().addComponents(votesButton(ref.trainingId, 'result', record.locale ?? 'en'))],
    }));
  }

  /**
   * Starts a confirmed training: one per server at a time. Resolves once the thread is open
   * (so the reply can link it); the runs are created and followed in the background.
   */
  async begin(draft: TrainingDraft): Promise<TrainingRecord> {
    const { store, config, clock, trainer } = this.o;
    const ref: TrainingRef = { guildId: draft.guildId, trainingId: draft.id };
    await this.claimRunning(draft.guildId, draft.id);
    const previous = await loadLastTraining(store, draft.guildId);
    let record: TrainingRecord;
    try {
      const items = await trainingItems(store, config, draft.guildId);
      if (items.length === 0) throw new UserError('empty-dataset', msg('error.empty-dataset'));
      // Below 2^31: the trainer's seed is a 32-bit integer.
      const seed = randomInt(1, 2 ** 31 - 1);
      record = {
        id: draft.id,
        guildId: draft.guildId,
        channelId: draft.channelId,
        startedBy: draft.startedBy,
        status: 'running',
        steps: draft.steps,
        checkpointEvery: draft.checkpointEvery,
        checkpoints: [],
        votes: {},
        createdAt: clock.now(),
        strategy: trainer.strategy,
        seed,
        imageCount: items.length,
        runs: trainer.plan(draft.steps, draft.checkpointEvery).map((run) => ({ ...run, status: 'pending' })),
        ...(draft.blind ? { blind: blindLabels(trainer.plan(draft.steps, draft.checkpointEvery).flatMap((run) => run.checkpointSteps)) } : {}),
        ...(draft.voteMinutes ? { voteMinutes: draft.voteMinutes } : {}),
        samples: choosePreviewSamples(items, config.TRIGGER_WORD, seed),
        estimate: estimateFor(trainer, config, items, draft.steps, draft.checkpointEvery),
        uploadLimit: draft.uploadLimit,
        previewGpuSeconds: 0,
        ...(draft.locale ? { locale: draft.locale } : {}),
      };
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
      await store.set(keys.training(ref.guildId, ref.trainingId), record);
      await store.set(keys.lastTraining(ref.guildId), ref.trainingId);
      await store.update<TrainingRef[]>(keys.followed(), (refs = []) => [...refs.filter((r) => refKey(r) !== refKey(ref)), ref]);
      await store.delete(keys.draft(ref.guildId, ref.trainingId));
    } catch (error) {
      await store.update<string>(keys.running(draft.guildId), (current) => (current === draft.id ? undefined : current));
      throw error;
    }
    this.o.log.info({ trainingId: ref.trainingId, guildId: ref.guildId, strategy: trainer.strategy, steps: draft.steps }, 'training started');
    try {
      record = (await this.toDiscord(ref, 'thread', () => this.openThread(ref))) ?? record;
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
    const snapshot = this.o.trainer.fromWebhook(body);
    if (!snapshot) return;
    // `logs` deliveries come every half second per run and mostly move the bar: those are
    // stored at the status message's pace. A new status or new weights always go through.
    const now = this.o.clock.now();
    const seen = this.lastDelivery.get(snapshot.id);
    if (seen && seen.status === snapshot.status && seen.weights === snapshot.weights.length && now - seen.at < this.timing.statusEditIntervalMs) return;
    if (snapshot.status === 'starting' || snapshot.status === 'processing') this.lastDelivery.set(snapshot.id, { at: now, status: snapshot.status, weights: snapshot.weights.length });
    else this.lastDelivery.delete(snapshot.id);
    const { record, changed } = await this.apply(ref, snapshot);
    if (record && changed) await this.wakeOrFollow(ref);
  }

  /** Cancels every run of a running training; returns the GPU time that saves. */
  async cancel(guildId: string, trainingId: string, userId: string): Promise<{ savedGpuSeconds: number }> {
    const ref = { guildId, trainingId };
    await this.requireRunning(ref);
    const now = this.o.clock.now();
    let saved = 0;
    let won = false;
    const updated = await this.o.store.update<TrainingRecord>(keys.training(guildId, trainingId), (current) => {
      won = current?.status === 'running';
      if (!current || !won) return current;
      saved = this.savedBy(current, () => true, now);
      return { ...current, status: 'canceled', canceled: { by: userId, savedGpuSeconds: saved }, finishedAt: now };
    });
    if (!won) throw notRunning(updated);
    this.o.log.info({ trainingId, userId, savedGpuSeconds: saved }, 'training canceled');
    await this.cancelRuns(ref, () => true);
    await this.wakeOrFollow(ref);
    return { savedGpuSeconds: saved };
  }

  /**
   * Keeps the checkpoints up to `step` and cancels the runs that would make later ones (the
   * class is happy with step 500). Returns the GPU time that saves and the runs canceled.
   */
  async stopAfter(guildId: string, trainingId: string, step: number, userId: string): Promise<{ savedGpuSeconds: number; canceledSteps: number[] }> {
    const ref = { guildId, trainingId };
    const record = await this.requireRunning(ref);
    if (!record.checkpoints.some((c) => c.step === step)) throw new UserError('unknown-checkpoint', msg('error.unknown-checkpoint.yet', { step }));
    if (record.stopAfter) throw new UserError('already-stopped', msg('error.already-stopped', { step: record.stopAfter.step }));
    const doomed = (run: TrainingRunRecord) => !isTerminalRun(run) && run.steps > step;
    const canceledSteps = (record.runs ?? []).filter(doomed).map((run) => run.steps);
    if (canceledSteps.length === 0) throw new UserError('nothing-to-stop', msg('error.nothing-to-stop', { step }));
    const now = this.o.clock.now();
    let saved = 0;
    let won = false;
    const updated = await this.o.store.update<TrainingRecord>(keys.training(guildId, trainingId), (current) => {
      won = current?.status === 'running' && !current.stopAfter;
      if (!current || !won) return current;
      saved = this.savedBy(current, doomed, now);
      return { ...current, stopAfter: { step, by: userId, savedGpuSeconds: saved } };
    });
    if (!won) {
      if (updated?.status === 'running' && updated.stopAfter) throw new UserError('already-stopped', msg('error.already-stopped', { step: updated.stopAfter.step }));
      throw notRunning(updated);
    }
    this.o.log.info({ trainingId, step, userId, savedGpuSeconds: saved }, 'training stopped after a checkpoint');
    await this.cancelRuns(ref, doomed);
    await this.wakeOrFollow(ref);
    return { savedGpuSeconds: saved, canceledSteps };
  }

  /**
   * Stops the deadline sweep and the tallies. The followers stop with their tasks (the app closes
   * the task runner first): the runs go on at the service, and another process or the next
   * start takes them up. Safe to call twice.
   */
  close(): void {
    this.closed = true;
    this.voting.stop();
    this.tallies.close();
    this.stopListening();
  }

  // ---- the loop ------------------------------------------------------------------------------

  /** `resumed`: taken up after a restart, so the runs are polled at once, webhooks or not (what happened meanwhile is unknown). */
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
      await this.loop(ref, follower, resumed);
    } catch (error) {
      this.o.log.error({ err: error, ...ref }, 'training follower stopped on an error');
    } finally {
      this.followers.delete(key);
      this.lastStatus.delete(key);
    }
  }

  /** Something changed: the follower looks now, in whichever process it runs (or starts, if none does). */
  private async wakeOrFollow(ref: TrainingRef): Promise<void> {
    this.followers.get(refKey(ref))?.wake();
    await this.o.cluster.publish({ type: 'wake-training', key: refKey(ref) }).catch((error: unknown) => this.o.log.warn({ err: error, ...ref }, 'could not wake the training’s follower'));
    await this.follow(ref, { resumed: true });
  }

  private async loop(ref: TrainingRef, follower: Follower, resumed: boolean): Promise<void> {
    const { signal } = follower.abort;
    const log = this.o.log.child({ trainingId: ref.trainingId, guildId: ref.guildId });
    let delay = this.timing.poll.baseMs;
    let lastPoll = resumed ? -Infinity : this.o.clock.now();
    while (!signal.aborted) {
      try {
        const record = await this.load(ref);
        if (!record) {
          await this.unfollow(ref);
          return;
        }
        if (record.status !== 'running') {
          await this.settle(ref, signal);
          return;
        }
        await this.prepare(ref);
        let changed = false;
        // Polled on every pass without webhooks; with them, after a restart (to catch up) and
        // then only now and then, in case a delivery was lost for good.
        if (!this.usesWebhooks || this.o.clock.now() - lastPoll >= this.timing.reconcileMs) {
          changed = await this.pollRuns(ref);
          lastPoll = this.o.clock.now();
        }
        await this.postPreviews(ref, signal);
        if (await this.finishIfDone(ref)) continue;
        await this.refreshStatus(ref, false);
        delay = changed ? this.timing.poll.baseMs : Math.min(this.timing.poll.maxMs, Math.round(delay * 1.5));
        await follower.sleep(this.usesWebhooks ? Math.max(0, this.timing.reconcileMs - (this.o.clock.now() - lastPoll)) : delay);
      } catch (error) {
        if (signal.aborted) return;
        log.warn({ err: error, retryInMs: delay }, 'training follower hit an error; trying again');
        delay = Math.min(this.timing.poll.maxMs, Math.round(delay * 1.5));
        await follower.sleep(delay);
      }
    }
  }

  /** Thread, zip and runs: each step done once, whatever happened before a restart. */
  private async prepare(ref: TrainingRef): Promise<void> {
    await this.toDiscord(ref, 'thread', () => this.openThread(ref));
    try {
      await this.createRuns(ref);
    } catch (error) {
      // A refusal (no such destination, an input the trainer rejects, a dataset that cannot be
      // exported) will not pass by retrying: the training fails with the reason.
      if (error instanceof UserError || (error instanceof ServiceError && error.failure === 'failed')) {
        const locale = (await this.load(ref))?.locale ?? 'en';
        await this.fail(ref, error instanceof UserError ? error.render(locale) : t(locale, 'training.refused', { detail: error.message }));
        return;
      }
      throw error;
    }
  }

  private async openThread(ref: TrainingRef): Promise<TrainingRecord> {
    const { config } = this.o;
    let record = await this.mustLoad(ref);
    const locale = record.locale ?? 'en';
    if (!record.threadId) {
      const announcement = await postOnce(this.postDeps, {
        markKey: keys.message(ref.guildId, ref.trainingId, 'announcement'),
        channelId: record.channelId,
        tag: votesId(ref.trainingId, 'announcement'),
        build: async () => ({
          content: [
            t(locale, 'training.announcement', { user: record.startedBy, trigger: config.TRIGGER_WORD, steps: record.steps, every: record.checkpointEvery }),
            ...((record.strategy ?? 'ladder') === 'ladder' && (record.runs?.length ?? 0) > 1 ? [t(locale, 'training.announcement.ladder')] : []),
          ].join('\n'),
          components: [new ActionRowBuilder<ButtonBuilder>().addComponents(votesButton(ref.trainingId, 'announcement', locale))],
        }),
      });
      if (!announcement) return record;
      const threadId = await this.startThread(record.channelId, announcement.messageId, t(locale, 'training.thread-name', { trigger: config.TRIGGER_WORD, steps: record.steps }));
      record = await this.update(ref, (current) => ({ ...current, announcementId: announcement.messageId, threadId }));
    }
    if (!record.statusMessageId && record.threadId) {
      const current = record;
      const status = await postOnce(this.postDeps, {
        markKey: keys.message(ref.guildId, ref.trainingId, 'status'),
        channelId: record.threadId,
        tag: cancelId(ref.trainingId),
        build: async () => this.statusPayload(current),
      });
      if (status) record = await this.update(ref, (latest) => ({ ...latest, statusMessageId: status.messageId }));
    }
    return record;
  }

  /** A public thread on the announcement; a thread started from a message has the message's id. */
  private async startThread(channelId: string, messageId: string, name: string): Promise<string> {
    try {
      const thread = (await this.o.client.rest.post(Routes.threads(channelId, messageId), { body: { name: name.slice(0, 100), auto_archive_duration: 10080 } })) as { id: string };
      return thread.id;
    } catch (error) {
      // 160004: the thread exists already (made before a restart).
      if (error instanceof DiscordAPIError && error.code === 160004) return messageId;
      throw error;
    }
  }

  private async createRuns(ref: TrainingRef): Promise<void> {
    const { trainer, config, clock } = this.o;
    let record = await this.mustLoad(ref);
    if (record.status !== 'running') return;
    if (!record.dataset) {
      const items = await trainingItems(this.o.store, config, ref.guildId);
      const uploaded = await trainer.uploadDataset(await trainingZip(config, items), `kmplz-${ref.trainingId}.zip`);
      record = await this.update(ref, (current) => (current.dataset ? current : { ...current, dataset: uploaded, imageCount: items.length }));
      if (record.dataset?.fileId !== uploaded.fileId) await trainer.deleteDataset(uploaded.fileId);
    }
    const dataset = record.dataset!;
    for (let index = 0; index < (record.runs ?? []).length; index++) {
      record = await this.mustLoad(ref);
      const run = record.runs![index]!;
      if (record.status !== 'running' || (record.stopAfter && run.steps > record.stopAfter.step)) return;
      if (run.id || run.status !== 'pending') continue;
      if (run.createRequestedAt !== undefined) {
        // A create went out before a restart and its answer was lost: the run may exist.
        const found = await trainer.find({ datasetUrl: dataset.url, steps: run.steps }, run.createRequestedAt);
        if (found) {
          await this.apply(ref, found, index);
          continue;
        }
      }
      const requestedAt = clock.now();
      await this.update(ref, (current) => withRun(current, index, (r) => ({ ...r, createRequestedAt: r.createRequestedAt ?? requestedAt })));
      const created = await trainer.start({
        datasetUrl: dataset.url,
        triggerWord: config.TRIGGER_WORD,
        run: { steps: run.steps, checkpointSteps: run.checkpointSteps },
        seed: record.seed!,
        // Every drawing was cropped to this square when it came in (src/images/preprocess.ts).
        resolution: DEFAULT_TRAINING_SIZE,
        webhook: this.webhookUrl(ref),
      });
      this.o.log.info({ trainingId: ref.trainingId, runId: created.id, steps: run.steps }, 'training run created');
      const { record: after } = await this.apply(ref, created, index);
      // Canceled or stopped while the create was on its way: this run is not wanted any more.
      // (The record may already call it canceled, so it is canceled at the service directly.)
      if (after && (after.status !== 'running' || (after.stopAfter && run.steps > after.stopAfter.step))) {
        await this.apply(ref, await trainer.cancel(created.id));
      }
    }
  }

  private webhookUrl(ref: TrainingRef): string | undefined {
    if (!this.usesWebhooks) return undefined;
    const url = new URL('/webhooks/replicate', `${this.o.config.PUBLIC_URL}/`);
    url.searchParams.set('guild', ref.guildId);
    url.searchParams.set('training', ref.trainingId);
    return url.toString();
  }

  /** Polls every run still going; true when any of them moved. */
  private async pollRuns(ref: TrainingRef): Promise<boolean> {
    const record = await this.mustLoad(ref);
    let changed = false;
    for (const run of record.runs ?? []) {
      if (!run.id || isTerminalRun(run)) continue;
      const snapshot = await this.o.trainer.get(run.id);
      changed = (await this.apply(ref, snapshot)).changed || changed;
    }
    return changed;
  }

  /**
   * Merges what the service said about a run into the record: status and progress only move
   * forward (a late webhook or an old poll cannot undo a newer state), new weights become
   * checkpoints. A run's billed GPU time is added to the month's spend once, under a mark.
   */
  private async apply(ref: TrainingRef, snapshot: TrainingSnapshot, index?: number): Promise<{ record: TrainingRecord | undefined; changed: boolean }> {
    const now = this.o.clock.now();
    let changed = false;
    const record = await this.o.store.update<TrainingRecord>(keys.training(ref.guildId, ref.trainingId), (current) => {
      changed = false;
      if (!current?.runs) return current;
      const at = index ?? runIndexOf(current, snapshot);
      const run = current.runs[at];
      if (!run) return current;
      const merged = mergeRun(run, snapshot, now);
      const checkpoints = [...current.checkpoints];
      snapshot.weights.forEach((weights, k) => {
        const step = run.checkpointSteps[k];
        if (step === undefined || checkpoints.some((c) => c.step === step)) return;
        checkpoints.push({ step, weightsUrl: weights.url, ...(weights.version ? { version: weights.version } : {}), createdAt: now });
      });
      changed = checkpoints.length !== current.checkpoints.length || JSON.stringify(merged) !== JSON.stringify(run);
      if (!changed) return current;
      return { ...current, runs: current.runs.map((r, i) => (i === at ? merged : r)), checkpoints: checkpoints.sort((a, b) => a.step - b.step) };
    });
    // New weights get kmplz’s own copy before Replicate deletes them; any change retries a failed download. In the background: a webhook is answered at once.
    if (changed) void this.o.archives.sync(ref);
    if (snapshot.gpuSeconds !== undefined && record?.runs?.some((run) => run.id === snapshot.id)) {
      if (await this.o.store.setIfAbsent(keys.runSpend(ref.guildId, ref.trainingId, snapshot.id), snapshot.gpuSeconds)) {
        await recordSpend(this.o.store, this.o.config, this.o.clock, ref.guildId, snapshot.gpuSeconds, 'training');
      }
    }
    return { record, changed };
  }

  /** Posts the preview of every checkpoint that has none yet, in step order, each exactly once. */
  private async postPreviews(ref: TrainingRef, signal: AbortSignal): Promise<void> {
    const first = await this.mustLoad(ref);
    // Blind: posted together once every run has ended, by letter, so neither the order nor the
    // time a preview comes in tells its step.
    if (isHidden(first) && !(first.runs ?? []).every(isTerminalRun)) return;
    for (const step of shownOrder(first, first.checkpoints.map((c) => c.step))) {
      const record = await this.mustLoad(ref);
      const checkpoint = record.checkpoints.find((c) => c.step === step);
      if (signal.aborted || record.status !== 'running' || !record.threadId) return;
      if (!checkpoint || checkpoint.previewUrl) continue;
      const posted = await this.postInThread(ref, record.threadId, `preview:${step}`, voteId(ref.trainingId, step), () => this.previewMessage(ref, record, checkpoint, signal));
      if (!posted) continue;
      if (posted.posted) this.o.log.info({ trainingId: ref.trainingId, step, messageId: posted.messageId }, 'checkpoint preview posted');
      await this.update(ref, (current) => ({ ...current, checkpoints: current.checkpoints.map((c) => (c.step === step ? { ...c, previewUrl: posted.url } : c)) }));
      await this.refreshStatus(ref, true);
    }
  }

  private async previewMessage(ref: TrainingRef, record: TrainingRecord, checkpoint: CheckpointRecord, signal: AbortSignal): Promise<MessageCreateOptions> {
    const { config, store, clock } = this.o;
    let sheet = await loadSavedPreview(config, record, checkpoint.step);
    let refused: string | undefined;
    if (!sheet) {
      const estimate = (record.samples?.length ?? 0) * estimateGenerationSeconds(PREVIEW_SETTINGS.steps, PREVIEW_SETTINGS.width, PREVIEW_SETTINGS.height) * usdPerSecond(config, 'generation');
      try {
        await requireBudget(store, config, clock, ref.guildId, estimate);
      } catch (error) {
        if (!(error instanceof UserError)) throw error;
        refused = error.render(record.locale ?? 'en');
      }
      if (!refused) {
        sheet = await makePreviewSheet({ generator: this.o.generator, store, config, log: this.o.log }, record, checkpoint, {
          signal,
          onSpend: (gpuSeconds) => this.addPreviewSpend(ref, gpuSeconds),
        });
        await savePreview(config, record, checkpoint.step, sheet);
      }
    }
    const later = (record.runs ?? []).some((run) => !isTerminalRun(run) && run.checkpointSteps.some((step) => step > checkpoint.step));
    const hidden = isHidden(record);
    const locale = record.locale ?? 'en';
    const name = checkpointName(record, checkpoint.step, locale);
    const buttons = [new ButtonBuilder().setCustomId(voteId(ref.trainingId, checkpoint.step)).setEmoji('🗳️').setLabel(t(locale, 'preview.button.vote', { name })).setStyle(ButtonStyle.Primary)];
    if (later && !record.stopAfter && !hidden) {
      buttons.push(new ButtonBuilder().setCustomId(stopId(ref.trainingId, checkpoint.step)).setLabel(t(locale, 'preview.button.stop')).setStyle(ButtonStyle.Secondary));
    }
    const notes: string[] = [];
    if (sheet?.notes.length) notes.push(t(locale, 'preview.not-drawn', { notes: sheet.notes.join('; ') }));
    if (refused) notes.push(t(locale, 'preview.no-pictures', { reason: refused }));
    return {
      content: previewContent(record, checkpoint.step, config.TRIGGER_WORD, notes),
      files: sheet ? [new AttachmentBuilder(sheet.image.data, { name: sheet.image.filename })] : [],
      components: [new ActionRowBuilder<ButtonBuilder>().addComponents(buttons)],
    };
  }

  private async addPreviewSpend(ref: TrainingRef, gpuSeconds: number): Promise<void> {
    if (!(gpuSeconds > 0)) return;
    await recordSpend(this.o.store, this.o.config, this.o.clock, ref.guildId, gpuSeconds, 'generation');
    await this.update(ref, (current) => ({ ...current, previewGpuSeconds: (current.previewGpuSeconds ?? 0) + gpuSeconds }));
  }

  /** Every run ended and every checkpoint posted: the training is done. */
  private async finishIfDone(ref: TrainingRef): Promise<boolean> {
    const record = await this.mustLoad(ref);
    const runs = record.runs ?? [];
    // Previews Discord will not take any more do not hold the end up: the checkpoints are stored.
    const previewsPending = record.discordRefusals?.gaveUpAt === undefined && record.checkpoints.some((c) => !c.previewUrl);
    if (record.status !== 'running' || !runs.every(isTerminalRun) || previewsPending) return false;
    const now = this.o.clock.now();
    const noCheckpoint = t(record.locale ?? 'en', record.strategy === 'streaming' ? 'training.no-checkpoint-made.streaming' : 'training.no-checkpoint-made');
    const failure = record.checkpoints.length === 0 ? (runs.find((run) => run.error)?.error ?? noCheckpoint) : undefined;
    await this.o.store.update<TrainingRecord>(keys.training(ref.guildId, ref.trainingId), (current) =>
      current?.status === 'running' ? { ...current, status: failure ? 'failed' : 'succeeded', finishedAt: now, ...(failure ? { failure } : {}) } : current,
    );
    return true;
  }

  private async fail(ref: TrainingRef, failure: string): Promise<void> {
    const now = this.o.clock.now();
    this.o.log.warn({ ...ref, failure }, 'training failed');
    await this.o.store.update<TrainingRecord>(keys.training(ref.guildId, ref.trainingId), (current) =>
      current?.status === 'running' ? { ...current, status: 'failed', failure, finishedAt: now } : current,
    );
  }

  /**
   * The end of a training, whichever way it ended: runs still going are canceled and followed
   * until they stop (their GPU time counts), the winner becomes the active checkpoint, the
   * thread hears the outcome, and the training is no longer followed.
   */
  private async settle(ref: TrainingRef, signal: AbortSignal): Promise<void> {
    const { store, trainer } = this.o;
    await this.cancelRuns(ref, () => true);
    for (let attempt = 0; attempt < 10 && !signal.aborted; attempt++) {
      const record = await this.mustLoad(ref);
      const unsettled = (record.runs ?? []).filter((run) => run.id && (!isTerminalRun(run) || (run.gpuSeconds === undefined && run.startedAt !== undefined)));
      if (unsettled.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, Math.min(this.timing.poll.maxMs, this.timing.poll.baseMs * 2 ** attempt)));
      for (const run of unsettled) await this.apply(ref, await trainer.get(run.id!));
    }
    if (signal.aborted) return;
    let record = await this.mustLoad(ref);
    const now = this.o.clock.now();
    const end = votingAtEnd(record, now);
    // The winner so far becomes active — the last word where the vote stays open: `/kmplz`
    // follows the leader then (src/voting/window.ts), except while a blind vote hides the steps.
    const chosen = record.status === 'succeeded' ? leaderOf(record) : undefined;
    if (chosen && !(end.do === 'open' && isHidden(record))) await store.set<ActiveCheckpoint>(keys.activeCheckpoint(ref.guildId), activeFor(record, chosen));
    if (end.do === 'open') {
      // The vote goes on until the deadline, or a trainer's Close: the sweep announces the result.
      record = await this.voting.open(ref, end.closesAt);
    } else if (end.do === 'close') {
      // A trainer picked, or a blind vote ends with a failed training: closed, steps revealed.
      record = await this.update(ref, (current) => (current.votingClosedAt === undefined ? { ...current, votingClosedAt: now } : current));
      await this.tallies.refresh(ref);
    }
    await this.refreshStatus(ref, true);
    if (record.threadId) {
      const final = await this.finalMessage(record, chosen);
      await this.postInThread(ref, record.threadId, 'final', votesId(ref.trainingId, 'final'), async () => final);
    }
    record = await this.mustLoad(ref);
    if (record.dataset) await trainer.deleteDataset(record.dataset.fileId);
    await store.update<string>(keys.running(ref.guildId), (current) => (current === ref.trainingId ? undefined : current));
    await this.unfollow(ref);
    this.o.log.info({ ...ref, status: record.status, winner: chosen?.step }, 'training settled');
    void this.o.archives.sync(ref);
  }

  private async finalMessage(record: TrainingRecord, chosen: Winner | undefined): Promise<MessageCreateOptions> {
    const { config, clock, store } = this.o;
    const prices = trainingPrices(config);
    const price = prices.training;
    const locale = record.locale ?? 'en';
    const estimate = record.estimate ? ` ${t(locale, 'common.estimated', { usd: formatUsd(record.estimate.usd) })}` : '';
    const cost = t(locale, 'training.cost', { cost: describeSpend(gpuSecondsSoFar(record, clock.now()), prices, locale), estimate });
    const noReason = t(locale, 'common.no-reason');
    const lines: string[] = [];
    if (record.status === 'succeeded') {
      if (votingPhase(record) === 'open') {
        lines.push(t(locale, 'training.finished'), ...liveLines(record));
      } else {
        const counts = tally(record.votes, record.checkpoints.map((c) => c.step));
        lines.push(chosen ? t(locale, 'training.finished.winner', { step: chosen.step, explanation: explainWinner(locale, chosen, counts) }) : t(locale, 'training.finished'));
      }
      if (record.blind && !isHidden(record)) lines.push(t(locale, 'training.revealed', { reveal: describeReveal(record, record.checkpoints.map((c) => c.step), locale) }));
      if (record.stopAfter) {
        lines.push(t(locale, 'training.finished.stopped', { step: record.stopAfter.step, user: record.stopAfter.by, cost: describeCost(record.stopAfter.savedGpuSeconds, price, locale) }));
      }
      const failed = (record.runs ?? []).filter((run) => run.status === 'failed');
      const described = failed.map((run) => t(locale, 'training.finished.failed-run', { steps: run.steps, error: (run.error ?? noReason).slice(0, 150) }));
      if (failed.length) lines.push(t(locale, 'training.finished.failed-runs', { runs: described.join('; ') }));
    } else if (record.status === 'canceled') {
      lines.push(t(locale, 'training.canceled', { user: record.canceled?.by ?? record.startedBy, cost: describeCost(record.canceled?.savedGpuSeconds ?? 0, price, locale) }));
    } else {
      lines.push(t(locale, 'training.failed', { failure: (record.failure ?? noReason).slice(0, 500) }));
    }
    lines.push(cost);
    if (config.BUDGET_USD !== undefined) {
      lines.push(t(locale, 'training.budget', { spent: formatUsd((await spentThisMonth(store, clock, record.guildId)).usd), budget: formatUsd(config.BUDGET_USD) }));
    }
    return { content: lines.join('\n'), components: finalComponents(record) };
  }

  /** Cancels the runs `which` selects: created ones at the service, pending ones in the record. */
  private async cancelRuns(ref: TrainingRef, which: (run: TrainingRunRecord) => boolean): Promise<void> {
    const record = await this.load(ref);
    for (const [index, run] of (record?.runs ?? []).entries()) {
      if (isTerminalRun(run) || !which(run)) continue;
      if (!run.id) {
        await this.update(ref, (current) => withRun(current, index, (r) => (r.id ? r : { ...r, status: 'canceled' })));
        continue;
      }
      try {
        await this.apply(ref, await this.o.trainer.cancel(run.id));
      } catch (error) {
        // The settle loop cancels what is still going once more.
        this.o.log.warn({ err: error, runId: run.id }, 'could not cancel a training run');
      }
    }
  }

  /** GPU time the runs `which` selects would still have used. */
  private savedBy(record: TrainingRecord, which: (run: TrainingRunRecord) => boolean, now: number): number {
    return (record.runs ?? []).filter((run) => !isTerminalRun(run) && which(run)).reduce((sum, run) => sum + remainingRunSeconds(run, record.imageCount ?? 0, now, record.strategy ?? 'ladder'), 0);
  }

  private statusPayload(record: TrainingRecord) {
    return renderStatus(record, { now: this.o.clock.now(), triggerWord: this.o.config.TRIGGER_WORD, prices: trainingPrices(this.o.config) });
  }

  /** Edits the status message: at most once per interval unless `force`, and never with the same text. */
  private async refreshStatus(ref: TrainingRef, force: boolean): Promise<void> {
    const record = await this.load(ref);
    if (!record?.threadId || !record.statusMessageId) return;
    const key = refKey(ref);
    const now = this.o.clock.now();
    const last = this.lastStatus.get(key);
    if (!force && last && now - last.at < this.timing.statusEditIntervalMs) return;
    const payload = this.statusPayload(record);
    if (last?.content === payload.content && !force) return;
    this.lastStatus.set(key, { at: now, content: payload.content });
    const { threadId, statusMessageId } = record;
    try {
      await this.toDiscord(ref, 'status', async () => {
        const channel = await this.o.client.channels.fetch(threadId);
        if (!channel?.isTextBased()) return;
        await channel.messages.edit(statusMessageId, { content: payload.content, components: payload.components ?? [] });
      });
    } catch (error) {
      // A status edit that fails (the message was deleted, Discord hiccups) must not hold up previews or the end.
      this.lastStatus.delete(key);
      this.o.log.warn({ err: error, ...ref }, 'could not edit the training status message');
    }
  }

  /**
   * One of the training's messages in its thread (a checkpoint's preview, how the training ended,
   * how the vote went), posted once whatever restarts happen, `what` naming it for both.
   */
  private postInThread(ref: TrainingRef, threadId: string, what: string, tag: string, build: PostOnceRequest['build']) {
    return this.toDiscord(ref, what, () => postOnce(this.postDeps, { markKey: keys.message(ref.guildId, ref.trainingId, what), channelId: threadId, tag, build }));
  }

  /**
   * One of a training's posts or edits in Discord. A refusal for missing permissions or access
   * stays until an admin changes the channel, so refusals are counted on the record (see
   * `discordRefusals`) and rethrown for the caller's usual retry. At MAX_DISCORD_REFUSALS in a
   * row the supervisor gives up posting for the training: it goes on at Replicate, its
   * checkpoints are stored and it ends as usual, in silence — except a training whose thread
   * never opened, which fails before any run is started. Once given up, `post` is not called
   * and the answer is undefined.
   */
  private async toDiscord<T>(ref: TrainingRef, what: string, post: () => Promise<T>): Promise<T | undefined> {
    const before = await this.mustLoad(ref);
    if (before.discordRefusals?.gaveUpAt !== undefined) return undefined;
    let result: T;
    try {
      result = await post();
    } catch (error) {
      if (isPermissionRefusal(error)) await this.countRefusal(ref, what, Number(error.code));
      throw error;
    }
    if (before.discordRefusals?.what === what) {
      await this.update(ref, ({ discordRefusals, ...rest }) => (discordRefusals?.what === what && discordRefusals.gaveUpAt === undefined ? rest : { ...rest, discordRefusals }));
    }
    return result;
  }

  private async countRefusal(ref: TrainingRef, what: string, code: number): Promise<void> {
    const now = this.o.clock.now();
    let gaveUp = false;
    const record = await this.update(ref, (current) => {
      gaveUp = false;
      if (current.discordRefusals?.gaveUpAt !== undefined) return current;
      const count = (current.discordRefusals?.count ?? 0) + 1;
      gaveUp = count >= MAX_DISCORD_REFUSALS;
      return { ...current, discordRefusals: { count, what, code, at: now, ...(gaveUp ? { gaveUpAt: now } : {}) } };
    });
    const where = { ...ref, channelId: record.channelId, threadId: record.threadId, what, code, refusals: record.discordRefusals?.count };
    if (!gaveUp) {
      this.o.log.warn(where, 'Discord refused a training post for missing permissions');
      return;
    }
    if (record.threadId) {
      this.o.log.error(where, 'Discord keeps refusing the training’s posts for missing permissions: no more posts or edits for it; it goes on and keeps its checkpoints');
      return;
    }
    this.o.log.error(where, 'Discord keeps refusing to open the training’s thread for missing permissions: the training fails before any run is started');
    await this.fail(ref, t(record.locale ?? 'en', 'training.forbidden', { channel: record.channelId }));
  }

  private async claimRunning(guildId: string, trainingId: string): Promise<void> {
    const { store } = this.o;
    for (let attempt = 0; attempt < 2; attempt++) {
      if (await store.setIfAbsent(keys.running(guildId), trainingId)) return;
      const current = await store.get<string>(keys.running(guildId));
      if (current === trainingId) throw new UserError('already-started', msg('error.already-started'));
      const other = current ? await store.get<TrainingRecord>(keys.training(guildId, current)) : undefined;
      if (other?.status === 'running') {
        throw runningAlready(other);
      }
      // The marker of a training that ended without clearing it: free it and try again.
      await store.update<string>(keys.running(guildId), (value) => (value === current ? undefined : value));
    }
    throw new UserError('training-running', msg('error.training-running.starting'));
  }

  private async unfollow(ref: TrainingRef): Promise<void> {
    await this.o.store.update<TrainingRef[]>(keys.followed(), (refs = []) => {
      const rest = refs.filter((r) => refKey(r) !== refKey(ref));
      return rest.length ? rest : undefined;
    });
  }

  private async requireRunning(ref: TrainingRef): Promise<TrainingRecord> {
    const record = await this.load(ref);
    if (!record) throw new UserError('unknown-training', msg('error.unknown-training.here'));
    if (record.status !== 'running') throw notRunning(record);
    return record;
  }

  private load(ref: TrainingRef): Promise<TrainingRecord | undefined> {
    return this.o.store.get<TrainingRecord>(keys.training(ref.guildId, ref.trainingId));
  }

  private async mustLoad(ref: TrainingRef): Promise<TrainingRecord> {
    const record = await this.load(ref);
    if (!record) throw new Error(`training ${ref.trainingId} of guild ${ref.guildId} is gone from the store`);
    return record;
  }

  /** A compare-and-swap of the record; `fn` must stay free of side effects (it may run again). */
  private async update(ref: TrainingRef, fn: (current: TrainingRecord) => TrainingRecord): Promise<TrainingRecord> {
    const updated = await this.o.store.update<TrainingRecord>(keys.training(ref.guildId, ref.trainingId), (current) => current && fn(current));
    if (!updated) throw new Error(`training ${ref.trainingId} of guild ${ref.guildId} is gone from the store`);
    return updated;
  }
}

function notRunning(record: TrainingRecord | undefined): UserError {
  const state = record?.status === 'succeeded' ? 'finished' : record?.status === 'failed' || record?.status === 'canceled' ? record.status : 'ended';
  return new UserError('training-not-running', msg(`error.training-not-running.${state}`));
}

/** The refusal of a second training while `running` goes on (from /train and from Start). */
export function runningAlready(running: Pick<TrainingRecord, 'threadId'>): UserError {
  return new UserError('training-running', running.threadId ? msg('error.training-running.thread', { thread: running.threadId }) : msg('error.training-running'));
}

