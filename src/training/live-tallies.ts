import type { Client } from 'discord.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import { MessageEditor } from '../util/message-editor.js';
import { rewriteFinal } from '../voting/window-text.js';
import { rewritePreview } from './preview-text.js';
import { finalComponents } from './status.js';
import { type MessageMark, type TrainingRecord, type TrainingRef } from './records.js';
import { keys } from '../store/keys.js';

export interface LiveTalliesOptions {
  store: Store;
  client: Client;
  log: Logger;
  clock: Clock;
  triggerWord: string;
  /** At most one edit per preview message in this time: Discord limits edits per channel. */
  intervalMs: number;
}

/**
 * Keeps the preview messages of a training showing the stored votes (and, in blind mode, the
 * letters or the revealed steps), and the end message showing who leads while the vote is open
 * after the end (then that it closed, without its Close button). Every vote asks for an update;
 * the edits of one message are coalesced, and each edit renders the record as it is when it
 * runs, so the last state lands.
 */
export class LiveTallies {
  private readonly edits: MessageEditor;

  constructor(private readonly o: LiveTalliesOptions) {
    this.edits = new MessageEditor({ intervalMs: o.intervalMs, now: () => o.clock.now(), onError: (error, key) => o.log.warn({ err: error, preview: key }, 'could not update a preview’s tally') });
  }

  /** Asks for every posted preview of the training to be brought up to date. */
  async refresh(ref: TrainingRef): Promise<void> {
    const record = await this.o.store.get<TrainingRecord>(keys.training(ref.guildId, ref.trainingId));
    const threadId = record?.threadId;
    if (!record || !threadId) return;
    for (const { step } of record.checkpoints) {
      const mark = await this.o.store.get<MessageMark>(keys.message(ref.guildId, ref.trainingId, `preview:${step}`));
      const messageId = mark?.messageId;
      if (messageId) this.edits.report(`${ref.guildId}/${ref.trainingId}/${step}`, () => this.edit(ref, step, threadId, messageId));
    }
    // Only a vote that stayed open after the end has lines in the end message to follow.
    if (record.votingClosesAt === undefined) return;
    const final = (await this.o.store.get<MessageMark>(keys.message(ref.guildId, ref.trainingId, 'final')))?.messageId;
    if (final) this.edits.report(`${ref.guildId}/${ref.trainingId}/final`, () => this.editFinal(ref, threadId, final));
  }

  close(): void {
    this.edits.close();
  }

  private edit(ref: TrainingRef, step: number, threadId: string, messageId: string): Promise<void> {
    return this.rewrite(ref, threadId, messageId, (content, record) => ({ content: rewritePreview(content, record, step, this.o.triggerWord) }));
  }

  private editFinal(ref: TrainingRef, threadId: string, messageId: string): Promise<void> {
    return this.rewrite(ref, threadId, messageId, (content, record) => ({ content: rewriteFinal(content, record), components: finalComponents(record) }));
  }

  /** Rewrites one of the thread's messages from the training's record, when its text changes. */
  private async rewrite(
    ref: TrainingRef,
    threadId: string,
    messageId: string,
    rewritten: (content: string, record: TrainingRecord) => { content: string; components?: ReturnType<typeof finalComponents> },
  ): Promise<void> {
    const record = await this.o.store.get<TrainingRecord>(keys.training(ref.guildId, ref.trainingId));
    if (!record) return;
    const channel = await this.o.client.channels.fetch(threadId);
    if (!channel?.isTextBased()) return;
    // Forced: the cached copy can be older than the last edit.
    const message = await channel.messages.fetch({ message: messageId, cache: false, force: true });
    const edit = rewritten(message.content, record);
    if (edit.content !== message.content) await channel.messages.edit(messageId, edit);
  }
}
