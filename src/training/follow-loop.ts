import type { Clock } from '../clock.js';
import { UserError } from '../errors.js';
import type { BotEventBus } from '../events.js';
import { t } from '../i18n/index.js';
import type { Logger } from '../log.js';
import { ServiceError } from '../services/types.js';
import { isHidden, shownOrder } from '../voting/blind.js';
import type { VotingCloser } from '../voting/closing.js';
import { activeFor, leaderOf, votingAtEnd } from '../voting/window.js';
import type { Follower } from './follower.js';
import type { LiveTallies } from './live-tallies.js';
import type { PreviewMaker } from './previews.js';
import type { TrainingRef } from './records.js';
import type { TrainingRepository } from './repository.js';
import type { RunTracker } from './run-tracker.js';
import { failedIfRunning, isTerminalRun } from './run-state.js';
import type { TrainingThread } from './thread.js';

export interface FollowLoopOptions {
  repository: TrainingRepository;
  runs: RunTracker;
  thread: TrainingThread;
  previews: Pick<PreviewMaker, 'message'>;
  voting: VotingCloser;
  tallies: LiveTallies;
  clock: Clock;
  log: Logger;
  events: BotEventBus;
  /** Bounded backoff between polls of running runs: back to `baseMs` whenever something moved. */
  poll: { baseMs: number; maxMs: number };
  /** With webhooks: how often runs are polled anyway, in case a delivery was lost for good. */
  reconcileMs: number;
  usesWebhooks: boolean;
  /** The month's spend against the budget, for the end message; undefined without a budget. */
  budget(guildId: string): Promise<{ spentUsd: number; budgetUsd: number } | undefined>;
  /** The vote decided which archives stay (checkpoint-archives.ts). */
  syncArchives(ref: TrainingRef): void;
}

/**
 * One training followed from where its record stands to its end: the thread, the runs, each
 * checkpoint's preview once, the status message, then the end (the winner, the vote's window,
 * the end message). Each pass reads the record, so a pass interrupted anywhere is taken up by
 * the next, in this process or another.
 */
export class FollowLoop {
  constructor(private readonly o: FollowLoopOptions) {}

  /** `resumed`: taken up after a restart, so the runs are polled at once, webhooks or not (what happened meanwhile is unknown). */
  async run(ref: TrainingRef, follower: Follower, resumed: boolean): Promise<void> {
    const { signal } = follower.abort;
    const { repository, clock, usesWebhooks, poll, reconcileMs } = this.o;
    const log = this.o.log.child({ trainingId: ref.trainingId, guildId: ref.guildId });
    let delay = poll.baseMs;
    let lastPoll = resumed ? -Infinity : clock.now();
    while (!signal.aborted) {
      try {
        const record = await repository.load(ref);
        if (!record) {
          await repository.unfollow(ref);
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
        if (!usesWebhooks || clock.now() - lastPoll >= reconcileMs) {
          changed = await this.o.runs.poll(ref);
          lastPoll = clock.now();
        }
        await this.postPreviews(ref, signal);
        if (await this.finishIfDone(ref)) continue;
        await this.o.thread.refreshStatus(ref, false);
        delay = changed ? poll.baseMs : Math.min(poll.maxMs, Math.round(delay * 1.5));
        await follower.sleep(usesWebhooks ? Math.max(0, reconcileMs - (clock.now() - lastPoll)) : delay);
      } catch (error) {
        if (signal.aborted) return;
        log.warn({ err: error, retryInMs: delay }, 'training follower hit an error; trying again');
        delay = Math.min(poll.maxMs, Math.round(delay * 1.5));
        await follower.sleep(delay);
      }
    }
  }

  /** Thread, zip and runs: each step done once, whatever happened before a restart. */
  private async prepare(ref: TrainingRef): Promise<void> {
    await this.o.thread.open(ref);
    try {
      await this.o.runs.start(ref);
    } catch (error) {
      // A refusal (no such destination, an input the trainer rejects, a dataset that cannot be
      // exported) will not pass by retrying: the training fails with the reason.
      if (error instanceof UserError || (error instanceof ServiceError && error.failure === 'failed')) {
        const locale = (await this.o.repository.load(ref))?.locale ?? 'en';
        await this.fail(ref, error instanceof UserError ? error.render(locale) : t(locale, 'training.refused', { detail: error.message }));
        return;
      }
      throw error;
    }
  }

  /** Posts the preview of every checkpoint that has none yet, in step order, each exactly once. */
  private async postPreviews(ref: TrainingRef, signal: AbortSignal): Promise<void> {
    const { repository, thread } = this.o;
    const first = await repository.mustLoad(ref);
    // Blind: posted together once every run has ended, by letter, so neither the order nor the
    // time a preview comes in tells its step.
    if (isHidden(first) && !(first.runs ?? []).every(isTerminalRun)) return;
    for (const step of shownOrder(first, first.checkpoints.map((c) => c.step))) {
      const record = await repository.mustLoad(ref);
      const checkpoint = record.checkpoints.find((c) => c.step === step);
      if (signal.aborted || record.status !== 'running' || !record.threadId) return;
      if (!checkpoint || checkpoint.previewUrl) continue;
      const posted = await thread.post(ref, record.threadId, `preview:${step}`, () => this.o.previews.message(ref, record, checkpoint, signal));
      if (!posted) continue;
      if (posted.posted) this.o.log.info({ trainingId: ref.trainingId, step, messageId: posted.messageId }, 'checkpoint preview posted');
      await repository.update(ref, (current) => ({ ...current, checkpoints: current.checkpoints.map((c) => (c.step === step ? { ...c, previewUrl: posted.url } : c)) }));
      // Told once the record says so: a listener reading the training finds the preview's link.
      if (posted.posted) this.o.events.emit('training.preview-posted', { ...ref, step, messageId: posted.messageId });
      await thread.refreshStatus(ref, true);
    }
  }

  /** Every run ended and every checkpoint posted: the training is done. */
  private async finishIfDone(ref: TrainingRef): Promise<boolean> {
    const record = await this.o.repository.mustLoad(ref);
    const runs = record.runs ?? [];
    // Previews Discord will not take any more do not hold the end up: the checkpoints are stored.
    const previewsPending = record.discordRefusals?.gaveUpAt === undefined && record.checkpoints.some((c) => !c.previewUrl);
    if (record.status !== 'running' || !runs.every(isTerminalRun) || previewsPending) return false;
    const now = this.o.clock.now();
    const noCheckpoint = t(record.locale ?? 'en', record.strategy === 'streaming' ? 'training.no-checkpoint-made.streaming' : 'training.no-checkpoint-made');
    const failure = record.checkpoints.length === 0 ? (runs.find((run) => run.error)?.error ?? noCheckpoint) : undefined;
    await this.o.repository.update(ref, (current) =>
      current.status === 'running' ? { ...current, status: failure ? 'failed' : 'succeeded', finishedAt: now, ...(failure ? { failure } : {}) } : current,
    );
    return true;
  }

  private async fail(ref: TrainingRef, failure: string): Promise<void> {
    const now = this.o.clock.now();
    this.o.log.warn({ ...ref, failure }, 'training failed');
    await this.o.repository.update(ref, (current) => failedIfRunning(current, failure, now));
  }

  /**
   * The end of a training, whichever way it ended: runs still going are canceled and followed
   * until they stop (their GPU time counts), the winner becomes the active checkpoint, the
   * thread hears the outcome, and the training is no longer followed.
   */
  private async settle(ref: TrainingRef, signal: AbortSignal): Promise<void> {
    const { repository, thread } = this.o;
    await this.o.runs.settle(ref, signal, this.o.poll);
    if (signal.aborted) return;
    let record = await repository.mustLoad(ref);
    const now = this.o.clock.now();
    const end = votingAtEnd(record, now);
    // The winner so far becomes active — the last word where the vote stays open: `/kmplz`
    // follows the leader then (src/voting/window.ts), except while a blind vote hides the steps.
    const chosen = record.status === 'succeeded' ? leaderOf(record) : undefined;
    if (chosen && !(end.do === 'open' && isHidden(record))) await repository.setActiveCheckpoint(ref.guildId, activeFor(record, chosen));
    if (end.do === 'open') {
      // The vote goes on until the deadline, or a trainer's Close: the sweep announces the result.
      record = await this.o.voting.open(ref, end.closesAt);
    } else if (end.do === 'close') {
      // A trainer picked, or a blind vote ends with a failed training: closed, steps revealed.
      record = await repository.update(ref, (current) => (current.votingClosedAt === undefined ? { ...current, votingClosedAt: now } : current));
      await this.o.tallies.refresh(ref);
    }
    await thread.refreshStatus(ref, true);
    if (record.threadId) {
      const ended = record;
      // Read only when the message is built: a final message posted before a restart is not built again.
      await thread.post(ref, record.threadId, 'final', async () => {
        const budget = await this.o.budget(ref.guildId);
        return { kind: 'final', record: ended, chosen, now: this.o.clock.now(), ...(budget ? { budget } : {}) };
      });
    }
    await this.o.runs.deleteDataset(ref);
    await repository.release(ref);
    await repository.unfollow(ref);
    record = await repository.mustLoad(ref);
    this.o.log.info({ ...ref, status: record.status, winner: chosen?.step }, 'training settled');
    this.o.events.emit('training.settled', { ...ref, status: record.status, ...(chosen ? { winner: chosen.step } : {}) });
    this.o.syncArchives(ref);
  }
}
