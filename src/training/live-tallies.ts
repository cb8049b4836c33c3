import type { MessageEditor } from '../util/message-editor.js';
import { refKey, type TrainingRef } from './records.js';
import type { TrainingRepository } from './repository.js';
import type { ThreadChannel, TrainingRewrite } from './thread.js';

export interface LiveTalliesOptions {
  repository: TrainingRepository;
  channel: ThreadChannel;
  /** Tally edits, throttled per message: a burst of votes becomes a couple of edits. */
  editor: MessageEditor;
}

/**
 * Keeps the preview messages of a training showing the stored votes (and, in blind mode, the
 * letters or the revealed steps), and the end message showing who leads while the vote is open
 * after the end (then that it closed, without its Close button). Every vote asks for an update;
 * the edits of one message are throttled reports, and each edit renders the record as it is when
 * it runs, so the last state lands.
 */
export class LiveTallies {
  constructor(private readonly o: LiveTalliesOptions) {}

  /** Asks for every posted preview of the training to be brought up to date. */
  async refresh(ref: TrainingRef): Promise<void> {
    const { repository, editor } = this.o;
    const record = await repository.load(ref);
    const threadId = record?.threadId;
    if (!record || !threadId) return;
    for (const { step } of record.checkpoints) {
      const messageId = await repository.postedMessageId(ref, `preview:${step}`);
      if (messageId) editor.report(`${refKey(ref)}/${step}`, () => this.rewrite(ref, threadId, messageId, step));
    }
    // Only a vote that stayed open after the end has lines in the end message to follow.
    if (record.votingClosesAt === undefined) return;
    const final = await repository.postedMessageId(ref, 'final');
    if (final) editor.report(`${refKey(ref)}/final`, () => this.rewrite(ref, threadId, final));
  }

  close(): void {
    this.o.editor.close();
  }

  /** One of the thread's messages rewritten from the record as it is now: a preview's (`step`), else the end message. */
  private async rewrite(ref: TrainingRef, threadId: string, messageId: string, step?: number): Promise<void> {
    const record = await this.o.repository.load(ref);
    if (!record) return;
    const rewrite: TrainingRewrite = step === undefined ? { kind: 'final-tally', record } : { kind: 'preview-tally', record, step };
    await this.o.channel.rewrite(threadId, messageId, rewrite);
  }
}
