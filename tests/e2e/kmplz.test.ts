import { PermissionFlagsBits } from 'discord.js';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordEmulator, type DiscordEmulator, type StoredMessage } from '../emulators/discord/index.js';
import { startReplicateEmulator, type ReplicateEmulator } from '../emulators/replicate/index.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { seedDataset, seedTraining } from '../support/fixtures.js';
import { TEST_DESTINATION, trainCheckpoint } from '../support/replicate-training.js';

let discord: DiscordEmulator;
let replicate: ReplicateEmulator;
let bot: TestBot;
let weights: { weightsUrl: string; version: string };

const guildId = () => discord.guild().id;
/** A second server where nothing was ever added or trained. */
const emptyGuildId = () => discord.guilds()[1]!.id;

beforeAll(async () => {
  // In the second server, 'Admin' members may manage it: trainers there, strangers here.
  discord = await startDiscordEmulator({ guilds: [{}, { roles: [{ name: 'Trainer' }, { name: 'Admin', permissions: PermissionFlagsBits.ManageGuild }] }] });
  replicate = await startReplicateEmulator({ destinations: [TEST_DESTINATION] });
  weights = await trainCheckpoint(replicate);
  bot = await startTestBot({ discord, replicate }, { deps: { generation: { progressEditIntervalMs: 20, perUserCap: 5, concurrency: 2 } } });
  await seedDataset(bot.app.context, guildId(), [
    { name: 'hoodie-girl', colour: '#3050e0', caption: 'KMPLZ, a drawing of a sad girl in a hoodie and jeans' },
    { name: 'cat', colour: '#e0a030', caption: 'KMPLZ, a drawing of a cat on a chair' },
  ]);
  await seedTraining(bot.app.context, guildId(), discord.textChannels()[0]!.id, [{ step: 250, ...weights }]);
});
afterAll(async () => {
  await bot?.stop();
  await replicate?.close();
  await discord?.close();
});
afterEach(() => {
  discord.assertNoSpecErrors();
  expect(replicate.specErrors).toEqual([]);
});

async function pixel(image: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (Math.round(y) * info.width + Math.round(x)) * info.channels;
  return [data[at]!, data[at + 1]!, data[at + 2]!];
}

const close = (a: number[], b: number[], tolerance = 12) => a.every((v, i) => Math.abs(v - b[i]!) <= tolerance);

/** The message was sent allowing no mentions, and none of its versions pinged anyone. */
function expectPingsNobody(message: StoredMessage): void {
  expect(message.allowedMentions).toMatchObject({ parse: [] });
  expect(message.allowedMentions).not.toHaveProperty('users');
  expect(message.allowedMentions).not.toHaveProperty('roles');
  for (const revision of [...message.revisions, message.api]) {
    expect(revision.mention_everyone).toBe(false);
    expect(revision.mention_roles).toEqual([]);
    expect(revision.mentions).toEqual([]);
  }
}

const finished = (m: StoredMessage) => m.attachments.length > 0 || /could not|blocked|busy|Canceled|trouble|budget/i.test(m.content);

describe('/kmplz before anything is trained', () => {
  it('says plainly that there is no checkpoint yet, to the caller alone', async () => {
    const slash = await discord.slash({ name: 'kmplz', guildId: emptyGuildId(), channelId: discord.textChannels(emptyGuildId())[0]!.id, options: { prompt: 'a cat' } });
    const followUp = await slash.waitForFollowUp();
    expect(followUp.ephemeral).toBe(true);
    expect(followUp.content).toMatch(/no trained checkpoint yet/i);
    expect(replicate.predictions.size).toBe(0);
  });
});

describe('/kmplz with a trained checkpoint', () => {
  it('replies with the picture next to the best-matching reference drawing, and the generator got the right inputs', async () => {
    const slash = await discord.slash({ name: 'kmplz', user: discord.users.carol, options: { prompt: 'a sad girl in a hoodie', steps: 20, guidance: 5, seed: 7 } });
    expect((await slash.ack()).type).toBe(5);
    const reply = await slash.waitForOriginal(finished, 15_000);
    const prediction = [...replicate.predictions.values()].at(-1)!;
    expect(prediction.input).toMatchObject({ prompt: 'KMPLZ, a sad girl in a hoodie', num_inference_steps: 20, guidance_scale: 5, seed: 7, replicate_weights: weights.weightsUrl });

    expect(reply.attachments).toHaveLength(2);
    const [side, plain] = reply.attachments;
    const composite = await sharp(side!.data).metadata();
    expect(composite.width! / composite.height!).toBeGreaterThan(1.9);
    expect(composite.width! / composite.height!).toBeLessThan(2.1);
    const generated = replicate.output((prediction.output as string[])[0]!)!.data;
    expect(close(await pixel(side!.data, composite.width! / 4, composite.height! / 2), await pixel(generated, 512, 512))).toBe(true);
    // The reference whose caption matches ("sad girl in a hoodie") is the blue drawing.
    expect(close(await pixel(side!.data, (composite.width! * 3) / 4, composite.height! / 2), [0x30, 0x50, 0xe0], 20)).toBe(true);
    expect((await sharp(plain!.data).metadata()).width).toBe(1024);

    const embed = reply.embeds[0]!;
    expect(embed.fields?.map((f) => [f.name, f.value])).toEqual(
      expect.arrayContaining([['steps', '20'], ['guidance', '5'], ['seed', '7'], ['size', '1024×1024'], ['checkpoint', 'step 250']]),
    );
    const buttons = reply.components.flatMap((row) => ('components' in row ? (row.components as unknown[]) : [])) as { custom_id?: string }[];
    expect(buttons.map((b) => b.custom_id?.split(':').slice(0, 2).join(':'))).toEqual(['kmplz:again', 'kmplz:showcase', 'kmplz:params', 'kmplz:delete']);
  });

  it('puts the trigger word in front and cuts over-long prompts, saying so', async () => {
    const long = `a girl ${'with a very long scarf and '.repeat(30)}boots`;
    const slash = await discord.slash({ name: 'kmplz', options: { prompt: long, steps: 2 } });
    const reply = await slash.waitForOriginal(finished, 15_000);
    expect(reply.content).toMatch(/cut/);
    const prompt = String([...replicate.predictions.values()].at(-1)!.input.prompt);
    expect(prompt.startsWith('KMPLZ, a girl with')).toBe(true);
    expect(prompt.length).toBeLessThan(long.length);
  });

  it('refuses out-of-range options from a raw payload with a clear message', async () => {
    const before = replicate.predictions.size;
    // Forged: Discord's client would not send these past the registered bounds; the bot checks them again.
    const slash = await discord.slash({ name: 'kmplz', options: { prompt: 'a cat', width: 1001, steps: 500 }, forged: true });
    const followUp = await slash.waitForFollowUp();
    expect(followUp.ephemeral).toBe(true);
    expect(followUp.content).toMatch(/width/i);
    expect(followUp.content).toMatch(/steps/i);
    expect(replicate.predictions.size).toBe(before);
  });

  it('reuses the stored picture for an identical request with an explicit seed', async () => {
    const options = { prompt: 'a cat on a chair', steps: 3, guidance: 4, seed: 99 };
    await (await discord.slash({ name: 'kmplz', options })).waitForOriginal(finished, 15_000);
    const before = replicate.predictions.size;
    const again = await (await discord.slash({ name: 'kmplz', user: discord.users.dave, options })).waitForOriginal(finished, 15_000);
    expect(replicate.predictions.size).toBe(before);
    expect(again.content).toMatch(/no GPU time spent/);
    expect(again.attachments).toHaveLength(2);
  });

  it('tells the asker plainly when the safety checker blocks a picture', async () => {
    const reply = await (await discord.slash({ name: 'kmplz', options: { prompt: 'nsfw thing', steps: 2 } })).waitForOriginal(finished, 15_000);
    expect(reply.content).toMatch(/safety checker blocked/);
    expect(reply.attachments).toHaveLength(0);
  });

  it('tells the asker when the GPU service keeps throttling, after backing off', async () => {
    replicate.inject('predictions.create', { status: 429 }, 24);
    const reply = await (await discord.slash({ name: 'kmplz', options: { prompt: 'a dog', steps: 2 } })).waitForOriginal(finished, 30_000);
    expect(reply.content).toMatch(/busy/);
  }, 40_000);

  it('fits the reply under a small upload limit', async () => {
    const slash = await discord.slash({ name: 'kmplz', options: { prompt: 'a tree', steps: 2 }, attachmentSizeLimit: 120_000 });
    const reply = await slash.waitForOriginal(finished, 15_000);
    expect(reply.attachments).toHaveLength(2);
    for (const attachment of reply.attachments) {
      expect(attachment.data.length).toBeLessThanOrEqual(120_000);
      expect((await sharp(attachment.data).metadata()).width).toBeGreaterThan(0);
    }
  });

  it('serves ten people fairly: the first ten pictures cover at least eight of them', async () => {
    const users = Array.from({ length: 10 }, (_, i) => discord.makeUser(`student${i}`));
    const before = replicate.predictions.size;
    const handles = [];
    // Each person sends five requests in a row, as in a busy chat; the first person's five arrive first.
    for (const [i, user] of users.entries()) {
      for (let n = 0; n < 5; n++) handles.push(await discord.slash({ name: 'kmplz', user, options: { prompt: `a bird for student${i} number ${n}`, steps: 5 } }));
    }
    await Promise.all(handles.map((h) => h.waitForOriginal(finished, 60_000)));
    const first10 = [...replicate.predictions.values()].slice(before, before + 10);
    const people = new Set(first10.map((p) => /student(\d+)/.exec(String(p.input.prompt))?.[1]));
    expect(people.size).toBeGreaterThanOrEqual(8);
    expect(replicate.predictions.size - before).toBe(50);
  }, 90_000);
});

describe('/kmplz result buttons', () => {
  const buttonOf = (message: StoredMessage, action: string) =>
    (message.components.flatMap((row) => ('components' in row ? (row.components as unknown[]) : [])) as { custom_id?: string }[]).find((b) => b.custom_id?.startsWith(`kmplz:${action}:`))!.custom_id!;

  it('keep working after a restart: 🎲 makes a new picture with a new seed', async () => {
    const first = await (await discord.slash({ name: 'kmplz', user: discord.users.carol, options: { prompt: 'a cat on a chair', steps: 4, seed: 1234 } })).waitForOriginal(finished, 15_000);
    const dataDir = bot.dataDir;
    await bot.app.stop();
    bot = await startTestBot({ discord, replicate }, { dataDir, deps: { generation: { progressEditIntervalMs: 20, perUserCap: 5, concurrency: 2 } } });
    const before = replicate.predictions.size;
    const click = await discord.button({ customId: buttonOf(first, 'again'), message: first, user: discord.users.dave });
    const again = await click.waitForOriginal(finished, 15_000);
    expect(again.attachments).toHaveLength(2);
    const prediction = [...replicate.predictions.values()].at(-1)!;
    expect(replicate.predictions.size).toBe(before + 1);
    expect(prediction.input).toMatchObject({ prompt: 'KMPLZ, a cat on a chair', num_inference_steps: 4 });
    expect(prediction.input.seed).not.toBe(1234);
  });

  it('📋 shows the parameters to the clicker alone; ⭐ says when no showcase is configured', async () => {
    const result = await (await discord.slash({ name: 'kmplz', options: { prompt: 'a lamp', steps: 2, seed: 5 } })).waitForOriginal(finished, 15_000);
    const params = await discord.button({ customId: buttonOf(result, 'params'), message: result, user: discord.users.bob });
    const shown = await params.waitForOriginal();
    expect(shown.ephemeral).toBe(true);
    expect(JSON.stringify(shown.embeds)).toContain('seed:5');
    const star = await discord.button({ customId: buttonOf(result, 'showcase'), message: result });
    expect((await star.waitForOriginal()).content).toMatch(/no showcase channel/);
  });

  it('🗑 deletes for the owner or a trainer, not for others', async () => {
    const result = await (await discord.slash({ name: 'kmplz', user: discord.users.carol, options: { prompt: 'a cup', steps: 2 } })).waitForOriginal(finished, 15_000);
    const stranger = await discord.button({ customId: buttonOf(result, 'delete'), message: result, user: discord.users.dave });
    expect((await stranger.waitForFollowUp()).content).toMatch(/Only the person who made this picture/);
    expect(discord.message(result.id)?.deleted).toBe(false);
    const owner = await discord.button({ customId: buttonOf(result, 'delete'), message: result, user: discord.users.carol });
    await owner.ack();
    await discord.waitFor(() => (discord.message(result.id)?.deleted ? true : undefined), 3000, 'the result to be deleted');
  });

  it('a button forged with another server’s job id finds nothing', async () => {
    const result = await (await discord.slash({ name: 'kmplz', options: { prompt: 'a pear', steps: 2 } })).waitForOriginal(finished, 15_000);
    const jobId = buttonOf(result, 'params').split(':')[2];
    const outsider = discord.makeUser('outsider', { guildIds: [emptyGuildId()] });
    const theirMessage = await (await discord.slash({ name: 'checkpoints', guildId: emptyGuildId(), channelId: discord.textChannels(emptyGuildId())[0]!.id, user: outsider })).waitForOriginal();
    const forged = await discord.button({ customId: `kmplz:params:${jobId}`, message: theirMessage, user: outsider, forged: true });
    const answer = await forged.waitForOriginal();
    expect(answer.content).toMatch(/not known here/);
    expect(JSON.stringify(answer.embeds)).not.toContain('pear');
  });

  it('buttons forged in another server by its own trainer, with this server’s job id, delete, draw and post nothing', async () => {
    // A showcase channel in this server, so that a forged ⭐ would have somewhere to post.
    const showcaseChannelId = discord.textChannels()[0]!.id;
    const dataDir = bot.dataDir;
    await bot.app.stop();
    bot = await startTestBot({ discord, replicate }, { dataDir, env: { SHOWCASE_CHANNEL_ID: showcaseChannelId }, deps: { generation: { progressEditIntervalMs: 20, perUserCap: 5, concurrency: 2 } } });
    const result = await (await discord.slash({ name: 'kmplz', options: { prompt: 'a plum', steps: 2 } })).waitForOriginal(finished, 15_000);
    const jobId = buttonOf(result, 'params').split(':')[2];
    const admin = discord.makeUser('other-admin', { guildIds: [emptyGuildId()], roles: ['Admin'] });
    const channelId = discord.textChannels(emptyGuildId())[0]!.id;
    const theirMessage = await (await discord.slash({ name: 'checkpoints', guildId: emptyGuildId(), channelId, user: admin })).waitForOriginal();
    const predictionsBefore = replicate.predictions.size;
    const everyChannel = () => [...discord.textChannels(), ...discord.textChannels(emptyGuildId())];
    const messagesBefore = everyChannel().map((c) => discord.messagesIn(c.id).length);
    const forgedClicks = [];
    for (const action of ['delete', 'again', 'showcase', 'cancel']) {
      const forged = await discord.button({ customId: `kmplz:${action}:${jobId}`, message: theirMessage, user: admin, forged: true });
      forgedClicks.push(forged);
      // Deferred as an update, the refusal is a follow-up; deferred as a reply, it is the reply.
      const answer = await discord.waitFor(() => forged.followUps()[0] ?? (forged.response?.type === 5 && forged.original()?.loading === false ? forged.original() : undefined), 5000, `an answer to ${action}`);
      expect(answer.content, action).toMatch(/not known here/);
      expect(answer.ephemeral, action).toBe(true);
    }
    // A picture asked for afterwards is drawn and delivered: anything a forged 🎲 had queued would be drawn by then.
    const control = await (await discord.slash({ name: 'kmplz', options: { prompt: 'a fig', steps: 2 } })).waitForOriginal(finished, 15_000);
    expect(control.attachments).toHaveLength(2);
    expect([...replicate.predictions.values()].slice(predictionsBefore).map((p) => p.input.prompt)).toEqual(['KMPLZ, a fig']);
    expect(forgedClicks.flatMap((c) => [c.original(), ...c.followUps()]).flatMap((m) => m?.attachments ?? [])).toEqual([]);
    expect(discord.message(result.id)?.deleted).toBe(false);
    expect(discord.message(theirMessage.id)?.deleted).toBe(false);
    // Nothing was posted anywhere, the showcase channel included (the control's reply aside).
    expect(everyChannel().map((c) => discord.messagesIn(c.id).filter((m) => m.id !== control.id).length)).toEqual(messagesBefore);
    // ⭐ from this server does post there: the forged one was refused, not unable.
    const star = await discord.button({ customId: buttonOf(result, 'showcase'), message: result });
    expect((await star.waitForOriginal((m) => !m.loading, 10_000)).content).toMatch(/discord\.com\/channels/);
    expect(discord.messagesIn(showcaseChannelId).at(-1)?.embeds[0]?.title).toBe('KMPLZ, a plum');
  });

  it('a prompt that tries to ping pings nobody: @everyone, @here, roles and people stay text', async () => {
    const role = discord.guild().roles.find((r) => r.name === 'Trainer')!;
    const prompt = `@everyone @here <@&${role.id}> <@${discord.users.dave.id}> a loud cat`;
    const slash = await discord.slash({ name: 'kmplz', user: discord.users.carol, options: { prompt, steps: 2 } });
    const reply = await slash.waitForOriginal(finished, 15_000);
    expect(reply.attachments).toHaveLength(2);
    expect(JSON.stringify(reply.api)).toContain('a loud cat');
    // Prompts are shown in embeds, which never ping; the reply also says so for its content.
    expectPingsNobody(reply);
  });

  it('a failure that quotes the prompt into the reply’s content pings nobody either', async () => {
    const role = discord.guild().roles.find((r) => r.name === 'Trainer')!;
    const prompt = `@everyone @here <@&${role.id}> <@${discord.users.dave.id}> a loud dog`;
    // The GPU service's error echoes its input, and the reply quotes the error.
    replicate.oncePrediction(replicate.refs.sdxl, async (input) => {
      throw new Error(`could not tokenize prompt: ${String(input.prompt)}`);
    });
    const slash = await discord.slash({ name: 'kmplz', user: discord.users.carol, options: { prompt, steps: 2 } });
    const reply = await slash.waitForOriginal(finished, 15_000);
    expect(reply.content).toContain('could not tokenize prompt');
    // The mentions really are in the content (where they could ping) …
    expect(reply.content).toContain('@everyone');
    expect(reply.content).toContain(`<@&${role.id}>`);
    // … and ping nobody.
    expectPingsNobody(reply);
  });
});

