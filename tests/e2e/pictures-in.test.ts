import { existsSync } from 'node:fs';
import path from 'node:path';
import { ApplicationCommandType, Locale } from 'discord-api-types/v10';
import Replicate from 'replicate';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, readDisplayImage } from '../../src/dataset/dataset.js';
import type { DiscordEmulator, InteractionHandle, StoredMessage } from '../emulators/discord/index.js';
import type { ReplicateEmulator } from '../emulators/replicate/index.js';
import { drawing } from '../support/fixtures.js';
import { gpsPhoto, hasGpsIfd } from '../support/exif.js';
import { startWorld, type World } from '../support/world.js';

/**
 * Pictures on their way in (issue 17, items 4–6): nothing is paid for a picture that does not
 * decode, a class's drawings come in through a message's attachments or several `image` options,
 * and the originals kept under DATA_DIR carry no location.
 */

const SHOWCASE_ID = '1300000000000000001';
const TRAINER_ROLE = '1300000000000000002';
const MENU = 'Add to kmplz dataset';

let world: World;
let discord: DiscordEmulator;
let replicate: ReplicateEmulator;

beforeAll(async () => {
  world = await startWorld({
    discord: { guilds: [{ channels: [{ name: 'general' }, { id: SHOWCASE_ID, name: 'showcase' }], roles: [{ id: TRAINER_ROLE, name: 'Trainer' }] }] },
    env: { SHOWCASE_CHANNEL_ID: SHOWCASE_ID, TRAINER_ROLE_ID: TRAINER_ROLE },
  });
  ({ discord, replicate } = world);
});
afterAll(() => world?.stop());
afterEach(() => world.expectCleanRequests());

/** The first thing the asker reads: an ephemeral follow-up (after a public "thinking…") or the filled-in reply. */
const firstAnswer = (handle: InteractionHandle, what: string, timeoutMs = 10_000): Promise<StoredMessage> =>
  discord.waitFor(() => handle.followUps()[0] ?? (handle.original()?.loading === false ? handle.original() : undefined), timeoutMs, `an answer to ${what}`);
const field = (m: StoredMessage, prefix: string) => m.embeds[0]?.fields?.find((f) => f.name.startsWith(prefix))?.value ?? '';
const dataset = () => loadDataset(world.bot.app.context.store, discord.guild().id);

/** A PNG cut in half: its header is intact, its pixel data stops in the middle. */
async function halfPng(colour = '#dd2222'): Promise<Buffer> {
  const whole = await drawing(800, 600, colour);
  return whole.subarray(0, Math.floor(whole.length / 2));
}

async function rgbAt(image: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [data[at]!, data[at + 1]!, data[at + 2]!];
}
const near = (actual: number[], expected: number[], tolerance = 40) => actual.every((v, i) => Math.abs(v - expected[i]!) <= tolerance);

describe('a broken picture is not paid for', () => {
  it('the emulated BLIP, like predict.py, fails a truncated PNG only once the prediction runs: a billed failure', async () => {
    const client = new Replicate({ auth: replicate.token, baseUrl: replicate.baseUrl, useFileOutput: false });
    const version = replicate.refs.blip.split(':')[1]!;
    const created = await client.predictions.create({ version, input: { image: `data:image/png;base64,${(await halfPng()).toString('base64')}` } });
    await replicate.settled(created.id);
    const failed = await client.predictions.get(created.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/image file is truncated/);
    expect(failed.metrics?.predict_time).toBeGreaterThan(0);
  });

  it('/caption image: with a PNG cut in half creates no prediction and tells the asker why, privately, in their language', async () => {
    const before = replicate.predictions.size;
    const cut = await halfPng();
    const english = await discord.slash({ name: 'caption', user: discord.users.carol, options: { image: { filename: 'half.png', data: cut } } });
    const answer = await firstAnswer(english, '/caption image:');
    expect(answer.ephemeral).toBe(true);
    expect(answer.content).toMatch(/^“half\.png” cannot be used: the image is truncated or damaged \(.+\)\. Nothing was sent or paid for\.$/);
    const russian = await discord.slash({ name: 'caption', user: discord.users.carol, locale: Locale.Russian, options: { image: { filename: 'half.png', data: cut } } });
    expect((await firstAnswer(russian, '/caption image: in Russian')).content).toMatch(/^«half\.png» не подходит: .+ ничего не оплачено\.$/);
    expect(replicate.predictions.size).toBe(before);

    // The check refuses what is broken, not pictures: the whole one is captioned (and paid for).
    const whole = await discord.slash({ name: 'caption', user: discord.users.carol, options: { image: { filename: 'whole.png', data: await drawing(800, 600, '#dd2222') } } });
    expect((await whole.waitForOriginal(undefined, 10_000)).embeds[0]?.description).toMatch(/KMPLZ, a drawing of a red/);
    expect(replicate.predictions.size).toBe(before + 1);
  });

  it('/showcase image: refuses a truncated picture and posts nothing', async () => {
    const slash = await discord.slash({ name: 'showcase', user: discord.users.dave, options: { image: { filename: 'cut.png', data: await halfPng('#22aa55') } } });
    const answer = await firstAnswer(slash, '/showcase image:');
    expect(answer.ephemeral).toBe(true);
    expect(answer.content).toMatch(/“cut\.png” cannot be used: the image is truncated or damaged/);
    expect(discord.messagesIn(SHOWCASE_ID)).toHaveLength(0);
  });
});

describe('drawings come in the way Discord is used', () => {
  it('registers the message menu “Add to kmplz dataset”: a MESSAGE command without description, for servers only', () => {
    const menu = discord.registeredCommands().find((c) => c.type === ApplicationCommandType.Message);
    expect(menu).toMatchObject({ name: MENU, description: '', contexts: [0], name_localizations: { ru: 'Добавить в датасет kmplz' } });
  });

  let post: StoredMessage;

  it('refuses the menu to a student, changing nothing', async () => {
    post = await discord.postAsUser({
      user: discord.users.carol,
      content: 'my drawings from this week',
      files: [
        { filename: 'phone-photo.jpg', data: await gpsPhoto(800, 600, 6) },
        { filename: 'half.png', data: await halfPng() },
        { filename: 'notes.txt', data: Buffer.from('these are my drawings') },
        { filename: 'sketch.png', data: await drawing(640, 640, '#3050e0') },
      ],
    });
    const before = await dataset();
    const student = await discord.messageCommand({ name: MENU, message: post, user: discord.users.carol });
    const answer = await firstAnswer(student, 'the menu, used by a student');
    expect(answer.ephemeral).toBe(true);
    expect(answer.content).toMatch(/Only trainers/);
    expect(await dataset()).toEqual(before);
  });

  it('adds every picture of the message for a trainer, decoded and cropped like any other, saying what was refused and why and the total', async () => {
    const menu = await discord.messageCommand({ name: MENU, message: post, user: discord.users.bob });
    // As Discord sends it: the target message, attachments and all, rides in the interaction.
    expect((menu.payload as unknown as { data: unknown }).data).toMatchObject({ type: ApplicationCommandType.Message, target_id: post.id, resolved: { messages: { [post.id]: { attachments: expect.any(Array) } } } });
    expect((await menu.ack()).type).toBe(5);
    const reply = await menu.waitForOriginal(undefined, 20_000);
    expect(reply.ephemeral).toBe(true);
    expect(reply.embeds[0]?.title).toBe('Added 2 drawings');
    expect(reply.embeds[0]?.description).toMatch(/now has 2 drawings/);
    expect(field(reply, 'added')).toMatch(/phone-photo\*\* \(600×800\)/);
    const refused = field(reply, 'refused');
    expect(refused).toMatch(/half\.png\*\*: the image is truncated or damaged/);
    expect(refused).toMatch(/notes\.txt\*\*: not a picture/);

    const { images } = await dataset();
    expect(images.map((i) => i.name).sort()).toEqual(['phone-photo', 'sketch']);
    const photo = images.find((i) => i.name === 'phone-photo')!;
    const square = path.join(world.bot.dataDir, photo.processedFile);
    expect(await sharp(square).metadata()).toMatchObject({ width: 1024, height: 1024 });
    // EXIF orientation 6: the stored top (red) is on the right once the photo is upright.
    expect(near(await rgbAt(await sharp(square).toBuffer(), 1000, 512), [255, 0, 0])).toBe(true);
    expect(near(await rgbAt(await sharp(square).toBuffer(), 24, 512), [0, 0, 255])).toBe(true);
  });

  it('/dataset add takes several image options at once, each refused or added on its own, with the running total', async () => {
    const slash = await discord.slash({
      name: 'dataset',
      subcommand: 'add',
      user: discord.users.bob,
      options: {
        image: { filename: 'cat.png', data: await drawing(700, 700, '#e0a030') },
        image2: { filename: 'broken.jpg', data: (await sharp(await drawing(640, 480, '#20a040')).jpeg().toBuffer()).subarray(0, 1500) },
        image10: { filename: 'girl.webp', data: await sharp(await drawing(600, 900, '#a02080')).webp().toBuffer() },
      },
    });
    const reply = await slash.waitForOriginal(undefined, 20_000);
    expect(reply.embeds[0]?.title).toBe('Added 2 drawings');
    expect(reply.embeds[0]?.description).toMatch(/now has 4 drawings/);
    expect(field(reply, 'added')).toMatch(/cat\*\*[\s\S]*girl\*\*|girl\*\*[\s\S]*cat\*\*/);
    expect(field(reply, 'refused')).toMatch(/broken\.jpg\*\*: the image is truncated or damaged/);
    expect((await dataset()).images).toHaveLength(4);
  });

  it('answers a trainer in Russian, and says so when the message has nothing to add', async () => {
    const words = await discord.postAsUser({ user: discord.users.carol, content: 'no pictures today', files: [] });
    const empty = await discord.messageCommand({ name: MENU, message: words, user: discord.users.bob, locale: Locale.Russian });
    expect((await firstAnswer(empty, 'the menu on a message without files')).content).toMatch(/В этом сообщении нет вложений/);
    const one = await discord.postAsUser({ user: discord.users.carol, files: [{ filename: 'half.png', data: await halfPng() }] });
    const russian = await (await discord.messageCommand({ name: MENU, message: one, user: discord.users.bob, locale: Locale.Russian })).waitForOriginal(undefined, 10_000);
    expect(russian.embeds[0]?.title).toBe('Ничего не добавлено');
    expect(russian.embeds[0]?.description).toMatch(/4/);
  });
});

describe('originals without location', () => {
  it('keeps the original of a phone photo upright and without its EXIF (GPS included)', async () => {
    const upload = await gpsPhoto(800, 600, 6);
    expect(hasGpsIfd((await sharp(upload).metadata()).exif!)).toBe(true);
    const slash = await discord.slash({ name: 'dataset', subcommand: 'add', user: discord.users.bob, options: { image: { filename: 'holiday.jpg', data: upload } } });
    expect((await slash.waitForOriginal(undefined, 20_000)).embeds[0]?.title).toBe('Added 1 drawing');
    const photo = (await dataset()).images.find((i) => i.name === 'holiday')!;
    const file = path.join(world.bot.dataDir, photo.originalFile);
    const meta = await sharp(file).metadata();
    expect(meta.exif).toBeUndefined();
    expect(meta.orientation).toBeUndefined();
    expect(meta.xmp).toBeUndefined();
    expect(meta).toMatchObject({ format: 'jpeg', width: 600, height: 800 });
    // Turned upright in its pixels: the stored top (red) is now the right half.
    const pixels = await sharp(file).toBuffer();
    expect(near(await rgbAt(pixels, 590, 400), [255, 0, 0])).toBe(true);
    expect(near(await rgbAt(pixels, 10, 400), [0, 0, 255])).toBe(true);
    // Shown next to generations the same way up as before.
    expect(near(await rgbAt(await readDisplayImage(world.bot.app.context, discord.guild().id, photo), 550, 380), [255, 0, 0])).toBe(true);
  });
});

describe('everything of a server, removed from inside Discord', () => {
  it('/dataset clear everything:true asks a trainer, then removes every record and file of the server but the spending figures', async () => {
    const guildId = discord.guild().id;
    const { store } = world.bot.app.context;
    const folder = path.join(world.bot.dataDir, 'guilds', guildId);
    expect(existsSync(folder)).toBe(true);
    // /caption spent GPU time above; the month's figure stays so that BUDGET_USD cannot be reset this way.
    const spending = (await store.keys(`guild:${guildId}:`)).filter((key) => key.startsWith(`guild:${guildId}:spend:`));
    expect(spending).not.toHaveLength(0);

    const student = await discord.slash({ name: 'dataset', subcommand: 'clear', user: discord.users.carol, options: { everything: true } });
    expect((await firstAnswer(student, 'a student asking to remove everything')).content).toMatch(/Only trainers/);

    const ask = await (await discord.slash({ name: 'dataset', subcommand: 'clear', user: discord.users.bob, options: { everything: true } })).waitForOriginal();
    expect(ask.ephemeral).toBe(true);
    expect(ask.content).toMatch(/^Remove \*\*everything\*\* kmplz keeps of this server\? The 5 drawings/);
    expect(existsSync(folder)).toBe(true);
    const yes = (ask.components.flatMap((row) => ('components' in row ? (row.components as unknown[]) : [])) as { custom_id: string }[])[0]!.custom_id;
    await (await discord.button({ customId: yes, message: ask, user: discord.users.bob })).ack();
    await discord.waitFor(() => (/^Removed everything kmplz kept of this server/.test(discord.message(ask.id)?.content ?? '') ? true : undefined), 10_000, 'everything to be removed');

    expect(existsSync(folder)).toBe(false);
    expect((await store.keys(`guild:${guildId}:`)).sort()).toEqual(spending.sort());
    expect((await dataset()).images).toEqual([]);
  });
});
