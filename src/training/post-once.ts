import type { Client, Message, MessageCreateOptions } from 'discord.js';
import type { Clock } from '../clock.js';
import type { Cluster } from '../cluster/cluster.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import type { MessageMark } from './records.js';

export interface PostOnceDeps {
  store: Store;
  client: Client;
  clock: Clock;
  log: Logger;
  /** Marks carry this run's `bootId`; marks of runs no longer alive (a crash) are recovered. */
  cluster: Pick<Cluster, 'bootId' | 'isAlive'>;
}

export interface PostOnceRequest {
  markKey: string;
  channelId: string;
  /** A `custom_id` that only this message carries: how a message posted before a crash is recognised. */
  tag: string;
  /** Makes the message; may be slow and paid (a preview). Called only when the message must really be posted. */
  build(): Promise<MessageCreateOptions>;
}

export interface Posted {
  messageId: string;
  url: string;
  /** False when the message was there already (posted earlier, or found after a crash). */
  posted: boolean;
}

/** The mark of a send whose outcome is unknown (an error after the request went out). */
const UNCERTAIN = 'uncertain';

/**
 * Posts a message exactly once, across restarts. The mark is set with `setIfAbsent` before
 * anything is posted, so two posters never both go ahead; the message id is written into the
 * mark once posted. A mark left without a message id by an earlier run of the bot (killed
 * between the two) is taken over with a compare-and-swap, and the channel is searched for a
 * message carrying `tag` before posting: found, it is adopted; not found, it is posted. So a
 * restart neither duplicates a message nor leaves one out.
 *
 * Returns undefined when this run of the bot is posting it already (another caller holds the mark).
 */
export async function postOnce(deps: PostOnceDeps, request: PostOnceRequest): Promise<Posted | undefined> {
  const { store, clock } = deps;
  const { bootId } = deps.cluster;
  const claimed = await store.setIfAbsent<MessageMark>(request.markKey, { by: bootId, at: clock.now() });
  if (!claimed) {
    const mark = await store.get<MessageMark>(request.markKey);
    if (mark?.messageId) return { messageId: mark.messageId, url: messageUrl(deps.client, request.channelId, mark.messageId), posted: false };
    // A live run (this one, or another process) is posting it: leave it to that one.
    if (!mark || mark.by === bootId || (await deps.cluster.isAlive(mark.by))) return undefined;
    const taken = await store.update<MessageMark>(request.markKey, (current) =>
      current && !current.messageId && current.by === mark.by ? { by: bootId, at: clock.now() } : current,
    );
    if (taken?.by !== bootId || taken.messageId) return undefined;
    const found = await findTagged(deps.client, request.channelId, request.tag);
    if (found) {
      deps.log.info({ markKey: request.markKey, messageId: found.id }, 'found a message posted before a restart');
      await recordMessage(store, request.markKey, found.id);
      return { messageId: found.id, url: found.url, posted: false };
    }
  }

  let payload: MessageCreateOptions;
  try {
    payload = await request.build();
  } catch (error) {
    // Nothing went out: free the mark so a later attempt can post it.
    await store.update<MessageMark>(request.markKey, (current) => (current && !current.messageId && current.by === bootId ? undefined : current));
    throw error;
  }
  let message: Message;
  try {
    const channel = await deps.client.channels.fetch(request.channelId);
    if (!channel?.isSendable()) throw new Error(`cannot post in channel ${request.channelId}`);
    message = await channel.send(payload);
  } catch (error) {
    // The message may or may not exist now: the next attempt searches for it before posting.
    await store.update<MessageMark>(request.markKey, (current) => (current && !current.messageId ? { ...current, by: UNCERTAIN } : current));
    throw error;
  }
  await recordMessage(store, request.markKey, message.id);
  return { messageId: message.id, url: message.url, posted: true };
}

async function recordMessage(store: Store, markKey: string, messageId: string): Promise<void> {
  await store.update<MessageMark>(markKey, (current) => ({ by: current?.by ?? UNCERTAIN, at: current?.at ?? 0, messageId }));
}

/** How far back a recovering poster looks: a training's thread holds a few dozen messages at most. */
const SEARCH_PAGES = 5;

/** The newest message of the channel whose components carry `tag` as a `custom_id`. */
async function findTagged(client: Client, channelId: string, tag: string): Promise<Message | undefined> {
  const channel = await client.channels.fetch(channelId);
  if (!channel?.isTextBased()) return undefined;
  let before: string | undefined;
  for (let page = 0; page < SEARCH_PAGES; page++) {
    const messages = await channel.messages.fetch({ limit: 100, ...(before ? { before } : {}), cache: false });
    const found = messages.find((message) => message.author.id === client.user?.id && customIdsOf(message).includes(tag));
    if (found) return found;
    if (messages.size < 100) return undefined;
    before = messages.last()?.id;
  }
  return undefined;
}

function customIdsOf(message: Message): string[] {
  const ids: string[] = [];
  const walk = (node: unknown) => {
    if (typeof node !== 'object' || node === null) return;
    const { custom_id: id, components } = node as { custom_id?: unknown; components?: unknown };
    if (typeof id === 'string') ids.push(id);
    if (Array.isArray(components)) components.forEach(walk);
  };
  message.components.forEach((component) => walk(component.toJSON()));
  return ids;
}

function messageUrl(client: Client, channelId: string, messageId: string): string {
  const channel = client.channels.cache.get(channelId);
  const guildId = channel && 'guildId' in channel ? channel.guildId : '@me';
  return `https://discord.com/channels/${guildId}/${channelId}/${messageId}`;
}
