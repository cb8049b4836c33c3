import { DiscordAPIError, InteractionWebhook, RESTJSONErrorCodes, type Client, type WebhookMessageEditOptions } from 'discord.js';
import type { Clock } from '../clock.js';
import type { BotEventBus } from '../events.js';
import type { ReplyTarget } from '../reply-target.js';

export const INTERACTION_TOKEN_LIFETIME_MS = 15 * 60_000;
const EXPIRY_MARGIN_MS = 30_000;
/**
 * Discord's word that the reply cannot be edited any more, whatever our clock says: the token
 * expired early (a clock that runs behind, an interaction older than it looked), the
 * application's webhook was removed, or someone deleted the reply (Unknown Message). A channel
 * message can still carry the answer.
 */
const REPLY_GONE: ReadonlySet<unknown> = new Set([RESTJSONErrorCodes.InvalidWebhookToken, RESTJSONErrorCodes.UnknownWebhook, RESTJSONErrorCodes.UnknownMessage]);

export function replyTargetOf(
  interaction: { applicationId: string; token: string; channelId: string | null; user: { id: string }; createdTimestamp: number },
): ReplyTarget {
  if (!interaction.channelId) throw new Error('interaction without a channel');
  return {
    applicationId: interaction.applicationId,
    interactionToken: interaction.token,
    tokenExpiresAt: interaction.createdTimestamp + INTERACTION_TOKEN_LIFETIME_MS,
    channelId: interaction.channelId,
    userId: interaction.user.id,
  };
}

export type ReplyContent = Omit<WebhookMessageEditOptions, 'threadId' | 'withComponents'>;

/** Answers a stored interaction later (BotContext.replier): its reply while the token lives, then the channel. */
export interface Replies {
  /** Whether the original reply can still be edited (its token lives and Discord did not refuse it). */
  canEdit(target: ReplyTarget): boolean;
  /** Edits the original reply in place; `false` when the token is too old or Discord refused it (use `finish`). */
  edit(target: ReplyTarget, content: ReplyContent): Promise<boolean>;
  /** The last word: the reply when it can be edited, else a channel message mentioning the person. */
  finish(target: ReplyTarget, content: ReplyContent): Promise<void>;
}

export class Replier implements Replies {
  /**
   * Replies that cannot be edited any more (token refused, reply deleted), by token, with when:
   * later edits go straight to the fallback instead of failing again. A token is dead for good
   * after its 15 minutes, so older entries are dropped.
   */
  private readonly refusedTokens = new Map<string, number>();

  constructor(
    private readonly client: Client,
    private readonly clock: Clock,
    private readonly events: Pick<BotEventBus, 'emit'>,
  ) {}

  canEdit(target: ReplyTarget): boolean {
    return this.clock.now() < target.tokenExpiresAt - EXPIRY_MARGIN_MS && !this.refusedTokens.has(target.interactionToken);
  }

  /** Edits the original reply in place; `false` when the token is too old or Discord refused it (use `finish`). */
  async edit(target: ReplyTarget, content: ReplyContent): Promise<boolean> {
    if (!this.canEdit(target)) return false;
    // Through the client's own REST: one rate limiter, and the app's allowed mentions (none).
    const webhook = new InteractionWebhook(this.client as Client<true>, target.applicationId, target.interactionToken);
    try {
      await webhook.editMessage('@original', content);
    } catch (error) {
      if (!(error instanceof DiscordAPIError && REPLY_GONE.has(error.code))) throw error;
      const now = this.clock.now();
      for (const [token, at] of this.refusedTokens) if (at < now - INTERACTION_TOKEN_LIFETIME_MS) this.refusedTokens.delete(token);
      this.refusedTokens.set(target.interactionToken, now);
      return false;
    }
    return true;
  }

  /**
   * Delivers a job's final answer: an edit of the reply while the token lives, else a new message
   * in the channel that mentions the person who asked (the only mention the bot allows itself).
   * Throws when neither reached them; the caller logs it in its own words.
   */
  async finish(target: ReplyTarget, content: ReplyContent): Promise<void> {
    await this.deliver(target, content).catch((error: unknown) => {
      this.events.emit('reply.undelivered', { channelId: target.channelId, userId: target.userId });
      throw error;
    });
  }

  private async deliver(target: ReplyTarget, content: ReplyContent): Promise<void> {
    if (await this.edit(target, content)) return;
    const channel = await this.client.channels.fetch(target.channelId);
    if (!channel?.isSendable()) throw new Error(`cannot post in channel ${target.channelId}`);
    await channel.send({
      content: `<@${target.userId}> ${content.content ?? ''}`.trim(),
      embeds: content.embeds,
      files: content.files,
      components: content.components,
      allowedMentions: { users: [target.userId] },
    });
  }
}
