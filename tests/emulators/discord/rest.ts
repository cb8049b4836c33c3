import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import {
  ApplicationCommandType,
  ApplicationIntegrationType,
  ChannelType,
  GatewayDispatchEvents,
  GatewayIntentBits,
  GatewayOpcodes,
  InteractionResponseType,
  InteractionType,
  MessageFlags,
  MessageType,
  PermissionFlagsBits,
  ThreadAutoArchiveDuration,
  type APIApplication,
  type ApplicationFlags,
  type APIApplicationCommand,
  type APIGatewayBotInfo,
  type APIMessage,
  type APIThreadChannel,
} from 'discord-api-types/v10';
import type { SpecValidator, ValidationResult } from '../openapi-validator.js';
import type { GatewayServer } from './gateway.js';
import type { InteractionRecord } from './interactions.js';
import { DiscordApiError, invalidFormBody, readMessageWrite, type MessageFactory, type MessageWrite, type StoredMessage } from './messages.js';
import { apiGuild, apiMember, apiUser, computeChannelPermissions, discordTimestamp, type EmulatedChannel, type EmulatedGuild, type EmulatedUser } from './model.js';
import { MalformedBodyError, parseBody, type UploadedFile } from './multipart.js';
import { GLOBAL_COMMANDS, type DiscordState } from './state.js';

/** One REST request as the emulator received and answered it. */
export interface RecordedRequest {
  method: string;
  /** Decoded, without `/api/v10` or query, e.g. `/webhooks/123/tok/messages/@original`. */
  path: string;
  query: Record<string, string | string[]>;
  headers: IncomingHttpHeaders;
  /** JSON body, or the parsed `payload_json` of a multipart body. */
  body?: unknown;
  files: UploadedFile[];
  at: number;
  /** Filled in when answered. */
  status?: number;
  response?: unknown;
  operationId?: string;
}

export interface Inject429Options {
  /** Seconds, as Discord sends it (a float in the body, rounded up in the `Retry-After` header). */
  retryAfter: number;
  global?: boolean;
}

export type RequestMatcher = RegExp | ((request: RecordedRequest) => boolean);

export interface RestOptions {
  state: DiscordState;
  messages: MessageFactory;
  gateway: GatewayServer;
  validator: SpecValidator | undefined;
  applicationId: string;
  botUser: EmulatedUser;
  token: string;
  ackDeadlineMs: number;
  rateLimit: { limit: number; windowMs: number };
  gatewayUrl: () => string;
  specErrors: string[];
  requests: RecordedRequest[];
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Ctx {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  files: UploadedFile[];
  receivedAt: number;
}

interface Route {
  method: string;
  segments: string[];
  pattern: string;
  /** `bot` routes need `Authorization: Bot <token>`; interaction and webhook-token routes carry their own secret. */
  auth: 'bot' | 'none';
  handler: (ctx: Ctx) => Promise<Reply> | Reply;
}

const json = (body: unknown, status = 200): Reply => ({ status, body });
const noContent = (): Reply => ({ status: 204 });
const unknown = (what: string, code: number) => new DiscordApiError(404, code, `Unknown ${what}`);
const MISSING_ACCESS = () => new DiscordApiError(403, 50001, 'Missing Access');
const MISSING_PERMISSIONS = () => new DiscordApiError(403, 50013, 'Missing Permissions');
const WEBHOOK_TOKEN = () => new DiscordApiError(401, 50027, 'Invalid Webhook Token');
/** Interaction tokens work for follow-ups and edits this long after the interaction. */
const TOKEN_LIFETIME_MS = 15 * 60_000;
/** The flags a bot may set when it creates a message; the others are Discord's to set. */
const SETTABLE_FLAGS = MessageFlags.SuppressEmbeds | MessageFlags.SuppressNotifications | MessageFlags.IsComponentsV2;
const AUTOCOMPLETE_CHOICES_MAX = 25;

/**
 * Discord's REST API under /api/v10: routing, auth, rate-limit headers, 429 injection,
 * request recording and validation against the OpenAPI description.
 */
export class RestApi {
  private readonly routes: Route[] = [];
  private readonly injections: { matcher: RequestMatcher; options: Inject429Options; remaining: number }[] = [];
  private readonly buckets = new Map<string, { count: number; resetAt: number }>();
  /** Callbacks being processed, so a second concurrent callback is refused like a later one. */
  private readonly responding = new WeakSet<InteractionRecord>();

  constructor(private readonly o: RestOptions) {
    this.defineRoutes();
  }

  inject429(matcher: RequestMatcher, options: Inject429Options, count: number): void {
    this.injections.push({ matcher, options, remaining: count });
  }

  /** Handles one request to `/api/v10/…`; `path` is the part after the version. */
  async handle(method: string, rawPath: string, search: string, headers: IncomingHttpHeaders, raw: Buffer): Promise<Reply> {
    const receivedAt = Date.now();
    const segments = rawPath.split('/').map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
    const path = segments.join('/');
    const query = new URLSearchParams(search);
    const recorded: RecordedRequest = { method, path, query: queryRecord(query), headers, files: [], at: receivedAt };
    this.o.requests.push(recorded);

    let reply: Reply;
    let validation: Promise<ValidationResult | undefined> = Promise.resolve(undefined);
    try {
      const parsed = await parseBody(raw, headers['content-type']);
      recorded.body = parsed.body;
      recorded.files = parsed.files;
      // Validation runs alongside the handler; the reply waits for it so specErrors is complete
      // by the time the client (and so the test) sees the answer.
      validation = this.validate(recorded);
      reply = await this.route(method, segments, recorded, validation, { query, body: parsed.body, files: parsed.files, receivedAt });
    } catch (error) {
      if (error instanceof MalformedBodyError) {
        this.o.specErrors.push(`${method} ${path}: ${error.message}`);
        reply = errorReply(new DiscordApiError(400, error.code, error.message));
      } else if (error instanceof DiscordApiError) {
        reply = errorReply(error);
      } else {
        // A crash in the emulator must fail the test run, not hide as a 500 the bot retries.
        this.o.specErrors.push(`emulator error on ${method} ${path}: ${(error as Error).stack ?? String(error)}`);
        reply = { status: 500, body: { message: '500: Internal Server Error', code: 0 } };
      }
    }
    await validation;
    recorded.status = reply.status;
    recorded.response = reply.body;
    this.o.state.changed();
    return reply;
  }

  private async validate(recorded: RecordedRequest): Promise<ValidationResult | undefined> {
    if (!this.o.validator) return undefined;
    const result = await this.o.validator.validate(recorded).catch((error: unknown) => ({
      operationId: undefined,
      errors: [`validator failed: ${String(error)}`],
    }));
    if (result.operationId) recorded.operationId = result.operationId;
    for (const error of result.errors) this.o.specErrors.push(`${recorded.method} ${recorded.path}: ${error}`);
    return result;
  }

  private async route(
    method: string,
    segments: string[],
    recorded: RecordedRequest,
    validation: Promise<ValidationResult | undefined>,
    base: Omit<Ctx, 'params'>,
  ): Promise<Reply> {
    const match = this.match(method, segments);
    if (!match) {
      // The validator reports routes the spec does not know; routes it knows but the emulator
      // does not must be noticed too (and everything, when validation is off).
      const result = await validation;
      if (!result) this.o.specErrors.push(`${method} ${recorded.path}: not emulated`);
      else if (result.operationId) this.o.specErrors.push(`${method} ${recorded.path}: ${result.operationId} is not emulated`);
      return json({ message: '404: Not Found', code: 0 }, 404);
    }
    const { route, params } = match;
    if (route.auth === 'bot' && recorded.headers.authorization !== `Bot ${this.o.token}`) {
      return json({ message: '401: Unauthorized', code: 0 }, 401);
    }
    const injected = this.injections.find((i) => i.remaining > 0 && matches(i.matcher, recorded));
    if (injected) {
      injected.remaining -= 1;
      return rateLimited(injected.options, this.bucketHash(route), this.o.rateLimit.limit);
    }
    const limit = this.rateLimit(route, params);
    if (limit.status) return limit.status;
    const reply = await route.handler({ ...base, params });
    return { ...reply, headers: { ...limit.headers, ...reply.headers } };
  }

  private match(method: string, segments: string[]): { route: Route; params: Record<string, string> } | undefined {
    for (const route of this.routes) {
      if (route.method !== method || route.segments.length !== segments.length) continue;
      const params: Record<string, string> = {};
      const ok = route.segments.every((part, i) => {
        const actual = segments[i] ?? '';
        if (part.startsWith(':')) {
          params[part.slice(1)] = actual;
          return actual !== '';
        }
        return part === actual;
      });
      if (ok) return { route, params };
    }
    return undefined;
  }

  private bucketHash(route: Route): string {
    return createHash('sha1').update(`${route.method} ${route.pattern}`).digest('hex').slice(0, 16);
  }

  /**
   * Per-route buckets keyed by the major parameter (channel, guild, webhook), with the headers
   * @discordjs/rest reads. Exceeding a bucket gets a real 429, as it would on Discord.
   */
  private rateLimit(route: Route, params: Record<string, string>): { headers: Record<string, string>; status?: Reply } {
    // An interaction callback is limited per interaction, not per bot: a class sending fifty
    // commands at once gets fifty acknowledgements (@discordjs/rest sends them in a burst).
    const major =
      params.channel_id ?? params.guild_id ?? (params.webhook_id ? `${params.webhook_id}/${params.webhook_token}` : (params.interaction_id ?? ''));
    const key = `${route.method} ${route.pattern} ${major}`;
    const now = Date.now();
    let bucket = this.buckets.get(key);
    if (!bucket || bucket.resetAt <= now) {
      bucket = { count: 0, resetAt: now + this.o.rateLimit.windowMs };
      this.buckets.set(key, bucket);
    }
    const resetAfter = (bucket.resetAt - now) / 1000;
    const hash = this.bucketHash(route);
    if (bucket.count >= this.o.rateLimit.limit) return { headers: {}, status: rateLimited({ retryAfter: resetAfter }, hash, this.o.rateLimit.limit) };
    bucket.count += 1;
    return {
      headers: {
        'x-ratelimit-limit': String(this.o.rateLimit.limit),
        'x-ratelimit-remaining': String(this.o.rateLimit.limit - bucket.count),
        'x-ratelimit-reset': (bucket.resetAt / 1000).toFixed(3),
        'x-ratelimit-reset-after': resetAfter.toFixed(3),
        'x-ratelimit-bucket': hash,
      },
    };
  }

  private on(method: string, pattern: string, auth: Route['auth'], handler: Route['handler']): void {
    this.routes.push({ method, pattern, segments: pattern.split('/'), auth, handler });
  }

  private defineRoutes(): void {
    const s = this.o.state;
    this.on('GET', '/gateway', 'none', () => json({ url: this.o.gatewayUrl() }));
    this.on('GET', '/gateway/bot', 'bot', () => {
      const info: APIGatewayBotInfo = {
        url: this.o.gatewayUrl(),
        shards: 1,
        // Each IDENTIFY uses up one session start, as on Discord.
        session_start_limit: {
          total: 1000,
          remaining: 1000 - this.o.gateway.frames.filter((f) => f.op === GatewayOpcodes.Identify).length,
          reset_after: 86_400_000,
          max_concurrency: 1,
        },
      };
      return json(info);
    });
    this.on('GET', '/users/@me', 'bot', () =>
      json({ ...apiUser(this.o.botUser), verified: true, mfa_enabled: false, flags: 0, locale: 'en-US' }),
    );
    this.on('GET', '/applications/@me', 'bot', () => json(this.application()));

    for (const scope of ['', '/guilds/:guild_id'] as const) {
      const base = `/applications/:application_id${scope}/commands`;
      this.on('GET', base, 'bot', (c) =>
        // As Discord: the translation maps only when asked for with `with_localizations=true`.
        json(c.query.get('with_localizations') === 'true' ? this.commandList(c) : this.commandList(c).map(withoutLocalizations)),
      );
      this.on('PUT', base, 'bot', (c) => json(this.putCommands(c)));
      this.on('POST', base, 'bot', (c) => this.postCommand(c));
      this.on('GET', `${base}/:command_id`, 'bot', (c) => json(this.findCommand(c).command));
      this.on('PATCH', `${base}/:command_id`, 'bot', (c) => json(this.patchCommand(c)));
      this.on('DELETE', `${base}/:command_id`, 'bot', (c) => {
        const { list, command } = this.findCommand(c);
        list.splice(list.indexOf(command), 1);
        return noContent();
      });
    }

    this.on('POST', '/interactions/:interaction_id/:interaction_token/callback', 'none', (c) => this.callback(c));

    const hook = '/webhooks/:webhook_id/:webhook_token';
    this.on('POST', hook, 'none', (c) => this.followUp(c));
    // `@original` before `:message_id`: routes match in definition order.
    for (const target of ['@original', ':message_id']) {
      const path = `${hook}/messages/${target}`;
      this.on('GET', path, 'none', (c) => json(this.webhookMessage(c).api));
      this.on('PATCH', path, 'none', async (c) => {
        const message = this.webhookMessage(c);
        const write = readMessageWrite(c.body);
        const guild = s.guilds.get(this.webhookRecord(c).guildId);
        this.o.messages.checkLimits(write, c.files, guild?.attachmentSizeLimit ?? Infinity);
        // Editing a deferred response turns the "thinking" placeholder into the answer.
        await this.o.messages.edit(message, guild, write, c.files, MessageFlags.Loading);
        return json(message.api);
      });
      this.on('DELETE', path, 'none', (c) => {
        this.webhookMessage(c).deleted = true;
        return noContent();
      });
    }

    this.on('GET', '/channels/:channel_id', 'bot', (c) => json(this.channel(c.params.channel_id)));
    this.on('GET', '/channels/:channel_id/messages', 'bot', (c) => json(this.listMessages(c)));
    this.on('POST', '/channels/:channel_id/messages', 'bot', (c) => this.postMessage(c));
    this.on('GET', '/channels/:channel_id/messages/:message_id', 'bot', (c) => json(this.channelMessage(c).api));
    this.on('PATCH', '/channels/:channel_id/messages/:message_id', 'bot', async (c) => {
      const message = this.channelMessage(c);
      if (message.api.author.id !== this.o.botUser.id) {
        throw new DiscordApiError(403, 50005, 'Cannot edit a message authored by another user');
      }
      const write = readMessageWrite(c.body);
      this.requireBotPermissions(this.channel(message.channelId), this.contentPermissions(write, c.files));
      const guild = s.guildOfChannel(message.channelId);
      this.o.messages.checkLimits(write, c.files, guild?.attachmentSizeLimit ?? Infinity);
      await this.o.messages.edit(message, guild, write, c.files);
      return json(message.api);
    });
    this.on('DELETE', '/channels/:channel_id/messages/:message_id', 'bot', (c) => {
      this.channelMessage(c).deleted = true;
      return noContent();
    });
    this.on('POST', '/channels/:channel_id/threads', 'bot', (c) => this.createThread(c, undefined));
    this.on('POST', '/channels/:channel_id/messages/:message_id/threads', 'bot', (c) =>
      this.createThread(c, this.channelMessage(c)),
    );

    this.on('GET', '/guilds/:guild_id', 'bot', (c) => {
      const guild = this.guild(c.params.guild_id);
      const counts = c.query.get('with_counts') === 'true';
      return json({
        ...apiGuild(guild, this.guildChannels(guild.id)[0]?.id ?? null),
        ...(counts ? { approximate_member_count: guild.members.size, approximate_presence_count: 0 } : {}),
      });
    });
    this.on('GET', '/guilds/:guild_id/members/:user_id', 'bot', (c) => {
      const guild = this.guild(c.params.guild_id);
      const member = guild.members.get(c.params.user_id ?? '');
      const user = s.users.get(c.params.user_id ?? '');
      if (!member || !user) throw unknown('Member', 10007);
      return json(apiMember(member, user));
    });
    this.on('GET', '/guilds/:guild_id/roles', 'bot', (c) => json(this.guild(c.params.guild_id).roles));
  }

  private application(): APIApplication {
    return {
      id: this.o.applicationId,
      name: this.o.botUser.username,
      icon: null,
      description: '',
      summary: '',
      bot_public: false,
      bot_require_code_grant: false,
      bot: apiUser(this.o.botUser),
      verify_key: createHash('sha256').update(this.o.applicationId).digest('hex'),
      team: null,
      flags: 0 as ApplicationFlags,
      flags_new: '0',
      approximate_guild_count: this.o.state.guilds.size,
      interactions_endpoint_url: null,
      integration_types_config: { [ApplicationIntegrationType.GuildInstall]: {} },
    };
  }

  // ── application commands ────────────────────────────────────────────────────────────────

  private commandScope(c: Ctx): { key: string; guildId?: string } {
    if (c.params.application_id !== this.o.applicationId) throw MISSING_ACCESS();
    const guildId = c.params.guild_id;
    if (guildId === undefined) return { key: GLOBAL_COMMANDS };
    if (!this.o.state.guilds.has(guildId)) throw MISSING_ACCESS();
    return { key: guildId, guildId };
  }

  private commandList(c: Ctx): APIApplicationCommand[] {
    const { key } = this.commandScope(c);
    let list = this.o.state.commands.get(key);
    if (!list) this.o.state.commands.set(key, (list = []));
    return list;
  }

  /** Fills the fields Discord adds; an existing command with the same name and type keeps its id. */
  private normaliseCommand(input: unknown, c: Ctx, existing: APIApplicationCommand[]): APIApplicationCommand {
    const body = (typeof input === 'object' && input !== null ? input : {}) as Partial<APIApplicationCommand>;
    const type = body.type ?? ApplicationCommandType.ChatInput;
    const previous = existing.find((cmd) => cmd.name === body.name && cmd.type === type);
    const { guildId } = this.commandScope(c);
    return {
      ...(asDiscordStores(body) as Partial<APIApplicationCommand>),
      id: previous?.id ?? this.o.state.snowflakes.next(),
      application_id: this.o.applicationId,
      ...(guildId ? { guild_id: guildId } : {}),
      name: String(body.name ?? ''),
      description: String(body.description ?? ''),
      type,
      default_member_permissions: body.default_member_permissions ?? null,
      nsfw: body.nsfw ?? false,
      integration_types: body.integration_types ?? [ApplicationIntegrationType.GuildInstall],
      contexts: body.contexts ?? null,
      version: this.o.state.snowflakes.next(),
    };
  }

  private putCommands(c: Ctx): APIApplicationCommand[] {
    const list = this.commandList(c);
    if (!Array.isArray(c.body)) throw invalidFormBody('_errors', 'BASE_TYPE_ARRAY', 'Must be an array.');
    const next = c.body.map((input) => this.normaliseCommand(input, c, list));
    list.splice(0, list.length, ...next);
    return list;
  }

  private postCommand(c: Ctx): Reply {
    const list = this.commandList(c);
    const command = this.normaliseCommand(c.body, c, list);
    const index = list.findIndex((cmd) => cmd.id === command.id);
    if (index >= 0) {
      list[index] = command;
      return json(command, 200);
    }
    list.push(command);
    return json(command, 201);
  }

  private findCommand(c: Ctx): { list: APIApplicationCommand[]; command: APIApplicationCommand } {
    const list = this.commandList(c);
    const command = list.find((cmd) => cmd.id === c.params.command_id);
    if (!command) throw unknown('application command', 10063);
    return { list, command };
  }

  private patchCommand(c: Ctx): APIApplicationCommand {
    const { list, command } = this.findCommand(c);
    const patch = (typeof c.body === 'object' && c.body !== null ? c.body : {}) as Partial<APIApplicationCommand>;
    const updated = { ...command, ...patch, id: command.id, version: this.o.state.snowflakes.next() };
    list[list.indexOf(command)] = updated;
    return updated;
  }

  // ── interactions ───────────────────────────────────────────────────────────────────────

  /**
   * The initial response. Discord accepts exactly one, within the deadline (3 s), and answers a
   * second one with 40060 and a late one with 10062.
   */
  private async callback(c: Ctx): Promise<Reply> {
    const record = this.o.state.interactions.get(c.params.interaction_id ?? '');
    if (!record || record.token !== c.params.interaction_token) throw unknown('interaction', 10062);
    if (record.response || this.responding.has(record)) {
      throw new DiscordApiError(400, 40060, 'Interaction has already been acknowledged.');
    }
    if (c.receivedAt - record.dispatchedAt > this.o.ackDeadlineMs) throw unknown('interaction', 10062);
    const body = (typeof c.body === 'object' && c.body !== null ? c.body : {}) as { type?: unknown; data?: unknown };
    const type = typeof body.type === 'number' ? (body.type as InteractionResponseType) : undefined;
    if (type === undefined || !allowedResponses(record).includes(type)) {
      throw invalidFormBody('type', 'INTERACTION_RESPONSE_TYPE_INVALID', `Response type ${String(body.type)} is not valid for this interaction`);
    }
    // Claim the interaction before any await, so a concurrent second callback gets 40060.
    this.responding.add(record);
    try {
      const write = readMessageWrite(body.data);
      const guild = this.o.state.guilds.get(record.guildId);
      switch (type) {
        case InteractionResponseType.ChannelMessageWithSource:
        case InteractionResponseType.DeferredChannelMessageWithSource: {
          const deferred = type === InteractionResponseType.DeferredChannelMessageWithSource;
          const flags = (write.flags ?? 0) & (deferred ? MessageFlags.Ephemeral : SETTABLE_FLAGS | MessageFlags.Ephemeral);
          const message = await this.interactionMessage(
            record,
            deferred ? { flags: flags | MessageFlags.Loading } : { ...write, flags },
            deferred ? [] : c.files,
            deferred,
          );
          record.originalMessageId = message.id;
          this.o.state.addMessage(message);
          break;
        }
        case InteractionResponseType.DeferredMessageUpdate:
          record.originalMessageId = record.componentMessageId;
          break;
        case InteractionResponseType.UpdateMessage: {
          const message = this.o.state.messages.get(record.componentMessageId ?? '');
          if (!message) throw unknown('Message', 10008);
          this.o.messages.checkLimits(write, c.files, guild?.attachmentSizeLimit ?? Infinity);
          await this.o.messages.edit(message, guild, write, c.files);
          record.originalMessageId = message.id;
          break;
        }
        case InteractionResponseType.ApplicationCommandAutocompleteResult: {
          const choices = (body.data as { choices?: unknown } | undefined)?.choices;
          if (Array.isArray(choices) && choices.length > AUTOCOMPLETE_CHOICES_MAX) {
            throw invalidFormBody('data.choices', 'BASE_TYPE_MAX_LENGTH', `Must be ${AUTOCOMPLETE_CHOICES_MAX} or fewer in length.`);
          }
          break;
        }
        case InteractionResponseType.Modal:
          checkModalValues(body.data);
          break;
        default:
          break;
      }
      // When the callback reached the emulator, before its own validation work: the moment Discord
      // would have had the acknowledgement, whatever the emulator spends checking it afterwards.
      const at = c.receivedAt;
      record.response = { type, data: body.data, files: c.files, at, latencyMs: at - record.dispatchedAt };
    } finally {
      this.responding.delete(record);
    }
    this.o.state.changed();
    if (c.query.get('with_response') !== 'true') return noContent();
    const message = record.originalMessageId ? this.o.state.messages.get(record.originalMessageId) : undefined;
    return json({
      interaction: {
        id: record.id,
        type: record.type,
        ...(message
          ? { response_message_id: message.id, response_message_loading: message.loading, response_message_ephemeral: message.ephemeral }
          : {}),
      },
      resource: { type, ...(message ? { message: message.api } : {}) },
    });
  }

  private async interactionMessage(record: InteractionRecord, write: MessageWrite, files: UploadedFile[], allowEmpty: boolean): Promise<StoredMessage> {
    const guild = this.o.state.guilds.get(record.guildId);
    this.o.messages.checkLimits(write, files, guild?.attachmentSizeLimit ?? Infinity);
    return this.o.messages.create(
      record.channelId,
      guild,
      {
        author: this.o.botUser,
        applicationId: this.o.applicationId,
        interaction: record.metadata(),
        type: record.type === InteractionType.ApplicationCommand ? MessageType.ChatInputCommand : MessageType.Default,
      },
      write,
      files,
      { allowEmpty, interactionId: record.id },
    );
  }

  /** The interaction behind a webhook URL; its token works for 15 minutes after the interaction. */
  private webhookRecord(c: Ctx): InteractionRecord {
    if (c.params.webhook_id !== this.o.applicationId) throw unknown('Webhook', 10015);
    const record = [...this.o.state.interactions.values()].find((r) => r.token === c.params.webhook_token);
    if (!record || record.tokenRevoked || c.receivedAt - record.dispatchedAt > TOKEN_LIFETIME_MS) throw WEBHOOK_TOKEN();
    // Until the interaction is answered (and never for autocomplete) there is no webhook to use.
    if (!record.response || record.response.type === InteractionResponseType.ApplicationCommandAutocompleteResult) {
      throw unknown('Webhook', 10015);
    }
    return record;
  }

  private webhookMessage(c: Ctx): StoredMessage {
    const record = this.webhookRecord(c);
    const id = c.params.message_id ?? record.originalMessageId;
    const owned = id !== undefined && (id === record.originalMessageId || record.followUpIds.includes(id));
    const message = owned ? this.o.state.messages.get(id) : undefined;
    if (!message || message.deleted) throw unknown('Message', 10008);
    return message;
  }

  /**
   * A follow-up. Quirk kept from Discord: the first follow-up after a deferred response (type 5)
   * does not create a message, it fills in the "thinking" placeholder, which stays ephemeral
   * or public as the deferral said, whatever the follow-up's own flags.
   */
  private async followUp(c: Ctx): Promise<Reply> {
    const record = this.webhookRecord(c);
    const write = readMessageWrite(c.body);
    const guild = this.o.state.guilds.get(record.guildId);
    const original = record.originalMessageId ? this.o.state.messages.get(record.originalMessageId) : undefined;
    let message: StoredMessage;
    if (original?.loading && !original.deleted) {
      this.o.messages.checkLimits(write, c.files, guild?.attachmentSizeLimit ?? Infinity);
      const { flags: _ignored, ...rest } = write;
      await this.o.messages.edit(original, guild, rest, c.files, MessageFlags.Loading);
      message = original;
    } else {
      const flags = (write.flags ?? 0) & (SETTABLE_FLAGS | MessageFlags.Ephemeral);
      message = await this.interactionMessage(record, { ...write, flags }, c.files, false);
      record.followUpIds.push(message.id);
      this.o.state.addMessage(message);
    }
    return c.query.get('wait') === 'true' ? json(message.api) : noContent();
  }

  // ── channels, messages, threads ─────────────────────────────────────────────────────────

  /** A channel the bot can see: Discord answers 50001 for one it cannot (no View Channel there). */
  private channel(id: string | undefined) {
    const channel = this.o.state.channels.get(id ?? '');
    if (!channel) throw unknown('Channel', 10003);
    this.requireBotPermissions(channel, 0n);
    return channel;
  }

  /**
   * Discord's refusal of what the bot may not do in a channel: 50001 when it cannot see it,
   * 50013 when the request needs a permission the bot lacks there (its roles' permissions with
   * the channel's overwrites; a thread goes by its parent's).
   */
  private requireBotPermissions(channel: EmulatedChannel, needed: bigint): void {
    const guild = this.o.state.guildOfChannel(channel.id);
    if (!guild) return;
    const roleIds = guild.members.get(this.o.botUser.id)?.roleIds ?? [];
    const permissions = computeChannelPermissions(guild, channel, this.o.state.channels.get(channel.parent_id ?? ''), this.o.botUser.id, roleIds);
    if (!(permissions & PermissionFlagsBits.ViewChannel)) throw MISSING_ACCESS();
    if ((permissions & needed) !== needed) throw MISSING_PERMISSIONS();
  }

  /** What a message's files and embeds need besides the right to post or edit it. */
  private contentPermissions(write: MessageWrite, files: UploadedFile[]): bigint {
    return (files.length > 0 ? PermissionFlagsBits.AttachFiles : 0n) | (write.embeds?.length ? PermissionFlagsBits.EmbedLinks : 0n);
  }

  private channelMessage(c: Ctx): StoredMessage {
    this.channel(c.params.channel_id);
    const message = this.o.state.messages.get(c.params.message_id ?? '');
    if (!message || message.deleted || message.ephemeral || message.channelId !== c.params.channel_id) {
      throw unknown('Message', 10008);
    }
    return message;
  }

  private listMessages(c: Ctx): APIMessage[] {
    const channel = this.channel(c.params.channel_id);
    const limit = Math.min(100, Math.max(1, Number(c.query.get('limit') ?? 50) || 50));
    const before = c.query.get('before');
    const after = c.query.get('after');
    let list = this.o.state.messagesIn(channel.id);
    if (before) list = list.filter((m) => BigInt(m.id) < BigInt(before));
    if (after) list = list.filter((m) => BigInt(m.id) > BigInt(after));
    // Newest first, as Discord returns them; `after` pages from the oldest side.
    const page = after ? list.slice(0, limit) : list.slice(-limit);
    return page.reverse().map((m) => m.api);
  }

  private async postMessage(c: Ctx): Promise<Reply> {
    const channel = this.channel(c.params.channel_id);
    const guild = this.o.state.guildOfChannel(channel.id);
    const write = readMessageWrite(c.body);
    // In a thread, Send Messages in Threads is what counts, not the parent's Send Messages.
    const thread = channel.type === ChannelType.PublicThread || channel.type === ChannelType.PrivateThread;
    const send = thread ? PermissionFlagsBits.SendMessagesInThreads : PermissionFlagsBits.SendMessages;
    this.requireBotPermissions(channel, send | this.contentPermissions(write, c.files));
    this.o.messages.checkLimits(write, c.files, guild?.attachmentSizeLimit ?? Infinity);
    let referenced: APIMessage | undefined;
    if (write.message_reference) {
      const target = this.o.state.messages.get(write.message_reference.message_id);
      if (target && !target.deleted && target.channelId === channel.id) referenced = target.api;
      else if (write.message_reference.fail_if_not_exists !== false) {
        throw invalidFormBody('message_reference', 'MESSAGE_REFERENCE_UNKNOWN_MESSAGE', 'Unknown message');
      }
    }
    const flags = (write.flags ?? 0) & SETTABLE_FLAGS;
    const message = await this.o.messages.create(channel.id, guild, { author: this.o.botUser }, { ...write, flags }, c.files, {
      ...(referenced ? { referenced } : {}),
    });
    this.o.state.addMessage(message);
    return json(message.api);
  }

  /** Threads become channels of their own: the bot can post in them like in any text channel. */
  private createThread(c: Ctx, from: StoredMessage | undefined): Reply {
    const parent = this.channel(c.params.channel_id);
    if (parent.type !== ChannelType.GuildText) throw new DiscordApiError(400, 50024, 'Cannot execute action on this channel type');
    const body = (typeof c.body === 'object' && c.body !== null ? c.body : {}) as Record<string, unknown>;
    if (typeof body.name !== 'string' || body.name.length === 0) {
      throw invalidFormBody('name', 'BASE_TYPE_REQUIRED', 'This field is required');
    }
    if (from?.api.thread) throw new DiscordApiError(400, 160004, 'A thread has already been created for this message');
    // Without a message Discord still defaults to a private thread, as documented for v9.
    const type = from
      ? ChannelType.PublicThread
      : body.type === ChannelType.PublicThread
        ? ChannelType.PublicThread
        : ChannelType.PrivateThread;
    this.requireBotPermissions(parent, type === ChannelType.PublicThread ? PermissionFlagsBits.CreatePublicThreads : PermissionFlagsBits.CreatePrivateThreads);
    const now = discordTimestamp();
    const archive = Object.values(ThreadAutoArchiveDuration).includes(body.auto_archive_duration as number)
      ? (body.auto_archive_duration as ThreadAutoArchiveDuration)
      : ThreadAutoArchiveDuration.OneDay;
    const thread: APIThreadChannel = {
      // A thread started from a message shares the message's id.
      id: from?.id ?? this.o.state.snowflakes.next(),
      type,
      guild_id: parent.guild_id,
      parent_id: parent.id,
      owner_id: this.o.botUser.id,
      name: body.name,
      last_message_id: null,
      message_count: 0,
      total_message_sent: 0,
      member_count: 1,
      rate_limit_per_user: typeof body.rate_limit_per_user === 'number' ? body.rate_limit_per_user : 0,
      flags: 0 as NonNullable<APIThreadChannel['flags']>,
      thread_metadata: {
        archived: false,
        auto_archive_duration: archive,
        archive_timestamp: now,
        locked: false,
        create_timestamp: now,
        ...(type === ChannelType.PrivateThread ? { invitable: body.invitable !== false } : {}),
      },
    };
    this.o.state.channels.set(thread.id, thread);
    if (from) {
      from.api = { ...from.api, thread, flags: (from.api.flags ?? 0) | MessageFlags.HasThread };
    }
    const member = { id: thread.id, user_id: this.o.botUser.id, join_timestamp: now, flags: 0 };
    if (parent.guild_id) {
      this.o.gateway.broadcast(parent.guild_id, GatewayIntentBits.Guilds, GatewayDispatchEvents.ThreadCreate, {
        ...thread,
        newly_created: true,
        member,
      });
    }
    this.o.state.changed();
    return json({ ...thread, member }, 201);
  }

  // ── guilds ─────────────────────────────────────────────────────────────────────────────

  private guild(id: string | undefined): EmulatedGuild {
    const guild = this.o.state.guilds.get(id ?? '');
    if (!guild) throw unknown('Guild', 10004);
    return guild;
  }

  private guildChannels(guildId: string) {
    return [...this.o.state.channels.values()].filter((ch) => ch.guild_id === guildId && ch.type === ChannelType.GuildText);
  }
}

/**
 * Discord refuses a modal whose pre-filled text input `value` breaks that input's own bounds
 * (`max_length` 1–4000, `min_length`; developer docs, "Text Input"), with 50035 naming the field:
 * the modal never opens. Text inputs sit in action rows or, in the newer layout, in labels.
 */
function checkModalValues(data: unknown): void {
  type Input = { type?: number; value?: unknown; max_length?: unknown; min_length?: unknown };
  const tops = ((data as { components?: unknown } | undefined)?.components ?? []) as { components?: Input[]; component?: Input }[];
  tops.forEach((top, row) => {
    const inputs = top.components ?? (top.component ? [top.component] : []);
    inputs.forEach((input, column) => {
      if (input.type !== 4 || typeof input.value !== 'string') return;
      const field = top.components ? `data.components.${row}.components.${column}.value` : `data.components.${row}.component.value`;
      const max = typeof input.max_length === 'number' ? input.max_length : 4000;
      if (input.value.length > max) throw invalidFormBody(field, 'BASE_TYPE_BAD_LENGTH', `Must be between ${typeof input.min_length === 'number' ? input.min_length : 0} and ${max} in length.`);
    });
  });
}

function allowedResponses(record: InteractionRecord): InteractionResponseType[] {
  const T = InteractionResponseType;
  switch (record.type) {
    case InteractionType.ApplicationCommand:
      return [T.ChannelMessageWithSource, T.DeferredChannelMessageWithSource, T.Modal];
    case InteractionType.MessageComponent:
      return [T.ChannelMessageWithSource, T.DeferredChannelMessageWithSource, T.DeferredMessageUpdate, T.UpdateMessage, T.Modal];
    case InteractionType.ApplicationCommandAutocomplete:
      return [T.ApplicationCommandAutocompleteResult];
    case InteractionType.ModalSubmit:
      // Updating a message only makes sense when the modal was opened from one.
      return record.componentMessageId
        ? [T.ChannelMessageWithSource, T.DeferredChannelMessageWithSource, T.DeferredMessageUpdate, T.UpdateMessage]
        : [T.ChannelMessageWithSource, T.DeferredChannelMessageWithSource];
    default:
      return [];
  }
}

function matches(matcher: RequestMatcher, request: RecordedRequest): boolean {
  return matcher instanceof RegExp ? matcher.test(`${request.method} ${request.path}`) : matcher(request);
}

/** Discord's 429: float `retry_after` in the body, whole seconds in `Retry-After`. */
function rateLimited(options: Inject429Options, bucket: string, limit: number): Reply {
  const headers: Record<string, string> = {
    'retry-after': String(Math.ceil(options.retryAfter)),
    'x-ratelimit-scope': options.global ? 'global' : 'user',
  };
  if (options.global) headers['x-ratelimit-global'] = 'true';
  else {
    Object.assign(headers, {
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': ((Date.now() + options.retryAfter * 1000) / 1000).toFixed(3),
      'x-ratelimit-reset-after': options.retryAfter.toFixed(3),
      'x-ratelimit-bucket': bucket,
    });
  }
  return {
    status: 429,
    headers,
    body: { message: 'You are being rate limited.', retry_after: options.retryAfter, global: options.global ?? false, code: 0 },
  };
}

function errorReply(error: DiscordApiError): Reply {
  return {
    status: error.status,
    body: { message: error.message, code: error.code, ...(error.errors ? { errors: error.errors } : {}) },
  };
}

function queryRecord(query: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(query.keys())) {
    const values = query.getAll(key);
    out[key] = values.length === 1 ? (values[0] as string) : values;
  }
  return out;
}

const LOCALIZATION_MAPS = new Set(['name_localizations', 'description_localizations']);

/** A command as GET returns it by default: no translation maps, at any depth (options, choices). */
function withoutLocalizations<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutLocalizations) as T;
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => !LOCALIZATION_MAPS.has(key)).map(([key, v]) => [key, withoutLocalizations(v)])) as T;
}

/** Discord stores an option's `required: false` and an empty `options` list as nothing at all, and answers them so. */
function asDiscordStores(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asDiscordStores);
  if (!value || typeof value !== 'object') return value;
  const dropped = ([key, v]: [string, unknown]) => (key === 'required' && v === false) || (key === 'options' && Array.isArray(v) && v.length === 0);
  return Object.fromEntries(Object.entries(value).filter((entry) => !dropped(entry)).map(([key, v]) => [key, asDiscordStores(v)]));
}
