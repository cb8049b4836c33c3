import {
  ChannelType,
  GuildDefaultMessageNotifications,
  GuildExplicitContentFilter,
  GuildMFALevel,
  GuildNSFWLevel,
  GuildPremiumTier,
  GuildSystemChannelFlags,
  GuildVerificationLevel,
  Locale,
  OverwriteType,
  PermissionFlagsBits,
  type APIGuild,
  type APIOverwrite,
  type ChannelFlags,
  type GuildMemberFlags,
  type RoleFlags,
  type UserFlags,
  type APIGuildMember,
  type APIRole,
  type APITextChannel,
  type APIThreadChannel,
  type APIUser,
  type GatewayGuildCreateDispatchData,
} from 'discord-api-types/v10';
import type { SnowflakeGenerator } from './snowflake.js';

/** A Discord account the emulator knows: the bot, or a person who clicks things. */
export interface EmulatedUser {
  id: string;
  username: string;
  globalName: string | null;
  bot: boolean;
}

export interface EmulatedMember {
  userId: string;
  roleIds: string[];
  nick: string | null;
  joinedAt: string;
}

/** Guild state the emulator keeps; its channels live in the emulator's channel map. */
export interface EmulatedGuild {
  id: string;
  name: string;
  ownerId: string;
  preferredLocale: Locale;
  /** What interactions from this guild carry as `attachment_size_limit` and what uploads may weigh. */
  attachmentSizeLimit: number;
  /** First entry is @everyone (its id is the guild id), as Discord does it. */
  roles: APIRole[];
  members: Map<string, EmulatedMember>;
  joinedAt: string;
}

export type EmulatedChannel = APITextChannel | APIThreadChannel;

/** How a test describes a guild; everything is optional and filled with a usable default. */
export interface GuildInput {
  id?: string;
  name?: string;
  /** Defaults to the first default user (alice), so she has every permission. */
  ownerId?: string;
  preferredLocale?: Locale;
  attachmentSizeLimit?: number;
  /** Text channels, in order; the first is where interactions happen unless a test says otherwise. */
  channels?: { id?: string; name: string; topic?: string }[];
  /** Roles besides @everyone and the bot's managed role. */
  roles?: { id?: string; name: string; permissions?: bigint | string }[];
  /** Members besides the bot; `roles` holds role ids or names. */
  members?: { user: EmulatedUser; roles?: string[] }[];
}

/** Discord's default upload limit for a server without boosts (10 MiB). */
export const DEFAULT_ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024;

const ALL_PERMISSIONS = Object.values(PermissionFlagsBits).reduce((all, bit) => all | bit, 0n);

/** What @everyone may do in a freshly created server. */
const EVERYONE_PERMISSIONS =
  PermissionFlagsBits.ViewChannel |
  PermissionFlagsBits.SendMessages |
  PermissionFlagsBits.SendMessagesInThreads |
  PermissionFlagsBits.CreatePublicThreads |
  PermissionFlagsBits.EmbedLinks |
  PermissionFlagsBits.AttachFiles |
  PermissionFlagsBits.AddReactions |
  PermissionFlagsBits.ReadMessageHistory |
  PermissionFlagsBits.UseApplicationCommands |
  PermissionFlagsBits.UseExternalEmojis |
  PermissionFlagsBits.ChangeNickname |
  PermissionFlagsBits.Connect |
  PermissionFlagsBits.Speak;

/** What the bot's invite link asks for: enough to post images, buttons and threads. */
const BOT_ROLE_PERMISSIONS =
  EVERYONE_PERMISSIONS |
  PermissionFlagsBits.ManageThreads |
  PermissionFlagsBits.ManageMessages |
  PermissionFlagsBits.CreatePrivateThreads;

export function discordTimestamp(at: number = Date.now()): string {
  // Discord prints microseconds and an explicit offset; discord.js parses either form.
  return new Date(at).toISOString().replace('Z', '000+00:00');
}

export function apiUser(user: EmulatedUser): APIUser {
  return {
    id: user.id,
    username: user.username,
    // Bots keep a four-digit discriminator; people moved to unique usernames ("0").
    discriminator: user.bot ? '4242' : '0',
    global_name: user.globalName,
    avatar: null,
    ...(user.bot ? { bot: true } : {}),
    public_flags: 0 as UserFlags,
  };
}

function makeRole(
  id: string,
  name: string,
  permissions: bigint,
  position: number,
  botId?: string,
): APIRole {
  return {
    id,
    name,
    color: 0,
    colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
    hoist: false,
    icon: null,
    unicode_emoji: null,
    position,
    permissions: permissions.toString(),
    managed: botId !== undefined,
    mentionable: false,
    flags: 0 as RoleFlags,
    ...(botId !== undefined ? { tags: { bot_id: botId } } : {}),
  };
}

function makeTextChannel(
  guildId: string,
  id: string,
  name: string,
  position: number,
  topic: string | null = null,
): APITextChannel {
  return {
    id,
    type: ChannelType.GuildText,
    guild_id: guildId,
    name,
    position,
    permission_overwrites: [],
    parent_id: null,
    nsfw: false,
    topic,
    last_message_id: null,
    last_pin_timestamp: null,
    rate_limit_per_user: 0,
    flags: 0 as ChannelFlags,
  };
}

/** Resolves role names or ids against a guild; an unknown reference is a mistake in the test. */
export function resolveRoleIds(guild: EmulatedGuild, refs: readonly string[]): string[] {
  return refs.map((ref) => {
    const role = guild.roles.find((r) => r.id === ref || r.name === ref);
    if (!role) throw new Error(`guild ${guild.id} has no role ${JSON.stringify(ref)}`);
    return role.id;
  });
}

/** Guild-level permissions as Discord computes them: owner and Administrator get everything. */
export function computePermissions(guild: EmulatedGuild, userId: string, roleIds: readonly string[]): bigint {
  if (userId === guild.ownerId) return ALL_PERMISSIONS;
  let permissions = BigInt(guild.roles[0]?.permissions ?? '0');
  for (const id of roleIds) {
    const role = guild.roles.find((r) => r.id === id);
    if (role) permissions |= BigInt(role.permissions);
  }
  return permissions & PermissionFlagsBits.Administrator ? ALL_PERMISSIONS : permissions;
}

/**
 * Permissions in one channel, as Discord resolves them: the guild-level set, then the channel's
 * overwrites for @everyone, for the member's roles (their denies and allows merged) and for the
 * member, in that order. A thread has no overwrites of its own: its parent's apply. Owner and
 * Administrator skip the overwrites.
 */
export function computeChannelPermissions(
  guild: EmulatedGuild,
  channel: EmulatedChannel,
  parent: EmulatedChannel | undefined,
  userId: string,
  roleIds: readonly string[],
): bigint {
  const base = computePermissions(guild, userId, roleIds);
  if (base === ALL_PERMISSIONS) return base;
  const overwrites = (channel.type === ChannelType.GuildText ? channel : parent)?.permission_overwrites ?? [];
  const apply = (permissions: bigint, overwrite: { allow: bigint; deny: bigint }) => (permissions & ~overwrite.deny) | overwrite.allow;
  const bits = (o: APIOverwrite) => ({ allow: BigInt(o.allow), deny: BigInt(o.deny) });
  let permissions = base;
  const everyone = overwrites.find((o) => o.type === OverwriteType.Role && o.id === guild.id);
  if (everyone) permissions = apply(permissions, bits(everyone));
  const roles = overwrites.filter((o) => o.type === OverwriteType.Role && roleIds.includes(o.id)).map(bits);
  permissions = apply(permissions, { allow: roles.reduce((all, o) => all | o.allow, 0n), deny: roles.reduce((all, o) => all | o.deny, 0n) });
  const own = overwrites.find((o) => o.type === OverwriteType.Member && o.id === userId);
  return own ? apply(permissions, bits(own)) : permissions;
}

export function apiMember(member: EmulatedMember, user: EmulatedUser): APIGuildMember {
  return {
    user: apiUser(user),
    nick: member.nick,
    avatar: null,
    banner: null,
    roles: [...member.roleIds],
    joined_at: member.joinedAt,
    premium_since: null,
    deaf: false,
    mute: false,
    flags: 0 as GuildMemberFlags,
    pending: false,
    communication_disabled_until: null,
  };
}

interface BuildGuildContext {
  snowflakes: SnowflakeGenerator;
  botUser: EmulatedUser;
  defaultMembers: { user: EmulatedUser; roles: string[] }[];
}

/** Fills a test's guild description with what a real server always has. */
export function buildGuild(
  input: GuildInput,
  ctx: BuildGuildContext,
): { guild: EmulatedGuild; channels: APITextChannel[] } {
  const id = input.id ?? ctx.snowflakes.next();
  const joinedAt = discordTimestamp();
  const roles: APIRole[] = [makeRole(id, '@everyone', EVERYONE_PERMISSIONS, 0)];
  for (const [index, role] of (input.roles ?? [{ name: 'Trainer' }]).entries()) {
    roles.push(makeRole(role.id ?? ctx.snowflakes.next(), role.name, BigInt(role.permissions ?? 0n), index + 1));
  }
  const botRole = makeRole(ctx.snowflakes.next(), ctx.botUser.username, BOT_ROLE_PERMISSIONS, roles.length, ctx.botUser.id);
  roles.push(botRole);

  const memberInputs = input.members ?? ctx.defaultMembers;
  const guild: EmulatedGuild = {
    id,
    name: input.name ?? 'kmplz test server',
    ownerId: input.ownerId ?? memberInputs[0]?.user.id ?? ctx.botUser.id,
    preferredLocale: input.preferredLocale ?? Locale.EnglishUS,
    attachmentSizeLimit: input.attachmentSizeLimit ?? DEFAULT_ATTACHMENT_SIZE_LIMIT,
    roles,
    members: new Map(),
    joinedAt,
  };
  guild.members.set(ctx.botUser.id, { userId: ctx.botUser.id, roleIds: [botRole.id], nick: null, joinedAt });
  for (const member of memberInputs) {
    guild.members.set(member.user.id, {
      userId: member.user.id,
      roleIds: resolveRoleIds(guild, member.roles ?? []),
      nick: null,
      joinedAt,
    });
  }
  const channelInputs = input.channels ?? [{ name: 'general' }, { name: 'showcase' }];
  const channels = channelInputs.map((c, position) =>
    makeTextChannel(id, c.id ?? ctx.snowflakes.next(), c.name, position, c.topic ?? null),
  );
  return { guild, channels };
}

export function apiGuild(guild: EmulatedGuild, systemChannelId: string | null): APIGuild {
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    banner: null,
    description: null,
    owner_id: guild.ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: GuildVerificationLevel.Low,
    default_message_notifications: GuildDefaultMessageNotifications.OnlyMentions,
    explicit_content_filter: GuildExplicitContentFilter.AllMembers,
    roles: guild.roles,
    emojis: [],
    stickers: [],
    features: [],
    mfa_level: GuildMFALevel.None,
    application_id: null,
    system_channel_id: systemChannelId,
    system_channel_flags: GuildSystemChannelFlags.SuppressJoinNotificationReplies,
    rules_channel_id: null,
    public_updates_channel_id: null,
    safety_alerts_channel_id: null,
    vanity_url_code: null,
    premium_tier: GuildPremiumTier.None,
    premium_subscription_count: 0,
    premium_progress_bar_enabled: false,
    preferred_locale: guild.preferredLocale,
    nsfw_level: GuildNSFWLevel.Default,
    hub_type: null,
    incidents_data: null,
    max_members: 500000,
    max_video_channel_users: 25,
    max_stage_video_channel_users: 50,
  };
}

/**
 * The GUILD_CREATE a bot receives after READY. discord.js marks the guild available once it
 * carries `channels`; roles must include @everyone and members the bot itself, or permission
 * checks in the client (`guild.members.me`) come out empty.
 */
export function guildCreatePayload(
  guild: EmulatedGuild,
  channels: APITextChannel[],
  threads: APIThreadChannel[],
  users: ReadonlyMap<string, EmulatedUser>,
): GatewayGuildCreateDispatchData {
  const members: APIGuildMember[] = [];
  for (const member of guild.members.values()) {
    const user = users.get(member.userId);
    if (user) members.push(apiMember(member, user));
  }
  return {
    ...apiGuild(guild, channels[0]?.id ?? null),
    joined_at: guild.joinedAt,
    large: false,
    unavailable: false,
    member_count: guild.members.size,
    voice_states: [],
    members,
    channels,
    threads,
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}
