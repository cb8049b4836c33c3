import { createHmac, timingSafeEqual } from 'node:crypto';
import sharp from 'sharp';
import {
  AllowedMentionsTypes,
  MessageFlags,
  MessageType,
  type APIAllowedMentions,
  type APIAttachment,
  type APIEmbed,
  type APIMessage,
  type APIMessageInteractionMetadata,
  type APIMessageTopLevelComponent,
  type APIUser,
} from 'discord-api-types/v10';
import { apiUser, discordTimestamp, type EmulatedGuild, type EmulatedUser } from './model.js';
import type { UploadedFile } from './multipart.js';
import { snowflakeTime, type SnowflakeGenerator } from './snowflake.js';

/** An error answer in Discord's shape: `{ message, code, errors? }` with an HTTP status. */
export class DiscordApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly errors?: unknown,
  ) {
    super(message);
  }
}

export const invalidFormBody = (field: string, code: string, message: string) =>
  new DiscordApiError(400, 50035, 'Invalid Form Body', { [field]: { _errors: [{ code, message }] } });

/** A file the emulator serves under `/attachments/…`, like Discord's CDN. */
export interface HostedFile {
  data: Buffer;
  contentType: string;
  filename: string;
}

export interface StoredAttachment extends APIAttachment {
  data: Buffer;
}

/** The message-shaped fields of a create or edit body, read defensively (the body may be invalid). */
export interface MessageWrite {
  content?: string;
  embeds?: APIEmbed[];
  components?: APIMessageTopLevelComponent[];
  flags?: number;
  allowed_mentions?: APIAllowedMentions;
  attachments?: { id: string; filename?: string; description?: string; title?: string }[];
  tts?: boolean;
  message_reference?: { message_id: string; channel_id?: string; fail_if_not_exists?: boolean };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Keeps the fields whose JSON type is right and drops the others: the spec validator has
 * already reported the wrong ones, and the emulator must not crash on them.
 */
export function readMessageWrite(body: unknown): MessageWrite {
  if (!isRecord(body)) return {};
  const write: MessageWrite = {};
  if (typeof body.content === 'string') write.content = body.content;
  if (Array.isArray(body.embeds)) write.embeds = body.embeds.filter(isRecord) as APIEmbed[];
  if (Array.isArray(body.components)) write.components = body.components.filter(isRecord) as unknown as APIMessageTopLevelComponent[];
  if (typeof body.flags === 'number') write.flags = body.flags;
  if (isRecord(body.allowed_mentions)) write.allowed_mentions = body.allowed_mentions as APIAllowedMentions;
  if (Array.isArray(body.attachments)) {
    write.attachments = body.attachments.filter(isRecord).map((a) => ({
      id: String(a.id),
      ...(typeof a.filename === 'string' ? { filename: a.filename } : {}),
      ...(typeof a.description === 'string' ? { description: a.description } : {}),
      ...(typeof a.title === 'string' ? { title: a.title } : {}),
    }));
  }
  if (typeof body.tts === 'boolean') write.tts = body.tts;
  if (isRecord(body.message_reference) && typeof body.message_reference.message_id === 'string') {
    write.message_reference = body.message_reference as MessageWrite['message_reference'];
  }
  return write;
}

/** A message as the emulator stores it: the API object plus what tests want to inspect. */
export class StoredMessage {
  /** Earlier versions, oldest first; `api` is the current one. */
  readonly revisions: APIMessage[] = [];
  deleted = false;

  constructor(
    public api: APIMessage,
    private readonly cdn: ReadonlyMap<string, HostedFile>,
    /** The `allowed_mentions` of the latest create or edit, as the bot sent it. */
    public allowedMentions: APIAllowedMentions | undefined,
    /** Set for interaction responses and follow-ups. */
    readonly interactionId?: string,
  ) {}

  get id(): string {
    return this.api.id;
  }
  get channelId(): string {
    return this.api.channel_id;
  }
  get content(): string {
    return this.api.content;
  }
  get embeds(): APIEmbed[] {
    return this.api.embeds;
  }
  get components(): APIMessageTopLevelComponent[] {
    return this.api.components ?? [];
  }
  get flags(): number {
    return this.api.flags ?? 0;
  }
  get ephemeral(): boolean {
    return (this.flags & MessageFlags.Ephemeral) !== 0;
  }
  /** A deferred response the bot has not filled in yet ("… is thinking"). */
  get loading(): boolean {
    return (this.flags & MessageFlags.Loading) !== 0;
  }
  /** Attachments with their bytes, in message order. */
  get attachments(): StoredAttachment[] {
    return this.api.attachments.map((a) => ({ ...a, data: this.cdn.get(a.id)?.data ?? Buffer.alloc(0) }));
  }
}

/** Who posts a message and in what role; interaction messages are webhook messages of the app. */
export interface MessageOrigin {
  author: EmulatedUser;
  applicationId?: string;
  interaction?: APIMessageInteractionMetadata;
  type?: MessageType;
}

export interface MessageFactoryOptions {
  snowflakes: SnowflakeGenerator;
  cdn: Map<string, HostedFile>;
  /** `http://127.0.0.1:PORT`, where `/attachments/…` is served. */
  cdnBase: () => string;
  users: ReadonlyMap<string, EmulatedUser>;
  /** Signs attachment URLs the way Discord does (`ex`, `is`, `hm`), so bots keep the query. */
  urlSecret: string;
}

const MAX_CONTENT = 2000;
const MAX_EMBED_CHARS = 6000;
const MAX_FILES = 10;
const MAX_REQUEST_BYTES = 25 * 1024 * 1024;
/** Discord signs CDN links for 24 hours. */
const ATTACHMENT_URL_LIFETIME_S = 24 * 60 * 60;

function embedLength(embed: APIEmbed): number {
  let n = (embed.title?.length ?? 0) + (embed.description?.length ?? 0);
  n += (embed.footer?.text.length ?? 0) + (embed.author?.name.length ?? 0);
  for (const field of embed.fields ?? []) n += field.name.length + field.value.length;
  return n;
}

/** Builds and edits messages with the checks and derived fields real Discord applies. */
export class MessageFactory {
  constructor(private readonly o: MessageFactoryOptions) {}

  /**
   * Hosts a file on the emulator's CDN and describes it as Discord would. `ephemeral` is for
   * files attached to slash commands, which Discord serves from `/ephemeral-attachments/`.
   */
  async host(
    channelId: string,
    file: { filename: string; contentType: string; data: Buffer },
    extra: { description?: string; title?: string } = {},
    ephemeral = false,
  ): Promise<APIAttachment> {
    const id = this.o.snowflakes.next();
    this.o.cdn.set(id, { data: file.data, contentType: file.contentType, filename: file.filename });
    const url = this.attachmentUrl(ephemeral ? 'ephemeral-attachments' : 'attachments', channelId, id, file.filename);
    const size = await imageSize(file.data, file.contentType);
    return {
      id,
      filename: file.filename,
      ...extra,
      size: file.data.length,
      url,
      proxy_url: url,
      content_type: file.contentType,
      ...(size ? { width: size.width, height: size.height } : {}),
    };
  }

  private attachmentUrl(kind: string, channelId: string, attachmentId: string, filename: string): string {
    const issued = Math.floor(Date.now() / 1000);
    const ex = (issued + ATTACHMENT_URL_LIFETIME_S).toString(16);
    const is = issued.toString(16);
    const path = `/${kind}/${channelId}/${attachmentId}/${encodeURIComponent(filename)}`;
    const hm = this.sign(path, ex, is);
    return `${this.o.cdnBase()}${path}?ex=${ex}&is=${is}&hm=${hm}&`;
  }

  /** Checks the signature and expiry of a CDN URL, as Discord's CDN does before serving a file. */
  verifyUrl(path: string, query: URLSearchParams): boolean {
    const [ex, is, hm] = [query.get('ex'), query.get('is'), query.get('hm')];
    if (!ex || !is || !hm || Number.parseInt(ex, 16) * 1000 < Date.now()) return false;
    const expected = Buffer.from(this.sign(path, ex, is));
    const given = Buffer.from(hm);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private sign(path: string, ex: string, is: string): string {
    return createHmac('sha256', this.o.urlSecret).update(`${path}${ex}${is}`).digest('hex');
  }

  /** Discord's hard limits, which the OpenAPI description does not (fully) express. */
  checkLimits(write: MessageWrite, files: UploadedFile[], uploadLimit: number): void {
    if (write.content !== undefined && write.content.length > MAX_CONTENT) {
      throw invalidFormBody('content', 'BASE_TYPE_MAX_LENGTH', `Must be ${MAX_CONTENT} or fewer in length.`);
    }
    if ((write.embeds ?? []).reduce((n, e) => n + embedLength(e), 0) > MAX_EMBED_CHARS) {
      throw invalidFormBody('embeds', 'MAX_EMBED_SIZE_EXCEEDED', `Embed size exceeds maximum size of ${MAX_EMBED_CHARS}`);
    }
    if (files.length > MAX_FILES) {
      throw invalidFormBody('files', 'BASE_TYPE_MAX_LENGTH', `Must be ${MAX_FILES} or fewer in length.`);
    }
    const total = files.reduce((n, f) => n + f.data.length, 0);
    if (files.some((f) => f.data.length > uploadLimit) || total > MAX_REQUEST_BYTES) {
      throw new DiscordApiError(413, 40005, 'Request entity too large');
    }
  }

  /** Uploaded files become attachments; `attachments[].id` in the payload refers to `files[id]`. */
  private async newAttachments(channelId: string, write: MessageWrite, files: UploadedFile[]): Promise<APIAttachment[]> {
    const out: APIAttachment[] = [];
    for (const [index, file] of files.entries()) {
      const n = /^files\[(\d+)\]$/.exec(file.name)?.[1] ?? String(index);
      const meta = write.attachments?.find((a) => a.id === n);
      out.push(
        await this.host(
          channelId,
          { filename: meta?.filename ?? file.filename, contentType: file.contentType, data: file.data },
          {
            ...(meta?.description !== undefined ? { description: meta.description } : {}),
            ...(meta?.title !== undefined ? { title: meta.title } : {}),
          },
        ),
      );
    }
    return out;
  }

  async create(
    channelId: string,
    guild: EmulatedGuild | undefined,
    origin: MessageOrigin,
    write: MessageWrite,
    files: UploadedFile[],
    options: { allowEmpty?: boolean; referenced?: APIMessage; interactionId?: string } = {},
  ): Promise<StoredMessage> {
    const hasBody =
      (write.content ?? '') !== '' || (write.embeds?.length ?? 0) > 0 || (write.components?.length ?? 0) > 0 || files.length > 0;
    if (!hasBody && !options.allowEmpty) throw new DiscordApiError(400, 50006, 'Cannot send an empty message');
    const attachments = await this.newAttachments(channelId, write, files);
    const id = this.o.snowflakes.next();
    const content = write.content ?? '';
    const api: APIMessage = {
      id,
      channel_id: channelId,
      author: apiUser(origin.author),
      content,
      timestamp: discordTimestamp(snowflakeTime(id)),
      edited_timestamp: null,
      tts: write.tts ?? false,
      ...this.mentions(content, write.allowed_mentions, guild, options.referenced),
      attachments,
      embeds: this.embeds(write.embeds ?? [], attachments),
      components: write.components ?? [],
      pinned: false,
      type: origin.type ?? (options.referenced ? MessageType.Reply : MessageType.Default),
      flags: write.flags ?? 0,
      ...(origin.applicationId ? { webhook_id: origin.applicationId, application_id: origin.applicationId } : {}),
      ...(origin.interaction ? { interaction_metadata: origin.interaction } : {}),
      ...(options.referenced
        ? {
            message_reference: { type: 0, message_id: options.referenced.id, channel_id: options.referenced.channel_id },
            referenced_message: options.referenced,
          }
        : {}),
    };
    return new StoredMessage(api, this.o.cdn, write.allowed_mentions, options.interactionId);
  }

  /**
   * Applies an edit: only fields present change. With `attachments` in the body, existing
   * attachments not listed there are removed (that is how a bot drops an image); new files are
   * always added.
   */
  async edit(
    message: StoredMessage,
    guild: EmulatedGuild | undefined,
    write: MessageWrite,
    files: UploadedFile[],
    extraFlagsToClear = 0,
  ): Promise<void> {
    const before = message.api;
    const added = await this.newAttachments(before.channel_id, write, files);
    const kept = write.attachments
      ? before.attachments.filter((a) => write.attachments?.some((w) => w.id === a.id))
      : before.attachments;
    const attachments = [...kept, ...added];
    const content = write.content ?? before.content;
    const allowed = write.allowed_mentions ?? message.allowedMentions;
    // Ephemeral and loading are not the bot's to set on edit; the other flags are.
    const fixed = MessageFlags.Ephemeral | MessageFlags.Loading;
    const flags =
      write.flags !== undefined ? ((before.flags ?? 0) & fixed) | (write.flags & ~fixed) : (before.flags ?? 0);
    message.revisions.push(before);
    message.api = {
      ...before,
      content,
      ...this.mentions(content, allowed, guild, before.referenced_message ?? undefined),
      attachments,
      embeds: write.embeds ? this.embeds(write.embeds, attachments) : before.embeds,
      components: write.components ?? before.components ?? [],
      flags: flags & ~extraFlagsToClear,
      edited_timestamp: discordTimestamp(),
    };
    message.allowedMentions = allowed;
  }

  /** Discord fills in `type: "rich"` and resolves `attachment://name` images to the uploaded file. */
  private embeds(embeds: APIEmbed[], attachments: APIAttachment[]): APIEmbed[] {
    const resolve = <T extends { url: string }>(media: T | undefined): T | undefined => {
      const name = media?.url.startsWith('attachment://') ? media.url.slice('attachment://'.length) : undefined;
      const file = name === undefined ? undefined : attachments.find((a) => a.filename === name);
      if (!media || !file) return media;
      return {
        ...media,
        url: file.url,
        proxy_url: file.proxy_url,
        ...(file.width ? { width: file.width, height: file.height } : {}),
        ...(file.content_type ? { content_type: file.content_type } : {}),
      };
    };
    return embeds.map((embed) => {
      const out: APIEmbed = { ...embed, type: embed.type ?? ('rich' as APIEmbed['type']) };
      const image = resolve(embed.image);
      const thumbnail = resolve(embed.thumbnail);
      if (image) out.image = image;
      if (thumbnail) out.thumbnail = thumbnail;
      return out;
    });
  }

  /**
   * Who the message actually pings. Mentions not allowed by `allowed_mentions` still render but
   * are left out of `mentions`/`mention_roles`, which is what tests check to prove "no pings".
   */
  private mentions(
    content: string,
    allowed: APIAllowedMentions | undefined,
    guild: EmulatedGuild | undefined,
    referenced: APIMessage | undefined,
  ): Pick<APIMessage, 'mentions' | 'mention_roles' | 'mention_everyone'> {
    const parse = allowed?.parse ?? (allowed ? [] : [AllowedMentionsTypes.User, AllowedMentionsTypes.Role, AllowedMentionsTypes.Everyone]);
    const userIds = new Set<string>();
    for (const [, id] of content.matchAll(/<@!?(\d{17,20})>/g)) {
      if (id && (parse.includes(AllowedMentionsTypes.User) || allowed?.users?.includes(id))) userIds.add(id);
    }
    // A reply pings its target unless `allowed_mentions` is given without `replied_user: true`.
    if (referenced && (allowed ? allowed.replied_user === true : true)) userIds.add(referenced.author.id);
    const roleIds = new Set<string>();
    for (const [, id] of content.matchAll(/<@&(\d{17,20})>/g)) {
      const known = guild?.roles.some((r) => r.id === id);
      if (id && known && (parse.includes(AllowedMentionsTypes.Role) || allowed?.roles?.includes(id))) roleIds.add(id);
    }
    const mentions: APIUser[] = [];
    for (const id of userIds) {
      const user = this.o.users.get(id);
      if (user) mentions.push(apiUser(user));
    }
    return {
      mentions,
      mention_roles: [...roleIds],
      mention_everyone: parse.includes(AllowedMentionsTypes.Everyone) && /@(everyone|here)/.test(content),
    };
  }
}

/** Width and height for images, as Discord reports them; undefined for anything sharp cannot read. */
async function imageSize(data: Buffer, contentType: string): Promise<{ width: number; height: number } | undefined> {
  if (!contentType.startsWith('image/')) return undefined;
  try {
    const { width, height } = await sharp(data).metadata();
    return width && height ? { width, height } : undefined;
  } catch {
    return undefined;
  }
}
