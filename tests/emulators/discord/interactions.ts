import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  ChannelType,
  ComponentType,
  InteractionContextType,
  InteractionResponseType,
  InteractionType,
  Locale,
  type APIApplicationCommand,
  type APIApplicationCommandBasicOption,
  type APIApplicationCommandInteractionDataBasicOption,
  type APIApplicationCommandInteractionDataOption,
  type APIApplicationCommandOption,
  type APIApplicationCommandOptionChoice,
  type APIAttachment,
  type APIBaseInteraction,
  type APIInteraction,
  type APIInteractionDataResolved,
  type APIInteractionGuildMember,
  type APIMessageApplicationCommandInteractionData,
  type APIMessageInteractionMetadata,
  type APIModalInteractionResponseCallbackData,
  type APIModalSubmissionComponent,
  type APIModalSubmitTextInputComponent,
} from 'discord-api-types/v10';
import type { MessageFactory, StoredMessage } from './messages.js';
import {
  apiMember,
  apiUser,
  computeChannelPermissions,
  computePermissions,
  resolveRoleIds,
  type EmulatedChannel,
  type EmulatedGuild,
  type EmulatedUser,
} from './model.js';
import type { UploadedFile } from './multipart.js';
import { GLOBAL_COMMANDS, type DiscordState } from './state.js';

/** The bot's callback to an interaction, as the emulator accepted it. */
export interface InteractionAck {
  type: InteractionResponseType;
  data?: unknown;
  files: UploadedFile[];
  /** When the callback arrived (ms since epoch) and how long after the dispatch. */
  at: number;
  latencyMs: number;
}

/** A file a user attaches to a slash command: hosted by the emulator when `data` is given. */
export interface AttachmentInput {
  filename: string;
  data?: Buffer;
  /** Used as is when there is no `data` (e.g. a file served by another emulator). */
  url?: string;
  contentType?: string;
  size?: number;
  width?: number;
  height?: number;
}

/** Forces an option type when no command is registered and the value's JS type would mislead. */
export interface ExplicitOption {
  type: ApplicationCommandOptionType;
  value: string | number | boolean | AttachmentInput | EmulatedUser;
}

/**
 * A slash command option as a test writes it. Types come from the registered command when there
 * is one; otherwise they are inferred (string, integer, number, boolean, user, attachment).
 * Users, roles and channels may be given by id (roles also by name).
 */
export type OptionValue = string | number | boolean | AttachmentInput | EmulatedUser | ExplicitOption;

/** Who does it and where; defaults: alice, the first guild, its first text channel. */
export interface InteractionContextInput {
  user?: EmulatedUser;
  guildId?: string;
  channelId?: string;
  locale?: Locale;
  /** Overrides the permissions computed from the member's roles. */
  memberPermissions?: bigint | string;
  /** Overrides the member's roles for this interaction (ids or names). */
  roles?: string[];
  /** Overrides the guild's `attachment_size_limit`. */
  attachmentSizeLimit?: number;
}

export interface SlashInput extends InteractionContextInput {
  name: string;
  subcommandGroup?: string;
  subcommand?: string;
  options?: Record<string, OptionValue>;
  /**
   * Send the options as given, even where the registered command would not let Discord's client
   * send them (out of range, unknown): a hostile or replayed payload the bot must check itself.
   */
  forged?: boolean;
}

export interface AutocompleteInput extends SlashInput {
  /** Name of the option being typed in; its value is sent as the raw typed string. */
  focused: string;
}

export interface ButtonInput extends Omit<InteractionContextInput, 'guildId' | 'channelId'> {
  customId: string;
  /** Send the click even though the message has no such button (a forged custom_id). */
  forged?: boolean;
  /** The message carrying the button (a stored message or its id). */
  message: StoredMessage | string;
}

/** A member posting a message with files, as Discord's client does: what a message command is then used on. */
export interface UserMessageInput extends Pick<InteractionContextInput, 'user' | 'guildId' | 'channelId'> {
  content?: string;
  /** Up to 10, each within the server's upload limit (Discord's client refuses more). */
  files: AttachmentInput[];
}

/** A message context-menu command (right-click a message → Apps → `name`). */
export interface MessageCommandInput extends Omit<InteractionContextInput, 'guildId' | 'channelId'> {
  /** The command's name as registered: what the menu shows. */
  name: string;
  /** The message it is used on (a stored message or its id); the interaction happens in its channel. */
  message: StoredMessage | string;
}

export interface ModalSubmitInput extends Omit<InteractionContextInput, 'guildId' | 'channelId'> {
  /** The interaction the bot answered with this modal (type 9); its modal is checked and reused. */
  trigger?: InteractionHandle;
  /** Defaults to the trigger's modal `custom_id`. */
  customId?: string;
  /** Text input values by `custom_id`. */
  fields: Record<string, string>;
  guildId?: string;
  channelId?: string;
}

/** What the emulator keeps about one dispatched interaction. */
export class InteractionRecord {
  response?: InteractionAck;
  originalMessageId?: string;
  readonly followUpIds: string[] = [];
  /** Gateway sessions it was dispatched to. */
  sessionIds: string[] = [];
  /** Set by `InteractionHandle.revokeToken`: the webhook token is refused from then on. */
  tokenRevoked = false;

  constructor(
    readonly payload: APIInteraction,
    readonly dispatchedAt: number,
    readonly guildId: string,
    readonly channelId: string,
    readonly user: EmulatedUser,
    /** For components (and modals opened from one): the message they sit on, which type 6/7 edit. */
    readonly componentMessageId: string | undefined,
    readonly triggerMetadata: APIMessageInteractionMetadata | undefined,
  ) {}

  get id(): string {
    return this.payload.id;
  }
  get token(): string {
    return this.payload.token;
  }
  get type(): InteractionType {
    return this.payload.type;
  }

  /** `interaction_metadata` for the messages that answer this interaction. */
  metadata(): APIMessageInteractionMetadata {
    const base = {
      id: this.id,
      user: apiUser(this.user),
      authorizing_integration_owners: this.payload.authorizing_integration_owners,
      ...(this.originalMessageId ? { original_response_message_id: this.originalMessageId } : {}),
    };
    if (this.type === InteractionType.MessageComponent && this.componentMessageId) {
      return { ...base, type: InteractionType.MessageComponent, interacted_message_id: this.componentMessageId };
    }
    if (this.type === InteractionType.ModalSubmit) {
      return {
        ...base,
        type: InteractionType.ModalSubmit,
        triggering_interaction_metadata: (this.triggerMetadata ?? { ...base, type: InteractionType.ApplicationCommand }) as Extract<
          APIMessageInteractionMetadata,
          { type: InteractionType.ModalSubmit }
        >['triggering_interaction_metadata'],
      };
    }
    return { ...base, type: InteractionType.ApplicationCommand };
  }
}

/** What a test holds after dispatching an interaction: the bot's answer, as it arrives. */
export class InteractionHandle {
  constructor(
    readonly record: InteractionRecord,
    private readonly state: DiscordState,
    private readonly ackDeadlineMs: number,
  ) {}

  get id(): string {
    return this.record.id;
  }
  get token(): string {
    return this.record.token;
  }
  get dispatchedAt(): number {
    return this.record.dispatchedAt;
  }
  /** The INTERACTION_CREATE payload that was dispatched. */
  get payload(): APIInteraction {
    return this.record.payload;
  }
  /** Gateway sessions that received it (one in round-robin mode). */
  get sessionIds(): readonly string[] {
    return this.record.sessionIds;
  }
  get response(): InteractionAck | undefined {
    return this.record.response;
  }

  /** Resolves on the bot's first accepted callback; rejects once Discord would have shown "interaction failed". */
  ack(timeoutMs = Math.max(0, this.dispatchedAt + this.ackDeadlineMs - Date.now()) + 250): Promise<InteractionAck> {
    return this.state.waitFor(() => this.record.response, timeoutMs, `the bot to acknowledge interaction ${this.id}`);
  }

  /**
   * Discord drops this interaction's token now, as it does once the 15 minutes are up (or
   * earlier, when the application's webhook is removed): later webhook calls get 401/50027.
   */
  revokeToken(): void {
    this.record.tokenRevoked = true;
  }

  /** The autocomplete choices the bot answered with (type 8). */
  async choices(timeoutMs?: number): Promise<APIApplicationCommandOptionChoice[]> {
    const ack = await this.ack(timeoutMs);
    if (ack.type !== InteractionResponseType.ApplicationCommandAutocompleteResult) {
      throw new Error(`interaction ${this.id} was answered with type ${ack.type}, not autocomplete choices`);
    }
    return (ack.data as { choices?: APIApplicationCommandOptionChoice[] } | undefined)?.choices ?? [];
  }

  /** The modal the bot opened (type 9). */
  async modal(timeoutMs?: number): Promise<APIModalInteractionResponseCallbackData> {
    const ack = await this.ack(timeoutMs);
    if (ack.type !== InteractionResponseType.Modal) {
      throw new Error(`interaction ${this.id} was answered with type ${ack.type}, not a modal`);
    }
    return ack.data as APIModalInteractionResponseCallbackData;
  }

  /** The current @original message (a deferred one is `loading` until the bot edits it). */
  original(): StoredMessage | undefined {
    const id = this.record.originalMessageId;
    return id === undefined ? undefined : this.state.messages.get(id);
  }

  /** Waits until @original exists and satisfies `predicate` (by default: no longer loading). */
  waitForOriginal(predicate: (m: StoredMessage) => boolean = (m) => !m.loading, timeoutMs = 5000): Promise<StoredMessage> {
    return this.state.waitFor(
      () => {
        const m = this.original();
        return m && predicate(m) ? m : undefined;
      },
      timeoutMs,
      `the @original response of interaction ${this.id}`,
    );
  }

  followUps(): StoredMessage[] {
    return this.record.followUpIds.map((id) => this.state.messages.get(id)).filter((m): m is StoredMessage => m !== undefined);
  }

  waitForFollowUp(predicate: (m: StoredMessage) => boolean = () => true, timeoutMs = 5000): Promise<StoredMessage> {
    return this.state.waitFor(() => this.followUps().find(predicate), timeoutMs, `a follow-up to interaction ${this.id}`);
  }
}

/** A dispatch-ready interaction plus where it happens. */
export interface BuiltInteraction {
  payload: APIInteraction;
  guildId: string;
  channelId: string;
  user: EmulatedUser;
  componentMessageId?: string;
  triggerMetadata?: APIMessageInteractionMetadata;
}

const CONTENT_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  zip: 'application/zip',
  txt: 'text/plain; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

function guessContentType(filename: string): string {
  return CONTENT_TYPES[filename.split('.').pop()?.toLowerCase() ?? ''] ?? 'application/octet-stream';
}

const isUser = (v: unknown): v is EmulatedUser => typeof v === 'object' && v !== null && 'username' in v;
const isAttachment = (v: unknown): v is AttachmentInput => typeof v === 'object' && v !== null && 'filename' in v;
const isExplicit = (v: unknown): v is ExplicitOption =>
  typeof v === 'object' && v !== null && 'type' in v && 'value' in v && !isUser(v);

interface FactoryContext {
  state: DiscordState;
  messages: MessageFactory;
  applicationId: string;
  botUserId: string;
  defaultUser: () => EmulatedUser;
}

/** Builds INTERACTION_CREATE payloads with every field discord.js 14 reads. */
export class InteractionFactory {
  private readonly unregisteredCommandIds = new Map<string, string>();

  constructor(private readonly c: FactoryContext) {}

  private where(input: InteractionContextInput): { guild: EmulatedGuild; channel: EmulatedChannel } {
    const guild = input.guildId ? this.c.state.guilds.get(input.guildId) : this.c.state.guilds.values().next().value;
    if (!guild) throw new Error(`unknown guild ${input.guildId ?? '(none configured)'}`);
    const channel = input.channelId
      ? this.c.state.channels.get(input.channelId)
      : [...this.c.state.channels.values()].find((ch) => ch.guild_id === guild.id && ch.type === ChannelType.GuildText);
    if (!channel || channel.guild_id !== guild.id) {
      throw new Error(`guild ${guild.id} has no ${input.channelId ? `channel ${input.channelId}` : 'text channel'}`);
    }
    return { guild, channel };
  }

  /** The invoking member as this interaction presents them (roles and permissions may be overridden). */
  private invoker(input: InteractionContextInput, guild: EmulatedGuild): APIInteractionGuildMember {
    const user = input.user ?? this.c.defaultUser();
    const member = guild.members.get(user.id);
    if (!member) throw new Error(`${user.username} is not a member of guild ${guild.id}`);
    const roleIds = input.roles ? resolveRoleIds(guild, input.roles) : member.roleIds;
    const permissions = input.memberPermissions ?? computePermissions(guild, user.id, roleIds);
    return { ...apiMember({ ...member, roleIds }, user), permissions: permissions.toString() };
  }

  /** The fields every guild interaction shares. */
  private base<T extends InteractionType>(
    type: T,
    input: InteractionContextInput,
    guild: EmulatedGuild,
    channel: EmulatedChannel,
  ): Omit<APIBaseInteraction<T, never>, 'data'> & { member: APIInteractionGuildMember } {
    const botRoles = guild.members.get(this.c.botUserId)?.roleIds ?? [];
    return {
      id: this.c.state.snowflakes.next(),
      application_id: this.c.applicationId,
      type,
      token: `aW50ZXJhY3Rpb246${this.c.state.snowflakes.next()}${Math.random().toString(36).slice(2)}`,
      version: 1,
      guild: { id: guild.id, locale: guild.preferredLocale, features: [] },
      guild_id: guild.id,
      // discord.js takes `channelId` from `channel.id`; without the object it throws before emitting.
      // A copy, so the payload a test inspects later is what was sent.
      channel: structuredClone(channel),
      channel_id: channel.id,
      member: this.invoker(input, guild),
      // Resolved for this channel, overwrites included, as Discord sends it.
      app_permissions: computeChannelPermissions(guild, channel, this.c.state.channels.get(channel.parent_id ?? ''), this.c.botUserId, botRoles).toString(),
      locale: input.locale ?? Locale.EnglishUS,
      guild_locale: guild.preferredLocale,
      entitlements: [],
      authorizing_integration_owners: { [ApplicationIntegrationType.GuildInstall]: guild.id },
      context: InteractionContextType.Guild,
      attachment_size_limit: input.attachmentSizeLimit ?? guild.attachmentSizeLimit,
    };
  }

  private registered(guildId: string, name: string, type = ApplicationCommandType.ChatInput): APIApplicationCommand | undefined {
    const match = (c: APIApplicationCommand) => c.name === name && (c.type ?? ApplicationCommandType.ChatInput) === type;
    return this.c.state.commands.get(guildId)?.find(match) ?? this.c.state.commands.get(GLOBAL_COMMANDS)?.find(match);
  }

  async slash(input: SlashInput): Promise<BuiltInteraction> {
    return this.command(input, InteractionType.ApplicationCommand, undefined);
  }

  async autocomplete(input: AutocompleteInput): Promise<BuiltInteraction> {
    return this.command(input, InteractionType.ApplicationCommandAutocomplete, input.focused);
  }

  private async command(
    input: SlashInput,
    type: InteractionType.ApplicationCommand | InteractionType.ApplicationCommandAutocomplete,
    focused: string | undefined,
  ): Promise<BuiltInteraction> {
    const { guild, channel } = this.where(input);
    const command = this.registered(guild.id, input.name);
    // An unregistered command still keeps one id across invocations, as a registered one would.
    let commandId = command?.id ?? this.unregisteredCommandIds.get(input.name);
    if (commandId === undefined) {
      commandId = this.c.state.snowflakes.next();
      this.unregisteredCommandIds.set(input.name, commandId);
    }
    const leafDefs = input.forged ? undefined : this.leafDefinitions(command, input);
    const resolved: APIInteractionDataResolved = {};
    const limit = input.attachmentSizeLimit ?? guild.attachmentSizeLimit;
    const invoker = this.invoker(input, guild);
    const leaves: APIApplicationCommandInteractionDataBasicOption[] = [];
    for (const [name, raw] of Object.entries(input.options ?? {})) {
      const def = leafDefs?.find((o) => o.name === name);
      if (leafDefs && !def) throw new Error(`/${input.name} has no option "${name}"`);
      const optionType = isExplicit(raw) ? raw.type : (def?.type ?? inferType(raw));
      const value = isExplicit(raw) ? raw.value : raw;
      const option = await this.option(name, optionType, value, { guild, channel, resolved, limit, invoker });
      if (focused === undefined && def) checkConstraints(input.name, def, option.value);
      if (focused !== undefined) {
        // While typing, Discord sends the raw text of the focused option and numbers as strings.
        if (name === focused) Object.assign(option, { focused: true, value: String(option.value) });
        else if (typeof option.value === 'number') Object.assign(option, { value: String(option.value) });
      }
      leaves.push(option);
    }
    if (focused !== undefined && !leaves.some((o) => o.name === focused)) {
      throw new Error(`autocomplete: the focused option "${focused}" needs a value in options`);
    }
    if (focused === undefined && leafDefs) {
      for (const def of leafDefs) {
        if ('required' in def && def.required && !(def.name in (input.options ?? {}))) {
          throw new Error(`/${input.name}: required option "${def.name}" missing (Discord would not let the user send this)`);
        }
      }
    }
    let options: APIApplicationCommandInteractionDataOption[] = leaves;
    if (input.subcommand) {
      options = [{ type: ApplicationCommandOptionType.Subcommand, name: input.subcommand, options: leaves }];
    }
    if (input.subcommandGroup) {
      options = [
        {
          type: ApplicationCommandOptionType.SubcommandGroup,
          name: input.subcommandGroup,
          options: options as Extract<APIApplicationCommandInteractionDataOption, { type: ApplicationCommandOptionType.Subcommand }>[],
        },
      ];
    }
    const data = {
      id: commandId,
      name: input.name,
      type: ApplicationCommandType.ChatInput as const,
      ...(command?.guild_id ? { guild_id: command.guild_id } : {}),
      // Discord leaves `options` out when there are none.
      ...(options.length > 0 ? { options } : {}),
      ...(Object.keys(resolved).length > 0 ? { resolved } : {}),
    };
    const payload = { ...this.base(type, input, guild, channel), data } as APIInteraction;
    return { payload, guildId: guild.id, channelId: channel.id, user: input.user ?? this.c.defaultUser() };
  }

  /** The option definitions under the chosen subcommand (undefined when the command is not registered). */
  private leafDefinitions(command: APIApplicationCommand | undefined, input: SlashInput): APIApplicationCommandBasicOption[] | undefined {
    if (!command) return undefined;
    let defs: APIApplicationCommandOption[] = command.options ?? [];
    for (const [wanted, type] of [
      [input.subcommandGroup, ApplicationCommandOptionType.SubcommandGroup],
      [input.subcommand, ApplicationCommandOptionType.Subcommand],
    ] as const) {
      if (wanted === undefined) continue;
      const found = defs.find((o) => o.type === type && o.name === wanted);
      // A subcommand without options comes back from Discord without an `options` key.
      if (!found) throw new Error(`/${command.name} has no subcommand (group) "${wanted}"`);
      defs = ('options' in found ? found.options : undefined) ?? [];
    }
    if (defs.some((o) => o.type === ApplicationCommandOptionType.Subcommand || o.type === ApplicationCommandOptionType.SubcommandGroup)) {
      throw new Error(`/${command.name} needs a subcommand`);
    }
    return defs as APIApplicationCommandBasicOption[];
  }

  private async option(
    name: string,
    type: ApplicationCommandOptionType,
    value: ExplicitOption['value'],
    ctx: {
      guild: EmulatedGuild;
      channel: EmulatedChannel;
      resolved: APIInteractionDataResolved;
      limit: number;
      invoker: APIInteractionGuildMember;
    },
  ): Promise<APIApplicationCommandInteractionDataBasicOption> {
    const { guild, resolved } = ctx;
    const addUser = (user: EmulatedUser) => {
      const member = guild.members.get(user.id);
      (resolved.users ??= {})[user.id] = apiUser(user);
      if (member) {
        const { user: _omitted, deaf: _d, mute: _m, ...rest } = apiMember(member, user);
        (resolved.members ??= {})[user.id] = { ...rest, permissions: computePermissions(guild, user.id, member.roleIds).toString() };
      }
      return user.id;
    };
    switch (type) {
      case ApplicationCommandOptionType.String:
        return { name, type, value: String(value) };
      case ApplicationCommandOptionType.Integer:
      case ApplicationCommandOptionType.Number:
        return { name, type, value: Number(value) };
      case ApplicationCommandOptionType.Boolean:
        return { name, type, value: Boolean(value) };
      case ApplicationCommandOptionType.User: {
        const user = isUser(value) ? value : this.c.state.users.get(String(value));
        if (!user) throw new Error(`option ${name}: unknown user ${String(value)}`);
        return { name, type, value: addUser(user) };
      }
      case ApplicationCommandOptionType.Role:
      case ApplicationCommandOptionType.Mentionable: {
        if (isUser(value) || this.c.state.users.has(String(value))) {
          const user = isUser(value) ? value : (this.c.state.users.get(String(value)) as EmulatedUser);
          return { name, type, value: addUser(user) };
        }
        const [roleId] = resolveRoleIds(guild, [String(value)]);
        const role = guild.roles.find((r) => r.id === roleId);
        if (!roleId || !role) throw new Error(`option ${name}: unknown role ${String(value)}`);
        (resolved.roles ??= {})[roleId] = role;
        return { name, type, value: roleId };
      }
      case ApplicationCommandOptionType.Channel: {
        const channel = this.c.state.channels.get(String(value));
        if (!channel || channel.guild_id !== guild.id) throw new Error(`option ${name}: unknown channel ${String(value)}`);
        (resolved.channels ??= {})[channel.id] = {
          id: channel.id,
          name: channel.name,
          type: channel.type,
          // The invoking member's permissions (no per-channel overwrites are emulated).
          permissions: ctx.invoker.permissions,
          ...('thread_metadata' in channel ? { parent_id: channel.parent_id, thread_metadata: channel.thread_metadata } : {}),
        } as NonNullable<APIInteractionDataResolved['channels']>[string];
        return { name, type, value: channel.id };
      }
      case ApplicationCommandOptionType.Attachment: {
        if (!isAttachment(value)) throw new Error(`option ${name}: an attachment needs { filename, data | url }`);
        const attachment = await this.attachment(value, ctx.channel.id, ctx.limit);
        (resolved.attachments ??= {})[attachment.id] = attachment;
        return { name, type, value: attachment.id };
      }
      default:
        throw new Error(`option ${name}: type ${type} cannot be given as a value`);
    }
  }

  /** Files attached to a slash command are "ephemeral attachments", referenced by id in the option. */
  private async attachment(input: AttachmentInput, channelId: string, limit: number): Promise<APIAttachment> {
    const contentType = input.contentType ?? guessContentType(input.filename);
    const size = input.size ?? input.data?.length ?? 0;
    if (size > limit) {
      throw new Error(`${input.filename} (${size} bytes) is over this server's upload limit of ${limit}; Discord would refuse it`);
    }
    const dims = input.width !== undefined && input.height !== undefined ? { width: input.width, height: input.height } : {};
    if (input.data) {
      const hosted = await this.c.messages.host(channelId, { filename: input.filename, contentType, data: input.data }, {}, true);
      return { ...hosted, ...dims, ephemeral: true };
    }
    if (!input.url) throw new Error(`attachment ${input.filename} needs data or url`);
    return {
      id: this.c.state.snowflakes.next(),
      filename: input.filename,
      size,
      url: input.url,
      proxy_url: input.url,
      content_type: contentType,
      ephemeral: true,
      ...dims,
    };
  }

  /** Posts a member's message with files (hosted like any upload); no gateway event: the bot has no GuildMessages intent. */
  async userMessage(input: UserMessageInput): Promise<StoredMessage> {
    const { guild, channel } = this.where(input);
    const user = input.user ?? this.c.defaultUser();
    if (!guild.members.has(user.id)) throw new Error(`${user.username} is not a member of guild ${guild.id}`);
    const files: UploadedFile[] = input.files.map((file, index) => {
      if (!file.data) throw new Error(`a message's file ${file.filename} needs data`);
      return { name: `files[${index}]`, filename: file.filename, contentType: file.contentType ?? guessContentType(file.filename), data: file.data };
    });
    const write = { content: input.content ?? '', attachments: files.map((file, index) => ({ id: String(index), filename: file.filename })) };
    try {
      this.c.messages.checkLimits(write, files, guild.attachmentSizeLimit);
    } catch (error) {
      throw new Error(`Discord's client would not send this message: ${(error as Error).message}`);
    }
    const message = await this.c.messages.create(channel.id, guild, { author: user }, write, files);
    this.c.state.addMessage(message);
    return message;
  }

  /**
   * A message context-menu command as Discord sends it: an APPLICATION_COMMAND interaction whose
   * data has `type: 3` (MESSAGE), `target_id` and the target message (attachments and all) in
   * `resolved.messages` (discord-api-types APIMessageApplicationCommandInteractionData).
   */
  messageCommand(input: MessageCommandInput): BuiltInteraction {
    const message = typeof input.message === 'string' ? this.c.state.messages.get(input.message) : input.message;
    if (!message || message.deleted) throw new Error(`no message ${typeof input.message === 'string' ? input.message : input.message.id}`);
    if (message.ephemeral) throw new Error('an ephemeral message has no context menu');
    const { guild, channel } = this.where({ ...input, guildId: this.c.state.guildOfChannel(message.channelId)?.id, channelId: message.channelId });
    const command = this.registered(guild.id, input.name, ApplicationCommandType.Message);
    let commandId = command?.id ?? this.unregisteredCommandIds.get(`message:${input.name}`);
    if (commandId === undefined) {
      commandId = this.c.state.snowflakes.next();
      this.unregisteredCommandIds.set(`message:${input.name}`, commandId);
    }
    const data: APIMessageApplicationCommandInteractionData = {
      id: commandId,
      name: input.name,
      type: ApplicationCommandType.Message,
      target_id: message.id,
      // A copy: the payload a test inspects later is what was sent.
      resolved: { messages: { [message.id]: structuredClone(message.api) } },
      ...(command?.guild_id ? { guild_id: command.guild_id } : {}),
    };
    const payload = { ...this.base(InteractionType.ApplicationCommand, input, guild, channel), data } as APIInteraction;
    return { payload, guildId: guild.id, channelId: channel.id, user: input.user ?? this.c.defaultUser() };
  }

  button(input: ButtonInput): BuiltInteraction {
    const message = typeof input.message === 'string' ? this.c.state.messages.get(input.message) : input.message;
    if (!message || message.deleted) throw new Error(`no message ${typeof input.message === 'string' ? input.message : input.message.id}`);
    const component = findComponent(message.components, input.customId);
    // A forged click is a hostile payload Discord's client cannot send; the bot must still not trust custom_ids.
    if (!input.forged && (!component || component.type !== ComponentType.Button)) {
      throw new Error(`message ${message.id} has no button with custom_id ${JSON.stringify(input.customId)}`);
    }
    if (!input.forged && component?.disabled === true) throw new Error(`button ${input.customId} is disabled; nobody can click it`);
    const { guild, channel } = this.where({ ...input, guildId: this.c.state.guildOfChannel(message.channelId)?.id, channelId: message.channelId });
    const payload = {
      ...this.base(InteractionType.MessageComponent, input, guild, channel),
      message: message.api,
      data: { custom_id: input.customId, component_type: ComponentType.Button },
    } as APIInteraction;
    return { payload, guildId: guild.id, channelId: channel.id, user: input.user ?? this.c.defaultUser(), componentMessageId: message.id };
  }

  modalSubmit(input: ModalSubmitInput): BuiltInteraction {
    const trigger = input.trigger?.record;
    const modal =
      trigger?.response?.type === InteractionResponseType.Modal ? (trigger.response.data as APIModalInteractionResponseCallbackData) : undefined;
    if (trigger && !modal) throw new Error(`interaction ${trigger.id} was not answered with a modal`);
    const customId = input.customId ?? modal?.custom_id;
    if (customId === undefined) throw new Error('modalSubmit needs a customId or a trigger that opened a modal');
    const components = modal ? submissionFromModal(modal, input.fields) : actionRows(input.fields);
    const componentMessage = trigger?.componentMessageId ? this.c.state.messages.get(trigger.componentMessageId) : undefined;
    const { guild, channel } = this.where({
      ...input,
      guildId: input.guildId ?? trigger?.guildId,
      channelId: input.channelId ?? trigger?.channelId,
    });
    const payload = {
      ...this.base(InteractionType.ModalSubmit, { ...input, user: input.user ?? trigger?.user }, guild, channel),
      ...(componentMessage ? { message: componentMessage.api } : {}),
      data: { custom_id: customId, components },
    } as APIInteraction;
    return {
      payload,
      guildId: guild.id,
      channelId: channel.id,
      user: input.user ?? trigger?.user ?? this.c.defaultUser(),
      ...(componentMessage ? { componentMessageId: componentMessage.id } : {}),
      ...(trigger ? { triggerMetadata: trigger.metadata() } : {}),
    };
  }
}

function inferType(value: OptionValue): ApplicationCommandOptionType {
  if (typeof value === 'string') return ApplicationCommandOptionType.String;
  if (typeof value === 'boolean') return ApplicationCommandOptionType.Boolean;
  if (typeof value === 'number') return Number.isInteger(value) ? ApplicationCommandOptionType.Integer : ApplicationCommandOptionType.Number;
  if (isUser(value)) return ApplicationCommandOptionType.User;
  return ApplicationCommandOptionType.Attachment;
}

/** What Discord's client enforces before sending: choices, ranges and lengths. */
function checkConstraints(command: string, def: APIApplicationCommandBasicOption, value: unknown): void {
  const fail = (why: string) => {
    throw new Error(`/${command} ${def.name}: ${why} (Discord would not let the user send this)`);
  };
  if ('choices' in def && def.choices && !def.choices.some((c) => c.value === value)) fail(`${String(value)} is not a choice`);
  if (typeof value === 'number' && 'min_value' in def) {
    if (def.min_value !== undefined && value < def.min_value) fail(`${value} < min_value ${def.min_value}`);
    if (def.max_value !== undefined && value > def.max_value) fail(`${value} > max_value ${def.max_value}`);
    if (def.type === ApplicationCommandOptionType.Integer && !Number.isInteger(value)) fail(`${value} is not an integer`);
  }
  if (typeof value === 'string' && 'min_length' in def) {
    if (def.min_length !== undefined && value.length < def.min_length) fail(`shorter than ${def.min_length}`);
    if (def.max_length !== undefined && value.length > def.max_length) fail(`longer than ${def.max_length}`);
  }
}

type AnyComponent = { type: number; custom_id?: string; disabled?: boolean } & Record<string, unknown>;

/** Finds a component by custom_id in rows, containers, sections (accessory) and labels. */
function findComponent(components: readonly unknown[], customId: string): AnyComponent | undefined {
  for (const raw of components) {
    const c = raw as AnyComponent;
    if (c.custom_id === customId) return c;
    const nested = [...((c.components as unknown[] | undefined) ?? []), ...(c.accessory ? [c.accessory] : []), ...(c.component ? [c.component] : [])];
    const found = findComponent(nested, customId);
    if (found) return found;
  }
  return undefined;
}

function textInput(customId: string, value: string): APIModalSubmitTextInputComponent {
  return { type: ComponentType.TextInput, custom_id: customId, value };
}

function actionRows(fields: Record<string, string>): APIModalSubmissionComponent[] {
  return Object.entries(fields).map(([id, value]) => ({ type: ComponentType.ActionRow, components: [textInput(id, value)] }));
}

/** Answers a modal in its own layout (action rows or labels), refusing fields it does not have. */
function submissionFromModal(modal: APIModalInteractionResponseCallbackData, fields: Record<string, string>): APIModalSubmissionComponent[] {
  const inputs: { id: string; required: boolean; inLabel: boolean }[] = [];
  for (const top of modal.components as unknown as AnyComponent[]) {
    const children = top.type === ComponentType.Label ? [top.component as AnyComponent] : ((top.components as AnyComponent[] | undefined) ?? []);
    for (const child of children) {
      if (child.type === ComponentType.TextInput && child.custom_id) {
        inputs.push({ id: child.custom_id, required: child.required !== false, inLabel: top.type === ComponentType.Label });
      }
    }
  }
  for (const key of Object.keys(fields)) {
    if (!inputs.some((i) => i.id === key)) throw new Error(`modal ${modal.custom_id} has no text input ${JSON.stringify(key)}`);
  }
  const missing = inputs.find((i) => i.required && !(i.id in fields));
  if (missing) throw new Error(`modal ${modal.custom_id}: required input ${missing.id} left empty (Discord would not submit)`);
  return inputs.map((i) =>
    i.inLabel
      ? { type: ComponentType.Label, component: textInput(i.id, fields[i.id] ?? '') }
      : { type: ComponentType.ActionRow, components: [textInput(i.id, fields[i.id] ?? '')] },
  );
}

