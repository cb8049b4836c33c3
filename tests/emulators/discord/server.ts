import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ChannelType,
  GatewayDispatchEvents,
  GatewayIntentBits,
  OverwriteType,
  type APIApplicationCommand,
  type APITextChannel,
  type APIThreadChannel,
  type ApplicationFlags,
  type UserFlags,
} from 'discord-api-types/v10';
import { SpecValidator, discordSpecPath } from '../openapi-validator.js';
import { GatewayServer, shardOf, type GatewayFrame, type GatewaySessionInfo, type InteractionDelivery } from './gateway.js';
import {
  InteractionFactory,
  InteractionHandle,
  InteractionRecord,
  type AutocompleteInput,
  type BuiltInteraction,
  type ButtonInput,
  type MessageCommandInput,
  type ModalSubmitInput,
  type SlashInput,
  type UserMessageInput,
} from './interactions.js';
import { MessageFactory, type StoredMessage } from './messages.js';
import {
  apiUser,
  buildGuild,
  discordTimestamp,
  guildCreatePayload,
  resolveRoleIds,
  type EmulatedGuild,
  type EmulatedUser,
  type GuildInput,
} from './model.js';
import { RestApi, type Inject429Options, type RecordedRequest, type RequestMatcher } from './rest.js';
import { DiscordState, GLOBAL_COMMANDS } from './state.js';

export interface DiscordEmulatorOptions {
  applicationId?: string;
  /** Defaults to the application id, as for every bot created since 2016. */
  botUserId?: string;
  botUsername?: string;
  /** The bot token the emulator accepts (REST `Authorization: Bot …`, gateway IDENTIFY). */
  token?: string;
  /** Defaults to one server with #general and #showcase, a Trainer role and the default users. */
  guilds?: GuildInput[];
  /** Validate every REST request against Discord's OpenAPI description (default true). */
  validate?: boolean;
  /** HELLO's heartbeat_interval (Discord: 41250 ms). */
  heartbeatIntervalMs?: number;
  /** How long after dispatch an interaction may be acknowledged (Discord: 3 s). */
  ackDeadlineMs?: number;
  /** See `InteractionDelivery`; default round-robin. */
  interactionDelivery?: InteractionDelivery;
  /**
   * Per-route bucket size. Real buckets are tighter (5 messages per 5 s per channel); the
   * default keeps tests fast while still sending the headers @discordjs/rest obeys.
   */
  rateLimit?: { limit: number; windowMs: number };
}

/** Default people, all members of every default guild; alice owns it, bob has the Trainer role. */
export interface DefaultUsers {
  alice: EmulatedUser;
  bob: EmulatedUser;
  carol: EmulatedUser;
  dave: EmulatedUser;
}

const MAX_BODY_BYTES = 26 * 1024 * 1024;

export class DiscordEmulator {
  readonly requests: RecordedRequest[] = [];
  readonly specErrors: string[] = [];
  readonly users: DefaultUsers;
  private readonly state = new DiscordState();
  private readonly gateway: GatewayServer;
  private readonly rest: RestApi;
  private readonly messages: MessageFactory;
  private readonly interactions: InteractionFactory;
  private readonly botUser: EmulatedUser;
  private readonly server: Server;
  private port = 0;

  readonly applicationId: string;
  readonly botUserId: string;
  readonly token: string;
  private readonly ackDeadlineMs: number;

  constructor(options: DiscordEmulatorOptions) {
    const s = this.state;
    this.applicationId = options.applicationId ?? s.snowflakes.next();
    this.botUserId = options.botUserId ?? this.applicationId;
    this.token = options.token ?? 'test-token';
    this.ackDeadlineMs = options.ackDeadlineMs ?? 3000;
    this.botUser = { id: this.botUserId, username: options.botUsername ?? 'kmplz', globalName: null, bot: true };
    s.users.set(this.botUser.id, this.botUser);
    const person = (username: string): EmulatedUser => {
      const user = { id: s.snowflakes.next(), username, globalName: username[0]?.toUpperCase() + username.slice(1), bot: false };
      s.users.set(user.id, user);
      return user;
    };
    this.users = { alice: person('alice'), bob: person('bob'), carol: person('carol'), dave: person('dave') };
    const defaultMembers = [
      { user: this.users.alice, roles: [] },
      { user: this.users.bob, roles: ['Trainer'] },
      { user: this.users.carol, roles: [] },
      { user: this.users.dave, roles: [] },
    ];
    for (const input of options.guilds ?? [{}]) {
      const { guild, channels } = buildGuild(input, { snowflakes: s.snowflakes, botUser: this.botUser, defaultMembers });
      s.guilds.set(guild.id, guild);
      for (const channel of channels) s.channels.set(channel.id, channel);
    }

    this.messages = new MessageFactory({
      snowflakes: s.snowflakes,
      cdn: s.cdn,
      cdnBase: () => this.origin,
      users: s.users,
      urlSecret: randomBytes(16).toString('hex'),
    });
    this.gateway = new GatewayServer({
      token: this.token,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41250,
      delivery: options.interactionDelivery ?? 'round-robin',
      ready: (sessionId, shard) => ({
        v: 10,
        user: { ...apiUser(this.botUser), verified: true, mfa_enabled: false, flags: 0 as UserFlags },
        // Listed unavailable so discord.js waits for the GUILD_CREATEs before emitting ready.
        guilds: this.guildsOfShard(shard).map((g) => ({ id: g.id, unavailable: true })),
        session_id: sessionId,
        resume_gateway_url: this.gatewayUrl,
        shard,
        application: { id: this.applicationId, flags: 0 as ApplicationFlags, flags_new: '0' },
      }),
      guildCreates: (shard) =>
        this.guildsOfShard(shard).map((g) => guildCreatePayload(g, this.textChannels(g.id), this.threads(g.id), s.users)),
    });
    this.rest = new RestApi({
      state: s,
      messages: this.messages,
      gateway: this.gateway,
      validator: options.validate === false ? undefined : new SpecValidator(discordSpecPath),
      applicationId: this.applicationId,
      botUser: this.botUser,
      token: this.token,
      ackDeadlineMs: this.ackDeadlineMs,
      rateLimit: options.rateLimit ?? { limit: 50, windowMs: 1000 },
      gatewayUrl: () => this.gatewayUrl,
      specErrors: this.specErrors,
      requests: this.requests,
    });
    this.interactions = new InteractionFactory({
      state: s,
      messages: this.messages,
      applicationId: this.applicationId,
      botUserId: this.botUserId,
      defaultUser: () => this.users.alice,
    });
    this.server = createServer((req, res) => void this.onRequest(req, res));
    this.server.on('upgrade', (req, socket, head) => {
      if (new URL(req.url ?? '/', this.origin).pathname === '/gateway') this.gateway.handleUpgrade(req, socket, head);
      else socket.destroy();
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** `http://127.0.0.1:PORT`; attachments are served from here (allow `cdnHost` in the bot's SSRF guard). */
  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get cdnHost(): string {
    return `127.0.0.1:${this.port}`;
  }
  /** What the bot puts in DISCORD_API_URL; discord.js appends `/v10`. */
  get apiUrl(): string {
    return `${this.origin}/api`;
  }
  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.port}/gateway`;
  }
  /** Frames clients sent to the gateway (IDENTIFY, RESUME, heartbeats …). */
  get gatewayFrames(): readonly GatewayFrame[] {
    return this.gateway.frames;
  }

  sessions(): GatewaySessionInfo[] {
    return this.gateway.sessionsInfo();
  }

  guild(id?: string): EmulatedGuild {
    const guild = id === undefined ? this.state.guilds.values().next().value : this.state.guilds.get(id);
    if (!guild) throw new Error(`unknown guild ${id}`);
    return guild;
  }

  /** Every guild, in the order they were created. */
  guilds(): EmulatedGuild[] {
    return [...this.state.guilds.values()];
  }

  /** The text channels of a guild (default: the first guild), in order. */
  textChannels(guildId = this.guild().id): APITextChannel[] {
    return [...this.state.channels.values()].filter(
      (c): c is APITextChannel => c.guild_id === guildId && c.type === ChannelType.GuildText,
    );
  }

  /** Threads of a guild, or of one parent channel. */
  threads(guildId = this.guild().id, parentId?: string): APIThreadChannel[] {
    return [...this.state.channels.values()].filter(
      (c): c is APIThreadChannel =>
        (c.type === ChannelType.PublicThread || c.type === ChannelType.PrivateThread) &&
        c.guild_id === guildId &&
        (parentId === undefined || c.parent_id === parentId),
    );
  }

  /** Adds a person to the given guilds (default: all) with the given roles (ids or names). */
  makeUser(username: string, options: { guildIds?: string[]; roles?: string[] } = {}): EmulatedUser {
    const user = { id: this.state.snowflakes.next(), username, globalName: null, bot: false };
    this.state.users.set(user.id, user);
    for (const guild of this.state.guilds.values()) {
      if (options.guildIds && !options.guildIds.includes(guild.id)) continue;
      guild.members.set(user.id, {
        userId: user.id,
        roleIds: resolveRoleIds(guild, options.roles ?? []),
        nick: null,
        joinedAt: discordTimestamp(),
      });
    }
    return user;
  }

  /**
   * Gives or takes permissions from the bot in one text channel (and so in its threads), as a
   * server admin does in the channel's settings: the bot's member overwrite becomes `allow` /
   * `deny` (both empty: removed). REST then refuses what the bot may no longer do there (50013,
   * or 50001 without View Channel), interactions there carry the new `app_permissions`, and a
   * CHANNEL_UPDATE tells the connected bots, so discord.js's `permissionsFor` follows.
   * `announce: false` holds the CHANNEL_UPDATE back: the moment before it reaches the bot.
   */
  setBotPermissions(channelId: string, { allow = 0n, deny = 0n }: { allow?: bigint; deny?: bigint }, { announce = true } = {}): void {
    const channel = this.state.channels.get(channelId);
    if (channel?.type !== ChannelType.GuildText || !channel.guild_id) throw new Error(`${channelId} is not a text channel of a guild (threads go by their parent's permissions)`);
    const others = (channel.permission_overwrites ?? []).filter((o) => !(o.type === OverwriteType.Member && o.id === this.botUserId));
    const own = allow || deny ? [{ id: this.botUserId, type: OverwriteType.Member, allow: allow.toString(), deny: deny.toString() }] : [];
    channel.permission_overwrites = [...others, ...own];
    if (announce) this.gateway.broadcast(channel.guild_id, GatewayIntentBits.Guilds, GatewayDispatchEvents.ChannelUpdate, structuredClone(channel));
    this.state.changed();
  }

  slash(input: SlashInput): Promise<InteractionHandle> {
    return this.interactions.slash(input).then((built) => this.dispatch(built));
  }
  autocomplete(input: AutocompleteInput): Promise<InteractionHandle> {
    return this.interactions.autocomplete(input).then((built) => this.dispatch(built));
  }
  /** A member's message with files in a channel (see UserMessageInput). */
  postAsUser(input: UserMessageInput): Promise<StoredMessage> {
    return this.interactions.userMessage(input);
  }
  /** A message context-menu command used on a message (see MessageCommandInput). */
  messageCommand(input: MessageCommandInput): Promise<InteractionHandle> {
    return Promise.resolve().then(() => this.dispatch(this.interactions.messageCommand(input)));
  }
  button(input: ButtonInput): Promise<InteractionHandle> {
    return Promise.resolve().then(() => this.dispatch(this.interactions.button(input)));
  }
  modalSubmit(input: ModalSubmitInput): Promise<InteractionHandle> {
    return Promise.resolve().then(() => this.dispatch(this.interactions.modalSubmit(input)));
  }

  private dispatch(built: BuiltInteraction): InteractionHandle {
    const record = new InteractionRecord(
      built.payload,
      Date.now(),
      built.guildId,
      built.channelId,
      built.user,
      built.componentMessageId,
      built.triggerMetadata,
    );
    record.sessionIds = this.gateway.dispatchInteraction(built.guildId, built.payload);
    this.state.interactions.set(record.id, record);
    return new InteractionHandle(record, this.state, this.ackDeadlineMs);
  }

  /** Public messages of a channel or thread, oldest first (ephemeral ones on request). */
  messagesIn(channelId: string, options: { includeEphemeral?: boolean } = {}): StoredMessage[] {
    return this.state.messagesIn(channelId, options);
  }

  message(id: string): StoredMessage | undefined {
    return this.state.messages.get(id);
  }

  waitForMessage(channelId: string, predicate: (m: StoredMessage) => boolean = () => true, timeoutMs = 5000): Promise<StoredMessage> {
    return this.waitFor(() => this.messagesIn(channelId).find(predicate), timeoutMs, `a message in channel ${channelId}`);
  }

  /** Resolves with the first defined result of `check`, re-run whenever the emulator's state changes. */
  waitFor<T>(check: () => T | undefined, timeoutMs = 5000, what = 'a condition'): Promise<T> {
    return this.state.waitFor(check, timeoutMs, what);
  }

  /** Commands the bot registered: global ones, or those of a guild. */
  registeredCommands(guildId?: string): APIApplicationCommand[] {
    return [...(this.state.commands.get(guildId ?? GLOBAL_COMMANDS) ?? [])];
  }

  /** Cuts gateway connections (all, or one session's) without a close frame; clients RESUME. */
  dropConnection(sessionId?: string): void {
    this.gateway.drop(sessionId);
  }

  /**
   * The next `count` REST requests matching `matcher` (a RegExp tested against "METHOD /path",
   * or a predicate) are answered 429 instead of being processed.
   */
  inject429(matcher: RequestMatcher, options: Inject429Options, count = 1): void {
    this.rest.inject429(matcher, options, count);
  }

  assertNoSpecErrors(): void {
    if (this.specErrors.length > 0) {
      throw new Error(`Discord emulator saw ${this.specErrors.length} spec error(s):\n${this.specErrors.join('\n')}`);
    }
  }

  async close(): Promise<void> {
    await this.gateway.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
  }

  private guildsOfShard([id, count]: [number, number]): EmulatedGuild[] {
    return [...this.state.guilds.values()].filter((g) => shardOf(g.id, count) === id);
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const method = req.method ?? 'GET';
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      res.writeHead(status, { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) });
      res.end(payload);
    };
    if (url.pathname.startsWith('/attachments/') || url.pathname.startsWith('/ephemeral-attachments/')) {
      return this.serveAttachment(url, method, res);
    }
    if (!url.pathname.startsWith('/api/v10/')) {
      if (url.pathname.startsWith('/api/')) this.specErrors.push(`${method} ${url.pathname}: only /api/v10 is emulated`);
      return send(404, { message: '404: Not Found', code: 0 });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) return send(413, { message: 'Request entity too large', code: 40005 });
      chunks.push(chunk as Buffer);
    }
    const reply = await this.rest.handle(method, url.pathname.slice('/api/v10'.length), url.search, req.headers, Buffer.concat(chunks));
    send(reply.status, reply.body, reply.headers);
  }

  /** The emulator's CDN: signed, expiring URLs like Discord's, so bots must use them as given. */
  private serveAttachment(url: URL, method: string, res: ServerResponse): void {
    const id = url.pathname.split('/')[3] ?? '';
    const file = this.state.cdn.get(id);
    if ((method !== 'GET' && method !== 'HEAD') || !file || !this.messages.verifyUrl(url.pathname, url.searchParams)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('This content is no longer available.');
      return;
    }
    res.writeHead(200, { 'content-type': file.contentType, 'content-length': String(file.data.length) });
    res.end(method === 'HEAD' ? undefined : file.data);
  }
}

export async function startDiscordEmulator(options: DiscordEmulatorOptions = {}): Promise<DiscordEmulator> {
  const emulator = new DiscordEmulator(options);
  await emulator.listen();
  return emulator;
}
