import type { Clock } from '../clock.js';
import type { BotEventBus } from '../events.js';
import { t } from '../i18n/index.js';
import type { Logger } from '../log.js';
import type { MessageEditor } from '../util/message-editor.js';
import type { Winner } from '../voting/tally.js';
import { refKey, type TrainingRecord, type TrainingRef } from './records.js';
import type { TrainingRepository } from './repository.js';
import { failedIfRunning } from './run-state.js';

/**
 * A training's messages as plain data: the views (src/views/training.ts) turn them into Discord
 * messages. Each is rendered from the stored record, so any process renders the same message.
 */
export type TrainingMessage =
  | { kind: 'announcement'; record: TrainingRecord }
  | { kind: 'status'; record: TrainingRecord; now: number }
  | {
      kind: 'preview';
      record: TrainingRecord;
      step: number;
      /** The preview sheet, when it could be drawn. */
      image?: { data: Buffer; filename: string };
      /** Pictures of the sheet that could not be drawn, and why. */
      notDrawn: string[];
      /** Why no picture was drawn at all (the month's budget), in the training's language. */
      refused?: string;
      /** A trainer may stop the training after this checkpoint (longer runs are still going). */
      canStop: boolean;
    }
  | { kind: 'final'; record: TrainingRecord; chosen: Winner | undefined; now: number; budget?: { spentUsd: number; budgetUsd: number } }
  | { kind: 'result'; record: TrainingRecord; chosen: Winner | undefined };

/** A posted message brought up to date with the record (a preview's tally, the end message's vote lines). */
export type TrainingRewrite = { kind: 'preview-tally'; record: TrainingRecord; step: number } | { kind: 'final-tally'; record: TrainingRecord };

export interface PostedMessage {
  messageId: string;
  url: string;
  /** False when the message was there already (posted earlier, or found after a crash). */
  posted: boolean;
}

/** The port to the chat: Discord's implementation is src/training/discord-thread.ts. */
export interface ThreadChannel {
  /** Posts the training's message `what` once across restarts (its mark under `markKey`); `build` only when it must really be posted. */
  postOnce(request: { markKey: string; channelId: string; trainingId: string; what: string; build: () => Promise<TrainingMessage> }): Promise<PostedMessage | undefined>;
  /** A public thread on the announcement; its id. */
  startThread(channelId: string, messageId: string, record: TrainingRecord): Promise<string>;
  /** Edits a message to `message` (not when this process last set it to the same). */
  edit(channelId: string, messageId: string, message: TrainingMessage): Promise<void>;
  /** This process stops following the message: another may edit it meanwhile, so what it last set is forgotten. */
  forget(messageId: string): void;
  rewrite(channelId: string, messageId: string, rewrite: TrainingRewrite): Promise<void>;
  /** The chat's error code when `error` refuses the bot for missing permissions or access; else undefined. */
  refusalCode(error: unknown): number | undefined;
}

/**
 * Discord refusals for missing permissions in a row before the thread stops posting for a
 * training. With the retries' backoff five span about half a minute: enough to ride out a
 * permission being edited, not to wait for an admin (they learn of it from `/checkpoints` and the
 * log), and few enough not to spin against a channel that stays closed (each is an invalid
 * request, and Discord bans IPs that make many).
 */
export const MAX_DISCORD_REFUSALS = 5;

export interface TrainingThreadOptions {
  repository: TrainingRepository;
  channel: ThreadChannel;
  clock: Clock;
  log: Logger;
  events: BotEventBus;
  /** Status edits, throttled per training (Discord allows about one edit per second per channel). */
  editor: MessageEditor;
}

/**
 * A training's thread: opens it (announcement, thread, status message), posts each named message
 * once, keeps the status message up to date, and counts Discord's permission refusals. A refusal
 * stays until an admin changes the channel, so refusals are counted on the record and rethrown for
 * the caller's usual retry. At MAX_DISCORD_REFUSALS in a row it gives up posting for the training:
 * the training goes on at the service, its checkpoints are stored and it ends as usual, in
 * silence — except one whose thread never opened, which fails before any run is started. Once
 * given up, nothing is sent and the answers are undefined.
 */
export class TrainingThread {
  constructor(private readonly o: TrainingThreadOptions) {}

  /** Announcement, thread and status message, each once; the record as it stands after. */
  open(ref: TrainingRef): Promise<TrainingRecord | undefined> {
    return this.toDiscord(ref, 'thread', () => this.openNow(ref));
  }

  /** One of the training's messages in its thread (`what`: `preview:<step>`, `final`, `result`), posted once. */
  post(ref: TrainingRef, threadId: string, what: string, build: () => Promise<TrainingMessage>): Promise<PostedMessage | undefined> {
    return this.toDiscord(ref, what, () => this.o.channel.postOnce({ markKey: this.o.repository.messageMarkKey(ref, what), channelId: threadId, trainingId: ref.trainingId, what, build }));
  }

  /**
   * The status message shows the record: `force` (a change of state: a preview posted, the end)
   * goes out next; otherwise it is a report, throttled per training. A failed edit is logged:
   * it must not hold up previews or the end.
   */
  async refreshStatus(ref: TrainingRef, force: boolean): Promise<void> {
    const edit = async () => {
      const record = await this.o.repository.load(ref);
      const { threadId, statusMessageId } = record ?? {};
      if (!record || !threadId || !statusMessageId) return;
      try {
        await this.toDiscord(ref, 'status', () => this.o.channel.edit(threadId, statusMessageId, { kind: 'status', record, now: this.o.clock.now() }));
      } catch (error) {
        this.o.log.warn({ err: error, ...ref }, 'could not edit the training status message');
      }
    };
    if (force) await this.o.editor.change(statusKey(ref), edit);
    else this.o.editor.report(statusKey(ref), edit);
  }

  /** The training is no longer followed here: nothing held for its status is sent. */
  async forget(ref: TrainingRef): Promise<void> {
    this.o.editor.forget(statusKey(ref));
    const statusMessageId = (await this.o.repository.load(ref))?.statusMessageId;
    if (statusMessageId) this.o.channel.forget(statusMessageId);
  }

  /** Stopping: status reports still held are dropped. */
  close(): void {
    this.o.editor.close();
  }

  private async openNow(ref: TrainingRef): Promise<TrainingRecord> {
    const { repository, channel } = this.o;
    let record = await repository.mustLoad(ref);
    if (!record.threadId) {
      const announcement = await channel.postOnce({
        markKey: repository.messageMarkKey(ref, 'announcement'),
        channelId: record.channelId,
        trainingId: ref.trainingId,
        what: 'announcement',
        build: async () => ({ kind: 'announcement', record }),
      });
      if (!announcement) return record;
      const threadId = await channel.startThread(record.channelId, announcement.messageId, record);
      record = await repository.update(ref, (current) => ({ ...current, announcementId: announcement.messageId, threadId }));
    }
    if (!record.statusMessageId && record.threadId) {
      const status = await channel.postOnce({
        markKey: repository.messageMarkKey(ref, 'status'),
        channelId: record.threadId,
        trainingId: ref.trainingId,
        what: 'status',
        build: async () => ({ kind: 'status', record: await repository.mustLoad(ref), now: this.o.clock.now() }),
      });
      if (status) record = await repository.update(ref, (latest) => ({ ...latest, statusMessageId: status.messageId }));
    }
    return record;
  }

  private async toDiscord<T>(ref: TrainingRef, what: string, send: () => Promise<T>): Promise<T | undefined> {
    const before = await this.o.repository.mustLoad(ref);
    if (before.discordRefusals?.gaveUpAt !== undefined) return undefined;
    let result: T;
    try {
      result = await send();
    } catch (error) {
      const code = this.o.channel.refusalCode(error);
      if (code !== undefined) await this.countRefusal(ref, what, code);
      throw error;
    }
    if (before.discordRefusals?.what === what) {
      // The refused post went through: the count starts again.
      await this.o.repository.update(ref, ({ discordRefusals, ...rest }) => (discordRefusals?.what === what && discordRefusals.gaveUpAt === undefined ? rest : { ...rest, discordRefusals }));
    }
    return result;
  }

  private async countRefusal(ref: TrainingRef, what: string, code: number): Promise<void> {
    const now = this.o.clock.now();
    let gaveUp = false;
    const record = await this.o.repository.update(ref, (current) => {
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
    } else {
      this.o.log.error(where, 'Discord keeps refusing to open the training’s thread for missing permissions: the training fails before any run is started');
      const failure = t(record.locale ?? 'en', 'training.forbidden', { channel: record.channelId });
      this.o.log.warn({ ...ref, failure }, 'training failed');
      await this.o.repository.update(ref, (current) => failedIfRunning(current, failure, now));
    }
    // Told once all of it is stored: with no thread, the training has failed by then.
    this.o.events.emit('training.discord-gave-up', { guildId: ref.guildId, trainingId: ref.trainingId, what, code, threadOpened: record.threadId !== undefined });
  }
}

const statusKey = (ref: TrainingRef) => `${refKey(ref)}/status`;
