import { DiscordAPIError, PermissionFlagsBits, RESTJSONErrorCodes, type Channel, type PermissionsBitField } from 'discord.js';
import { UserError } from '../errors.js';
import { msg, type Message, type MessageKey } from '../i18n/index.js';

/** The permissions kmplz needs in some channel, by their discord.js names. */
export type BotPermission = 'ViewChannel' | 'SendMessages' | 'SendMessagesInThreads' | 'CreatePublicThreads' | 'AttachFiles' | 'EmbedLinks' | 'ReadMessageHistory';

/**
 * What each kind of work needs from the bot in the channel it happens in:
 * - `training`: an announcement in the channel (View Channel, Send Messages) with a public thread
 *   on it (Create Public Threads); the status, each checkpoint's preview picture and the result
 *   in that thread (Send Messages in Threads, Attach Files); and its own messages read back, to
 *   update the tallies and to find a post a restart interrupted (Read Message History). No embeds.
 * - `picture`: `/kmplz` and `/compare` answer in the interaction's reply, which needs no Send
 *   Messages, but the answer is a picture file shown in an embed (Attach Files, Embed Links).
 * - `showcase`: a message with a picture file in an embed, in the showcase channel.
 */
export const BOT_NEEDS = {
  training: ['ViewChannel', 'SendMessages', 'CreatePublicThreads', 'SendMessagesInThreads', 'AttachFiles', 'ReadMessageHistory'],
  picture: ['AttachFiles', 'EmbedLinks'],
  showcase: ['ViewChannel', 'SendMessages', 'AttachFiles', 'EmbedLinks'],
} as const satisfies Record<string, readonly BotPermission[]>;

/** Each permission as Discord's server settings call it. */
const NAMES: Readonly<Record<BotPermission, Extract<MessageKey, `permission.${string}`>>> = {
  ViewChannel: 'permission.view-channel',
  SendMessages: 'permission.send-messages',
  SendMessagesInThreads: 'permission.send-messages-in-threads',
  CreatePublicThreads: 'permission.create-public-threads',
  AttachFiles: 'permission.attach-files',
  EmbedLinks: 'permission.embed-links',
  ReadMessageHistory: 'permission.read-message-history',
};

/**
 * The permissions of `needed` that `granted` lacks, in `needed`'s order (Administrator has them
 * all). None when `granted` is unknown: the work goes ahead, and Discord's own refusal is handled
 * where it can come (`isPermissionRefusal`).
 */
export function missingPermissions(granted: Readonly<PermissionsBitField> | null | undefined, needed: readonly BotPermission[]): BotPermission[] {
  if (!granted) return [];
  return needed.filter((permission) => !granted.has(PermissionFlagsBits[permission]));
}

export interface PermissionPlace {
  channelId: string;
  /** The bot's name, which is also the name of the role Discord gave it in the server. */
  botName: string;
}

/**
 * Refuses work the bot could not finish in `channelId` before anything starts or is paid for:
 * the refusal names the missing permissions and who can grant them.
 */
export function requireBotPermissions(granted: Readonly<PermissionsBitField> | null | undefined, needed: readonly BotPermission[], place: PermissionPlace): void {
  const missing = missingPermissions(granted, needed);
  if (missing.length > 0) throw new UserError('bot-missing-permissions', describe('error.bot-missing-permissions', missing, place));
}

/**
 * The same check for the channel an interaction came from: Discord sends the bot's permissions
 * there, overwrites included, with every interaction (`app_permissions`).
 */
export function requireAppPermissions(
  interaction: { appPermissions: Readonly<PermissionsBitField> | null; channelId: string | null; client: { user: { username: string } } },
  needed: readonly BotPermission[],
  channelId = interaction.channelId,
): void {
  if (!channelId) return;
  requireBotPermissions(interaction.appPermissions, needed, { channelId, botName: interaction.client.user.username });
}

/**
 * The bot's permissions in a channel other than the interaction's (the showcase), from the guild
 * cache that the gateway keeps current; null when the cache cannot tell (a direct message, the
 * bot's member not cached).
 */
export function botPermissionsIn(channel: Channel): Readonly<PermissionsBitField> | null {
  return channel.isDMBased() ? null : channel.permissionsFor(channel.client.user);
}

/**
 * Discord refused a call for lack of a permission (50013) or of access to the channel (50001):
 * it stays refused until an admin changes the channel, so trying again at once will not help.
 */
export function isPermissionRefusal(error: unknown): error is DiscordAPIError {
  return error instanceof DiscordAPIError && (error.code === RESTJSONErrorCodes.MissingPermissions || error.code === RESTJSONErrorCodes.MissingAccess);
}

/** The refusal once Discord itself said no (the cache thought it was allowed): names everything the work needs there. */
export function refusedByDiscord(needed: readonly BotPermission[], place: PermissionPlace): UserError {
  return new UserError('bot-missing-permissions', describe('error.bot-missing-permissions.refused', needed, place));
}

function describe(title: 'error.bot-missing-permissions' | 'error.bot-missing-permissions.refused', permissions: readonly BotPermission[], place: PermissionPlace): Message[] {
  return [
    msg(title, { channel: place.channelId }),
    ...permissions.map((permission) => msg('bot-permissions.item', { permission: msg(NAMES[permission]) })),
    msg('bot-permissions.fix', { bot: place.botName }),
  ];
}

/** Every permission some kind of work needs: what the invite link asks for, and no more. */
export function invitePermissions(): bigint {
  const all = new Set<BotPermission>(Object.values(BOT_NEEDS).flat());
  return [...all].reduce((bits, permission) => bits | PermissionFlagsBits[permission], 0n);
}

/**
 * The link that adds the bot to a server with its slash commands and exactly the permissions
 * `BOT_NEEDS` lists, so a teacher need not assemble it by hand from the application id.
 */
export function inviteUrl(applicationId: string): string {
  const query = new URLSearchParams({ client_id: applicationId, scope: 'bot applications.commands', permissions: invitePermissions().toString() });
  return `https://discord.com/oauth2/authorize?${query.toString().replace(/\+/g, '%20')}`;
}
