import type { TrainingRecord } from '../../src/training/records.js';
import type { PostedMessage, ThreadChannel, TrainingMessage, TrainingRewrite } from '../../src/training/thread.js';

const refusal = () => Object.assign(new Error('Missing Permissions'), { code: 50013 });

/** A chat that records what it was asked and refuses while `refusing` is set. */
export class FakeChannel implements ThreadChannel {
  refusing = false;
  readonly posted: { what: string; message: TrainingMessage }[] = [];
  readonly edits: TrainingMessage[] = [];
  readonly threads: string[] = [];
  readonly rewrites: { messageId: string; rewrite: TrainingRewrite }[] = [];
  attempts = 0;
  private ids = 0;

  async postOnce(request: { markKey: string; channelId: string; trainingId: string; what: string; build: () => Promise<TrainingMessage> }): Promise<PostedMessage> {
    this.attempts++;
    if (this.refusing) throw refusal();
    const id = `m${++this.ids}`;
    this.posted.push({ what: request.what, message: await request.build() });
    return { messageId: id, url: `https://discord.test/${id}`, posted: true };
  }
  async startThread(_channelId: string, messageId: string, _record: TrainingRecord): Promise<string> {
    this.attempts++;
    if (this.refusing) throw refusal();
    this.threads.push(messageId);
    return `thread-of-${messageId}`;
  }
  async edit(_channelId: string, _messageId: string, message: TrainingMessage): Promise<void> {
    this.attempts++;
    if (this.refusing) throw refusal();
    this.edits.push(message);
  }
  forget(): void {}
  async rewrite(_channelId: string, messageId: string, rewrite: TrainingRewrite): Promise<void> {
    this.rewrites.push({ messageId, rewrite });
  }
  refusalCode(error: unknown): number | undefined {
    return (error as { code?: number }).code;
  }
}

