import { ActionRowBuilder, ButtonBuilder, ButtonStyle, type MessageCreateOptions } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postOnce, type PostOnceDeps } from '../../src/training/post-once.js';
import type { MessageMark } from '../../src/training/records.js';
import { startDiscordEmulator, type DiscordEmulator } from '../emulators/discord/index.js';
import { startTestBot, type TestBot } from '../support/bot.js';

let discord: DiscordEmulator;
let bot: TestBot;
let channelId: string;
let n = 0;

beforeAll(async () => {
  discord = await startDiscordEmulator();
  bot = await startTestBot({ discord });
  channelId = discord.textChannels()[0]!.id;
});
afterAll(async () => {
  await bot?.stop();
  await discord?.close();
});

/** `alsoAlive`: other runs that are alive (another bot process on the same Redis). */
const deps = (bootId: string, alsoAlive: string[] = []): PostOnceDeps => ({
  store: bot.app.context.store,
  client: bot.app.client,
  clock: bot.app.context.clock,
  log: bot.app.context.log,
  cluster: { bootId, isAlive: async (id) => id === bootId || alsoAlive.includes(id) },
});
const tagged = (tag: string, text: string) => ({
  content: text,
  components: [new ActionRowBuilder<ButtonBuilder>().addComponents(new ButtonBuilder().setCustomId(tag).setLabel('Vote').setStyle(ButtonStyle.Primary))],
});
const withTag = (tag: string) => discord.messagesIn(channelId).filter((m) => JSON.stringify(m.components).includes(`"${tag}"`));

function request() {
  n += 1;
  const tag = `test:vote:${n}`;
  let builds = 0;
  return {
    tag,
    markKey: `test:mark:${n}`,
    builds: () => builds,
    post: (bootId: string, build: () => Promise<MessageCreateOptions> = async () => tagged(tag, `preview ${n}`), alsoAlive: string[] = []) =>
      postOnce(deps(bootId, alsoAlive), {
        markKey: `test:mark:${n}`,
        channelId,
        tag,
        build: () => {
          builds += 1;
          return build();
        },
      }),
  };
}

describe('postOnce', () => {
  it('posts once, records the message in the mark, and posts nothing the second time', async () => {
    const r = request();
    const first = await r.post('boot-a');
    expect(first).toMatchObject({ posted: true });
    expect(await r.post('boot-a')).toEqual({ messageId: first!.messageId, url: expect.stringContaining(first!.messageId), posted: false });
    expect(await r.post('boot-b')).toMatchObject({ messageId: first!.messageId, posted: false });
    expect(r.builds()).toBe(1);
    expect(withTag(r.tag)).toHaveLength(1);
    expect((await bot.app.context.store.get<MessageMark>(r.markKey))?.messageId).toBe(first!.messageId);
  });

  it('a run of the bot killed after posting but before recording: the next run finds the message and does not post again', async () => {
    const r = request();
    const channel = await bot.app.context.client.channels.fetch(channelId);
    if (!channel?.isSendable()) throw new Error('no channel');
    await bot.app.context.store.set<MessageMark>(r.markKey, { by: 'boot-killed', at: 1 });
    const earlier = await channel.send(tagged(r.tag, 'posted just before the crash'));
    expect(await r.post('boot-new')).toMatchObject({ messageId: earlier.id, posted: false });
    expect(r.builds()).toBe(0);
    expect(withTag(r.tag)).toHaveLength(1);
  });

  it('a run of the bot killed between the mark and the post: the next run posts it', async () => {
    const r = request();
    await bot.app.context.store.set<MessageMark>(r.markKey, { by: 'boot-killed', at: 1 });
    expect(await r.post('boot-new')).toMatchObject({ posted: true });
    expect(withTag(r.tag)).toHaveLength(1);
  });

  it('leaves alone a mark this run holds without a message yet (someone here is posting it)', async () => {
    const r = request();
    await bot.app.context.store.set<MessageMark>(r.markKey, { by: 'boot-here', at: 1 });
    expect(await r.post('boot-here')).toBeUndefined();
    expect(r.builds()).toBe(0);
    expect(withTag(r.tag)).toHaveLength(0);
  });

  it('leaves alone a mark another live process holds (it is posting it), and takes it once that process is gone', async () => {
    const r = request();
    await bot.app.context.store.set<MessageMark>(r.markKey, { by: 'process-b', at: 1 });
    expect(await r.post('process-a', undefined, ['process-b'])).toBeUndefined();
    expect(r.builds()).toBe(0);
    expect(await r.post('process-a')).toMatchObject({ posted: true });
    expect(withTag(r.tag)).toHaveLength(1);
  });

  it('frees the mark when making the message fails, so a later attempt posts it', async () => {
    const r = request();
    await expect(r.post('boot-a', async () => Promise.reject(new Error('the GPU is busy')))).rejects.toThrow('busy');
    expect(await bot.app.context.store.get(r.markKey)).toBeUndefined();
    expect(await r.post('boot-a')).toMatchObject({ posted: true });
    expect(withTag(r.tag)).toHaveLength(1);
  });

  it('after a send that failed without an answer, looks before posting again', async () => {
    const r = request();
    await expect(r.post('boot-a', async () => ({ content: '' }))).rejects.toThrow();
    expect((await bot.app.context.store.get<MessageMark>(r.markKey))?.by).toBe('uncertain');
    discord.specErrors.length = 0;
    expect(await r.post('boot-a')).toMatchObject({ posted: true });
    expect(await r.post('boot-a')).toMatchObject({ posted: false });
    expect(withTag(r.tag)).toHaveLength(1);
  });
});
