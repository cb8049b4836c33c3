import { setTimeout as sleep } from 'node:timers/promises';
import {
  ActionRowBuilder,
  ApplicationCommandOptionType,
  ApplicationCommandType,
  AttachmentBuilder,
  ButtonBuilder,
  ButtonStyle,
  ChannelType,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  MessageFlags,
  ModalBuilder,
  PermissionFlagsBits,
  Routes,
  TextInputBuilder,
  TextInputStyle,
  type ApplicationCommandDataResolvable,
  type Interaction,
  type TextChannel,
} from 'discord.js';
import { InteractionResponseType } from 'discord-api-types/v10';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startDiscordEmulator, type DiscordEmulator } from './discord/index.js';

/** Short enough to test lateness quickly, long enough for a RESUME (500 ms back-off) plus a reply. */
const ACK_DEADLINE_MS = 2000;
const CHECKPOINTS = ['250', '500', '750', '1000'];

const commands: ApplicationCommandDataResolvable[] = [
  {
    name: 'kmplz',
    description: 'Generate in the trained style',
    options: [
      { type: ApplicationCommandOptionType.String, name: 'prompt', description: 'What to draw', required: true },
      { type: ApplicationCommandOptionType.Integer, name: 'steps', description: 'Steps', min_value: 1, max_value: 100 },
      { type: ApplicationCommandOptionType.String, name: 'checkpoint', description: 'Checkpoint', autocomplete: true },
    ],
  },
  {
    name: 'caption',
    description: 'Caption one image',
    options: [{ type: ApplicationCommandOptionType.Attachment, name: 'image', description: 'The image' }],
  },
  ...['checkpoints', 'train', 'thinking', 'double', 'late', 'ping'].map((name) => ({ name, description: name })),
  { name: 'Collect pictures', type: ApplicationCommandType.Message },
];

/** Outcomes the test bot reports (errors it caught, values it saw), awaited by the tests. */
const outcomes = new Map<string, (value: unknown) => void>();
const outcome = (key: string) => new Promise<unknown>((resolve) => outcomes.set(key, resolve));
const report = (key: string, value: unknown) => outcomes.get(key)?.(value);
const handlerErrors: unknown[] = [];

async function png(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#c0ffee' } }).png().toBuffer();
}

/** A small bot written the way kmplz's handlers are: what each test drives through the emulator. */
async function bot(i: Interaction): Promise<void> {
  if (i.isAutocomplete()) {
    const focused = i.options.getFocused(true);
    report('autocomplete', { focused, steps: i.options.get('steps')?.value });
    await i.respond(CHECKPOINTS.filter((c) => c.startsWith(focused.value)).map((c) => ({ name: `step ${c}`, value: c })));
    return;
  }
  if (i.isButton()) {
    const [action, job, step] = i.customId.split(':');
    if (action === 'vote') await i.update({ content: `voted for step ${step} of job ${job}`, components: [] });
    if (action === 'rename') {
      await i.showModal(
        new ModalBuilder()
          .setCustomId(`rename-modal:${job}`)
          .setTitle('Rename')
          .addComponents(
            new ActionRowBuilder<TextInputBuilder>().addComponents(
              new TextInputBuilder().setCustomId('name').setLabel('Name').setStyle(TextInputStyle.Short),
            ),
          ),
      );
    }
    if (action === 'prefill') {
      const modal = new ModalBuilder()
        .setCustomId('prefill-modal')
        .setTitle('Prefilled')
        .addComponents(new ActionRowBuilder<TextInputBuilder>().addComponents(new TextInputBuilder().setCustomId('text').setLabel('Text').setStyle(TextInputStyle.Paragraph).setMaxLength(10).setValue(job!)));
      await i.showModal(modal).then(() => report('prefill', 'opened'), (error: unknown) => report('prefill', error));
    }
    return;
  }
  if (i.isModalSubmit()) {
    await i.reply({ content: `renamed to ${i.fields.getTextInputValue('name')}`, flags: MessageFlags.Ephemeral });
    return;
  }
  if (i.isMessageContextMenuCommand()) {
    // The target message comes with the interaction: its files are read from their CDN URLs.
    const sizes = await Promise.all(
      [...i.targetMessage.attachments.values()].map(async (a) => `${a.name} ${(await sharp(Buffer.from(await (await fetch(a.url)).arrayBuffer())).metadata()).width}`),
    );
    await i.reply({ content: `${i.targetMessage.author.username}: ${sizes.join(', ')}`, flags: MessageFlags.Ephemeral });
    return;
  }
  if (!i.isChatInputCommand()) return;
  switch (i.commandName) {
    case 'kmplz': {
      await i.deferReply();
      const file = new AttachmentBuilder(await png(64, 48), { name: 'kmplz.png' });
      await i.editReply({
        content: `${i.options.getString('prompt', true)} (${i.options.getInteger('steps')} steps)`,
        files: [file],
        allowedMentions: { parse: [] },
      });
      return;
    }
    case 'caption': {
      const image = i.options.getAttachment('image', true);
      const bytes = Buffer.from(await (await fetch(image.url)).arrayBuffer());
      const { width, height } = await sharp(bytes).metadata();
      await i.reply(`${image.name}: ${width}x${height}`);
      return;
    }
    case 'checkpoints':
      await i.reply({
        content: 'pick a checkpoint',
        components: [
          new ActionRowBuilder<ButtonBuilder>().addComponents(
            new ButtonBuilder().setCustomId('vote:job42:250').setLabel('250').setStyle(ButtonStyle.Primary),
            new ButtonBuilder().setCustomId('rename:job42').setLabel('Rename').setStyle(ButtonStyle.Secondary),
          ),
        ],
      });
      return;
    case 'train': {
      await i.reply('training started');
      await i.followUp({ content: 'only you can see this', flags: MessageFlags.Ephemeral });
      const channel = i.channel as TextChannel;
      const preview = await channel.send({ content: 'step 250 preview', files: [new AttachmentBuilder(await png(8, 8), { name: 'p.png' })] });
      const fromMessage = await preview.startThread({ name: 'step 250 votes' });
      await fromMessage.send('vote here');
      const standalone = await channel.threads.create({ name: 'training log', type: ChannelType.PublicThread });
      await standalone.send('log line');
      report('train', { preview: preview.id, fromMessage: fromMessage.id, standalone: standalone.id });
      return;
    }
    case 'thinking':
      await i.deferReply({ flags: MessageFlags.Ephemeral });
      await i.followUp('done thinking');
      return;
    case 'double':
      await i.deferReply();
      // discord.js refuses a second reply itself, so go around it the way a buggy bot could.
      await i.client.rest
        .post(Routes.interactionCallback(i.id, i.token), { body: { type: 4, data: { content: 'again' } }, auth: false })
        .catch((error: unknown) => report('double', error));
      return;
    case 'late':
      await sleep(ACK_DEADLINE_MS + 200);
      await i.deferReply().catch((error: unknown) => report('late', error));
      return;
    case 'ping':
      await i.reply('pong');
      return;
  }
}

describe('Discord emulator with the real discord.js client', () => {
  let discord: DiscordEmulator;
  let client: Client;
  let guildId: string;
  let channelId: string;

  beforeAll(async () => {
    discord = await startDiscordEmulator({ ackDeadlineMs: ACK_DEADLINE_MS });
    guildId = discord.guild().id;
    channelId = discord.textChannels()[0]!.id;
    client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: discord.apiUrl } });
    client.on(Events.InteractionCreate, (i) => void bot(i).catch((error: unknown) => handlerErrors.push(error)));
  });

  afterEach(() => {
    expect(handlerErrors).toEqual([]);
    discord.assertNoSpecErrors();
  });

  afterAll(async () => {
    await client?.destroy();
    await discord?.close();
  });

  it('logs in, becomes ready with the guild available and registers commands', async () => {
    const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
    await client.login(discord.token);
    await ready;
    expect(client.user?.id).toBe(discord.botUserId);
    expect(client.application?.id).toBe(discord.applicationId);
    const guild = client.guilds.cache.get(guildId);
    expect(guild?.available).toBe(true);
    expect(guild?.members.me?.id).toBe(discord.botUserId);
    expect(guild?.channels.cache.get(channelId)?.isTextBased()).toBe(true);

    const registered = await client.application!.commands.set(commands, guildId);
    expect(registered.size).toBe(commands.length);
    const stored = discord.registeredCommands(guildId);
    expect(stored.map((c) => c.name).sort()).toEqual([...registered.values()].map((c) => c.name).sort());
    expect(stored.every((c) => /^\d{17,19}$/.test(c.id))).toBe(true);
  });

  it('delivers a message command as Discord does: type 3 data with target_id and the message, attachments and all, in resolved.messages', async () => {
    const posted = await discord.postAsUser({ user: discord.users.carol, content: 'my drawings', files: [{ filename: 'a.png', data: await png(30, 20) }, { filename: 'b.png', data: await png(40, 20) }] });
    expect(posted.attachments.map((a) => [a.filename, a.width, a.content_type])).toEqual([['a.png', 30, 'image/png'], ['b.png', 40, 'image/png']]);
    const menu = await discord.messageCommand({ name: 'Collect pictures', message: posted, user: discord.users.bob });
    const data = (menu.payload as unknown as { type: number; data: Record<string, unknown> });
    expect(data.type).toBe(2);
    expect(data.data).toMatchObject({ name: 'Collect pictures', type: ApplicationCommandType.Message, target_id: posted.id, id: discord.registeredCommands(guildId).find((c) => c.type === ApplicationCommandType.Message)!.id });
    expect((data.data.resolved as { messages: Record<string, { attachments: unknown[] }> }).messages[posted.id]!.attachments).toHaveLength(2);
    expect((await menu.waitForOriginal()).content).toBe('carol: a.png 30, b.png 40');
    // Discord's client sends at most 10 files a message.
    await expect(discord.postAsUser({ files: Array.from({ length: 11 }, (_, n) => ({ filename: `${n}.png`, data: Buffer.from('x') })) })).rejects.toThrow(/would not send/);
  });

  it('delivers a slash command; the bot defers, then edits in a PNG the test can decode', async () => {
    const slash = await discord.slash({ name: 'kmplz', options: { prompt: 'a lighthouse @everyone', steps: 20 } });
    const ack = await slash.ack();
    expect(ack.type).toBe(InteractionResponseType.DeferredChannelMessageWithSource);
    expect(ack.latencyMs).toBeLessThan(ACK_DEADLINE_MS);

    const reply = await slash.waitForOriginal();
    expect(reply.content).toBe('a lighthouse @everyone (20 steps)');
    expect(reply.allowedMentions).toEqual({ parse: [] });
    expect(reply.api.mention_everyone).toBe(false);
    expect(reply.api.webhook_id).toBe(discord.applicationId);
    const [attachment] = reply.attachments;
    expect(attachment).toMatchObject({ filename: 'kmplz.png', content_type: 'image/png', width: 64, height: 48 });
    const decoded = await sharp(attachment!.data).metadata();
    expect([decoded.format, decoded.width, decoded.height]).toEqual(['png', 64, 48]);
    // The URL in the message serves the same bytes, as Discord's CDN would.
    const served = Buffer.from(await (await fetch(attachment!.url)).arrayBuffer());
    expect(served.equals(attachment!.data)).toBe(true);

    const edit = discord.requests.find((r) => r.method === 'PATCH' && r.path.endsWith('/messages/@original'));
    expect(edit?.files.map((f) => f.name)).toEqual(['files[0]']);
    expect(edit?.operationId).toBe('update_original_webhook_message');
  });

  it('resolves an attachment option the bot downloads from the emulator', async () => {
    const slash = await discord.slash({ name: 'caption', options: { image: { filename: 'art.png', data: await png(30, 20) } } });
    const reply = await slash.waitForOriginal();
    expect(reply.content).toBe('art.png: 30x20');
    expect(slash.payload.attachment_size_limit).toBe(10 * 1024 * 1024);
  });

  it('round-trips an autocomplete, a modal opened from a button, and a button that updates its message', async () => {
    const typed = outcome('autocomplete');
    const auto = await discord.autocomplete({ name: 'kmplz', options: { prompt: 'x', steps: 30, checkpoint: '2' }, focused: 'checkpoint' });
    expect(await auto.choices()).toEqual([{ name: 'step 250', value: '250' }]);
    // While typing, Discord sends the focused value and integer options as strings.
    expect(await typed).toEqual({ focused: { name: 'checkpoint', type: ApplicationCommandOptionType.String, value: '2', focused: true }, steps: '30' });

    const menu = await discord.slash({ name: 'checkpoints' });
    const message = await menu.waitForOriginal();

    const rename = await discord.button({ customId: 'rename:job42', message, user: discord.users.bob });
    expect((await rename.modal()).custom_id).toBe('rename-modal:job42');
    const submit = await discord.modalSubmit({ trigger: rename, fields: { name: 'Sea study' } });
    const confirmation = await submit.waitForOriginal();
    expect(confirmation.content).toBe('renamed to Sea study');
    expect(confirmation.ephemeral).toBe(true);
    expect(discord.messagesIn(channelId).some((m) => m.id === confirmation.id)).toBe(false);

    const vote = await discord.button({ customId: 'vote:job42:250', message });
    expect((await vote.ack()).type).toBe(InteractionResponseType.UpdateMessage);
    const updated = vote.original();
    expect(updated?.id).toBe(message.id);
    expect(updated?.content).toBe('voted for step 250 of job job42');
    expect(updated?.components).toEqual([]);
    // The buttons are gone, so nobody can click them any more.
    await expect(discord.button({ customId: 'vote:job42:250', message })).rejects.toThrow(/no button/);
  });

  it('posts a follow-up, a channel message and messages in two kinds of thread', async () => {
    const posted = outcome('train');
    const slash = await discord.slash({ name: 'train', user: discord.users.bob });
    const ids = (await posted) as { preview: string; fromMessage: string; standalone: string };

    expect(slash.original()?.content).toBe('training started');
    const [followUp] = slash.followUps();
    expect(followUp?.content).toBe('only you can see this');
    expect(followUp?.ephemeral).toBe(true);

    const visible = discord.messagesIn(channelId).map((m) => m.content);
    expect(visible).toContain('step 250 preview');
    expect(visible).not.toContain('only you can see this');
    expect(ids.fromMessage).toBe(ids.preview);
    expect(discord.threads(guildId, channelId).map((t) => t.id).sort()).toEqual([ids.fromMessage, ids.standalone].sort());
    expect(discord.messagesIn(ids.fromMessage).map((m) => m.content)).toEqual(['vote here']);
    expect(discord.messagesIn(ids.standalone).map((m) => m.content)).toEqual(['log line']);
    expect(discord.message(ids.preview)?.api.thread?.id).toBe(ids.fromMessage);

    // The first follow-up after a deferral fills in the "thinking" message instead.
    const thinking = await discord.slash({ name: 'thinking' });
    const filled = await thinking.waitForOriginal();
    expect(filled.content).toBe('done thinking');
    expect(filled.ephemeral).toBe(true);
    expect(thinking.followUps()).toEqual([]);
  });

  it('records spec violations and unknown routes in specErrors', async () => {
    const headers = { authorization: `Bot ${discord.token}`, 'content-type': 'application/json' };
    const bad = await fetch(`${discord.apiUrl}/v10/channels/${channelId}/messages`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ content: 5 }),
    });
    expect(bad.status).toBe(400);
    const missing = await fetch(`${discord.apiUrl}/v10/channels/${channelId}/no-such-thing`, { headers });
    expect(missing.status).toBe(404);

    expect(discord.specErrors).toEqual([
      expect.stringMatching(/^POST \/channels\/\d+\/messages: \/requestBody\/content must be string/),
      `GET /channels/${channelId}/no-such-thing: unknown route: GET /channels/${channelId}/no-such-thing`,
    ]);
    discord.specErrors.length = 0;
  });

  it('refuses a modal whose pre-filled value is longer than its own max_length, as Discord does (50035)', async () => {
    const message = await (await discord.slash({ name: 'checkpoints' })).waitForOriginal();
    const fits = outcome('prefill');
    const opened = await discord.button({ customId: 'prefill:tenletters', message, forged: true });
    expect(await fits).toBe('opened');
    expect((await opened.modal()).custom_id).toBe('prefill-modal');
    const refused = outcome('prefill');
    await discord.button({ customId: 'prefill:elevenletter', message, forged: true });
    const error = await refused;
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect((error as DiscordAPIError).code).toBe(50035);
    expect((error as DiscordAPIError).message).toMatch(/between 0 and 10 in length/);
  });

  it('answers a second acknowledgement with 40060 and a late one with 10062', async () => {
    const doubled = outcome('double');
    const first = await discord.slash({ name: 'double' });
    expect((await first.ack()).type).toBe(InteractionResponseType.DeferredChannelMessageWithSource);
    const error = await doubled;
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect((error as DiscordAPIError).code).toBe(40060);
    expect((error as DiscordAPIError).status).toBe(400);

    const lateError = outcome('late');
    const late = await discord.slash({ name: 'late' });
    await expect(late.ack()).rejects.toThrow(/acknowledge/);
    const tooLate = await lateError;
    expect((tooLate as DiscordAPIError).code).toBe(10062);
    expect((tooLate as DiscordAPIError).status).toBe(404);
    expect(late.response).toBeUndefined();
  });

  it('survives a dropped gateway connection by RESUMEing, missed interaction included', async () => {
    const identifies = discord.gatewayFrames.filter((f) => f.op === 2).length;
    discord.dropConnection();
    // Dispatched while the socket is down: buffered in the session and replayed on RESUME.
    const missed = await discord.slash({ name: 'ping' });
    expect((await missed.waitForOriginal()).content).toBe('pong');
    expect(discord.gatewayFrames.filter((f) => f.op === 6)).toHaveLength(1);
    expect(discord.gatewayFrames.filter((f) => f.op === 2)).toHaveLength(identifies);
    expect(discord.sessions()).toMatchObject([{ connected: true, resumes: 1 }]);

    const next = await discord.slash({ name: 'ping' });
    expect((await next.waitForOriginal()).content).toBe('pong');
  });

  it('hands interactions to two connected bot processes in turn', async () => {
    const second = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: discord.apiUrl } });
    second.on(Events.InteractionCreate, (i) => void bot(i).catch((error: unknown) => handlerErrors.push(error)));
    const ready = new Promise<void>((resolve) => second.once(Events.ClientReady, () => resolve()));
    await second.login(discord.token);
    await ready;
    try {
      const first = await discord.slash({ name: 'ping' });
      const next = await discord.slash({ name: 'ping' });
      expect(new Set([...first.sessionIds, ...next.sessionIds]).size).toBe(2);
      expect((await first.waitForOriginal()).content).toBe('pong');
      expect((await next.waitForOriginal()).content).toBe('pong');
    } finally {
      await second.destroy();
    }
    // A clean close (1000) ends the session, so only the first client is left to receive work.
    expect(discord.sessions()).toHaveLength(1);
  });

  it('makes discord.js wait out an injected 429 and post the message once', async () => {
    discord.inject429(/^POST \/channels\/\d+\/messages$/, { retryAfter: 0.4 }, 1);
    const channel = client.channels.cache.get(channelId) as TextChannel;
    const sent = await channel.send('after the rate limit');

    const attempts = discord.requests.filter((r) => r.method === 'POST' && r.path === `/channels/${channelId}/messages` && (r.body as { content?: string }).content === 'after the rate limit');
    expect(attempts.map((r) => r.status)).toEqual([429, 200]);
    expect(attempts[0]!.response).toMatchObject({ retry_after: 0.4, global: false });
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(390);
    expect(discord.messagesIn(channelId).filter((m) => m.content === 'after the rate limit').map((m) => m.id)).toEqual([sent.id]);
  });

  it('resolves the bot’s permissions per channel: app_permissions, a CHANNEL_UPDATE discord.js follows, and Discord’s 403s', async () => {
    const P = PermissionFlagsBits;
    const otherId = discord.textChannels()[1]!.id;
    const other = client.channels.cache.get(otherId) as TextChannel;
    const refusal = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => (error instanceof DiscordAPIError ? [error.status, error.code] : error));
    expect(other.permissionsFor(client.user!)?.has(P.SendMessages)).toBe(true);

    discord.setBotPermissions(otherId, { deny: P.SendMessages | P.AttachFiles });
    await vi.waitFor(() => expect(other.permissionsFor(client.user!)?.has(P.SendMessages)).toBe(false));
    expect(other.permissionsFor(client.user!)?.has(P.AttachFiles)).toBe(false);
    expect((client.channels.cache.get(channelId) as TextChannel).permissionsFor(client.user!)?.has(P.SendMessages)).toBe(true);
    const slash = await discord.slash({ name: 'ping', channelId: otherId });
    expect((await slash.waitForOriginal()).content).toBe('pong');
    const app = BigInt((slash.payload as { app_permissions: string }).app_permissions);
    expect([app & P.SendMessages, app & P.AttachFiles, app & P.EmbedLinks, app & P.SendMessagesInThreads]).toEqual([0n, 0n, P.EmbedLinks, P.SendMessagesInThreads]);

    expect(await refusal(other.send('hello'))).toEqual([403, 50013]);
    // A thread goes by its parent's overwrites, with Send Messages in Threads instead of Send Messages.
    const thread = await other.threads.create({ name: 'log', type: ChannelType.PublicThread });
    await thread.send('in the thread');
    expect(await refusal(thread.send({ files: [new AttachmentBuilder(await png(4, 4), { name: 'p.png' })] }))).toEqual([403, 50013]);
    discord.setBotPermissions(otherId, { deny: P.CreatePublicThreads });
    expect(await refusal(other.threads.create({ name: 'another', type: ChannelType.PublicThread }))).toEqual([403, 50013]);
    // Out of sight: every use of the channel is refused with 50001.
    discord.setBotPermissions(otherId, { deny: P.ViewChannel });
    expect(await refusal(other.messages.fetch({ limit: 5 }))).toEqual([403, 50001]);
    expect(await refusal(thread.send('still there?'))).toEqual([403, 50001]);

    discord.setBotPermissions(otherId, {});
    await vi.waitFor(() => expect(other.permissionOverwrites.cache.size).toBe(0));
    expect((await other.send('back')).content).toBe('back');
    // The interaction's reply needed none of the channel's permissions; the refused post left nothing.
    expect(discord.messagesIn(otherId).map((m) => m.content)).toEqual(['pong', 'back']);
    expect(discord.messagesIn(thread.id).map((m) => m.content)).toEqual(['in the thread']);
  });
});
