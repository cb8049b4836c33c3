import { EventEmitter } from 'node:events';
import { ChannelType, type APIApplicationCommand } from 'discord-api-types/v10';
import type { InteractionRecord } from './interactions.js';
import type { HostedFile, StoredMessage } from './messages.js';
import type { EmulatedChannel, EmulatedGuild, EmulatedUser } from './model.js';
import { SnowflakeGenerator } from './snowflake.js';

/** Key under which global application commands are stored (guild commands use the guild id). */
export const GLOBAL_COMMANDS = 'global';

/** Everything the emulated Discord knows; REST, gateway and test helpers all read and write here. */
export class DiscordState {
  readonly snowflakes = new SnowflakeGenerator();
  readonly users = new Map<string, EmulatedUser>();
  readonly guilds = new Map<string, EmulatedGuild>();
  /** Guild text channels and the threads created at runtime. */
  readonly channels = new Map<string, EmulatedChannel>();
  readonly messages = new Map<string, StoredMessage>();
  /** Message ids per channel in the order they were posted (ephemeral ones included). */
  private readonly channelMessages = new Map<string, string[]>();
  readonly cdn = new Map<string, HostedFile>();
  readonly commands = new Map<string, APIApplicationCommand[]>();
  readonly interactions = new Map<string, InteractionRecord>();
  private readonly changes = new EventEmitter();

  constructor() {
    // Every waiting test helper listens here; more than ten at once is normal, not a leak.
    this.changes.setMaxListeners(0);
  }

  /** Wakes every `waitFor`; call after any change a test might be waiting for. */
  changed(): void {
    this.changes.emit('change');
  }

  /**
   * Resolves with the first non-undefined result of `check`, re-evaluated after every change and
   * every 50 ms: tests also wait on what no request to Discord announces (a bot process's log, the
   * Replicate emulator, the store), and with no later request such a wait would never look again.
   */
  waitFor<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const first = check();
    if (first !== undefined) return Promise.resolve(first);
    return new Promise<T>((resolve, reject) => {
      const onChange = () => {
        const value = check();
        if (value === undefined) return;
        cleanup();
        resolve(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const poll = setInterval(onChange, 50);
      const cleanup = () => {
        clearTimeout(timer);
        clearInterval(poll);
        this.changes.off('change', onChange);
      };
      this.changes.on('change', onChange);
    });
  }

  guildOfChannel(channelId: string): EmulatedGuild | undefined {
    const guildId = this.channels.get(channelId)?.guild_id;
    return guildId === undefined ? undefined : this.guilds.get(guildId);
  }

  addMessage(message: StoredMessage): void {
    this.messages.set(message.id, message);
    const ids = this.channelMessages.get(message.channelId) ?? [];
    ids.push(message.id);
    this.channelMessages.set(message.channelId, ids);
    const channel = this.channels.get(message.channelId);
    if (channel && !message.ephemeral) {
      channel.last_message_id = message.id;
      if (channel.type === ChannelType.PublicThread || channel.type === ChannelType.PrivateThread) {
        channel.message_count = (channel.message_count ?? 0) + 1;
        channel.total_message_sent = (channel.total_message_sent ?? 0) + 1;
      }
    }
    this.changed();
  }

  /** Live messages of a channel, oldest first; ephemeral ones only on request (others never see them). */
  messagesIn(channelId: string, options: { includeEphemeral?: boolean } = {}): StoredMessage[] {
    return (this.channelMessages.get(channelId) ?? [])
      .map((id) => this.messages.get(id))
      .filter((m): m is StoredMessage => m !== undefined && !m.deleted && (options.includeEphemeral === true || !m.ephemeral));
  }
}
