import { DiscordAPIError, Routes, type Client, type MessageCreateOptions, type MessageEditOptions } from 'discord.js';
import type { Clock } from '../clock.js';
import type { Cluster } from '../cluster/cluster.js';
import { isPermissionRefusal } from '../interactions/bot-permissions.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import { postOnce } from './post-once.js';
import type { TrainingRecord } from './records.js';
import type { PostedMessage, ThreadChannel, TrainingMessage, TrainingRewrite } from './thread.js';

/** How the training's plain messages look in Discord: src/views/training.ts. */
export interface TrainingViews {
  render(message: TrainingMessage): MessageCreateOptions & { content: string };
  /** The posted text brought up to date (its note lines kept), and the buttons it should now have. */
  rewrite(posted: string, rewrite: TrainingRewrite): Pick<MessageEditOptions, 'components'> & { content: string };
  /** The custom id only the training's message `what` carries: how it is found again after a crash. */
  tag(trainingId: string, what: string): string;
  threadName(record: TrainingRecord): string;
}

export interface DiscordThreadOptions {
  client: Client;
  /** Holds post-once's marks (their keys come from the training repository). */
  store: Store;
  clock: Clock;
  log: Logger;
  cluster: Pick<Cluster, 'bootId' | 'isAlive'>;
  views: TrainingViews;
}

/** A training's thread in Discord: messages posted once (src/training/post-once.ts), edits, the thread itself. */
export class DiscordThreadChannel implements ThreadChannel {
  /** Per message: the last content this process set, so an edit that changes nothing is not sent. */
  private readonly shown = new Map<string, string>();

  constructor(private readonly o: DiscordThreadOptions) {}

  postOnce(request: { markKey: string; channelId: string; trainingId: string; what: string; build: () => Promise<TrainingMessage> }): Promise<PostedMessage | undefined> {
    const { client, store, clock, log, cluster, views } = this.o;
    return postOnce(
      { client, store, clock, log, cluster },
      { markKey: request.markKey, channelId: request.channelId, tag: views.tag(request.trainingId, request.what), build: async () => views.render(await request.build()) },
    );
  }

  async startThread(channelId: string, messageId: string, record: TrainingRecord): Promise<string> {
    try {
      const name = this.o.views.threadName(record).slice(0, 100);
      const thread = (await this.o.client.rest.post(Routes.threads(channelId, messageId), { body: { name, auto_archive_duration: 10080 } })) as { id: string };
      return thread.id;
    } catch (error) {
      // 160004: the thread exists already (made before a restart); a thread started from a message has the message's id.
      if (error instanceof DiscordAPIError && error.code === 160004) return messageId;
      throw error;
    }
  }

  async edit(channelId: string, messageId: string, message: TrainingMessage): Promise<void> {
    const { content, components = [] } = this.o.views.render(message);
    const shown = JSON.stringify({ content, components });
    if (this.shown.get(messageId) === shown) return;
    this.shown.set(messageId, shown);
    try {
      const channel = await this.o.client.channels.fetch(channelId);
      if (!channel?.isTextBased()) return;
      await channel.messages.edit(messageId, { content, components });
    } catch (error) {
      this.shown.delete(messageId);
      throw error;
    }
  }

  forget(messageId: string): void {
    this.shown.delete(messageId);
  }

  async rewrite(channelId: string, messageId: string, rewrite: TrainingRewrite): Promise<void> {
    const channel = await this.o.client.channels.fetch(channelId);
    if (!channel?.isTextBased()) return;
    // Forced: the cached copy can be older than the last edit.
    const message = await channel.messages.fetch({ message: messageId, cache: false, force: true });
    const edit = this.o.views.rewrite(message.content, rewrite);
    if (edit.content !== message.content) await channel.messages.edit(messageId, edit);
  }

  refusalCode(error: unknown): number | undefined {
    return isPermissionRefusal(error) ? Number(error.code) : undefined;
  }
}
