import path from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { loadDataset, setCaption } from '../../src/dataset/dataset.js';
import { CAPTION_INPUT_MAX } from '../../commands/caption.js';
import { trainingItems, trainingZip } from '../../src/training/dataset-export.js';
import { startDiscordEmulator, type DiscordEmulator, type StoredMessage } from '../emulators/discord/index.js';
import { startReplicateEmulator, type ReplicateEmulator } from '../emulators/replicate/index.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { alphaPng, drawing, orientedJpeg, pngClaiming } from '../support/fixtures.js';
import { zipBuffer } from '../support/replicate-training.js';

let discord: DiscordEmulator;
let replicate: ReplicateEmulator;
let bot: TestBot;
let trainerRole: string;
const guildId = () => discord.guild().id;
const otherGuildId = () => discord.guilds()[1]!.id;

beforeAll(async () => {
  discord = await startDiscordEmulator({ guilds: [{}, {}] });
  replicate = await startReplicateEmulator();
  trainerRole = discord.guild().roles.find((r) => r.name === 'Trainer')!.id;
  bot = await startTestBot({ discord, replicate }, { env: { TRAINER_ROLE_ID: trainerRole } });
});
afterAll(async () => {
  await bot?.stop();
  await replicate?.close();
  await discord?.close();
});
afterEach(() => discord.assertNoSpecErrors());

async function rgbAt(image: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [data[at]!, data[at + 1]!, data[at + 2]!];
}
const near = (actual: number[], expected: number[], tolerance = 40) => actual.every((v, i) => Math.abs(v - expected[i]!) <= tolerance);
const field = (m: StoredMessage, prefix: string) => m.embeds[0]?.fields?.find((f) => f.name.startsWith(prefix))?.value ?? '';

async function unzip(zip: Buffer): Promise<Map<string, Buffer>> {
  const zipfile = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(zip, { lazyEntries: true }, (e, z) => (e ? reject(e) : resolve(z!))));
  const entries = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    zipfile.on('entry', (entry: yauzl.Entry) => {
      zipfile.openReadStream(entry, (error, stream) => {
        if (error || !stream) return reject(error);
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          entries.set(entry.fileName, Buffer.concat(chunks));
          zipfile.readEntry();
        });
      });
    });
    zipfile.on('end', resolve);
    zipfile.readEntry();
  });
  return entries;
}

describe('/dataset', () => {
  it('turns a zip of mixed drawings into square training images, naming every file it refused and why', async () => {
    const archive = await zipBuffer({
      'kimplz/phone-photo.jpg': await orientedJpeg(800, 600, 6),
      'kimplz/transparent.png': await alphaPng(900),
      'kimplz/tiny.png': await drawing(300, 300, '#aa8844'),
      'kimplz/notes.txt': 'these are my drawings',
      'kimplz/cut-off.jpg': (await orientedJpeg(640, 480, 1)).subarray(0, 2000),
      'kimplz/bomb.png': pngClaiming(40_000, 40_000),
      'kimplz/more.zip': await zipBuffer({ 'x.png': await drawing(64, 64, '#000000') }),
    });
    const slash = await discord.slash({ name: 'dataset', subcommand: 'add', user: discord.users.bob, options: { archive: { filename: 'kimplz.zip', data: archive } } });
    expect((await slash.ack()).type).toBe(5);
    const reply = await slash.waitForOriginal(undefined, 20_000);
    expect(reply.ephemeral).toBe(true);
    expect(reply.embeds[0]?.title).toBe('Added 3 drawings');
    const refused = field(reply, 'refused');
    for (const name of ['notes.txt', 'cut-off.jpg', 'bomb.png', 'more.zip']) expect(refused).toContain(name);
    expect(refused).toMatch(/bomb\.png\*\*: .*40000×40000/);
    expect(field(reply, 'warnings')).toMatch(/tiny/);

    const { images } = await loadDataset(bot.app.context.store, guildId());
    expect(images.map((i) => i.name).sort()).toEqual(['phone-photo', 'tiny', 'transparent']);
    const file = (name: string) => path.join(bot.dataDir, images.find((i) => i.name === name)!.processedFile);
    for (const image of images) expect(await sharp(path.join(bot.dataDir, image.processedFile)).metadata()).toMatchObject({ width: 1024, height: 1024 });
    // EXIF orientation 6: the stored top (red) is shown on the right once the photo is turned upright.
    const photo = await sharp(file('phone-photo')).toBuffer();
    expect(near(await rgbAt(photo, 1000, 512), [255, 0, 0])).toBe(true);
    expect(near(await rgbAt(photo, 24, 512), [0, 0, 255])).toBe(true);
    // Transparency became white, the drawing itself stayed black.
    const flattened = await sharp(file('transparent')).toBuffer();
    expect(near(await rgbAt(flattened, 10, 10), [255, 255, 255], 10)).toBe(true);
    expect(near(await rgbAt(flattened, 512, 512), [0, 0, 0], 10)).toBe(true);
    // The originals are kept (upright, without their metadata), for showing next to generations.
    expect((await sharp(path.join(bot.dataDir, images.find((i) => i.name === 'transparent')!.originalFile)).metadata()).width).toBe(900);
  });

  it('reports near-duplicates and keeps going after a bad single image', async () => {
    // The transparent drawing again, smaller and without its alpha: the same picture to a person.
    const same = await sharp(await alphaPng(600)).flatten({ background: '#ffffff' }).jpeg().toBuffer();
    const slash = await discord.slash({ name: 'dataset', subcommand: 'add', user: discord.users.bob, options: { image: { filename: 'tiny-again.jpg', data: same } } });
    const reply = await slash.waitForOriginal(undefined, 10_000);
    expect(field(reply, 'near-duplicates')).toMatch(/tiny-again\*\* ≈ \*\*transparent|transparent\*\* ≈ \*\*tiny-again/);
    const bad = await discord.slash({ name: 'dataset', subcommand: 'add', user: discord.users.bob, options: { image: { filename: 'oops.png', data: Buffer.from('not a png') } } });
    const badReply = await bad.waitForOriginal(undefined, 10_000);
    expect(badReply.embeds[0]?.title).toBe('Nothing was added');
    expect(field(badReply, 'refused')).toMatch(/oops\.png/);
    expect((await loadDataset(bot.app.context.store, guildId())).images).toHaveLength(4);
  });

  it('refuses non-trainers and attachments from hosts that are not allowed, before downloading', async () => {
    const student = await discord.slash({ name: 'dataset', subcommand: 'add', user: discord.users.carol, options: { image: { filename: 'a.png', data: await drawing(600, 600, '#123456') } } });
    expect((await student.waitForOriginal()).content).toMatch(/Only trainers/);
    // A host that is not allowed, which would serve the picture: it must not even be asked.
    let asked = 0;
    const elsewhereHost = createServer((_request, response) => {
      asked++;
      response.end();
    });
    await new Promise<void>((resolve) => elsewhereHost.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(elsewhereHost.address() as AddressInfo).port}/b.png`;
      const elsewhere = await discord.slash({ name: 'dataset', subcommand: 'add', user: discord.users.bob, options: { image: { filename: 'b.png', url } } });
      // One picture of up to ten: its refusal is its line of the answer, the others would go on.
      expect(field(await elsewhere.waitForOriginal(), 'refused')).toMatch(/b\.png\*\*: .*only downloaded from/);
      expect(asked).toBe(0);
    } finally {
      elsewhereHost.close();
    }
    expect((await loadDataset(bot.app.context.store, guildId())).images).toHaveLength(4);
  });

  it('refuses the trainer-only parts of captioning and removal to others, privately, changing nothing', async () => {
    const { store } = bot.app.context;
    const before = await loadDataset(store, guildId());
    const name = before.images[0]!.name;
    const anchor = await (await discord.slash({ name: 'dataset', subcommand: 'list', user: discord.users.carol })).waitForOriginal(undefined, 10_000);
    const attempts = {
      '/caption (batch)': await discord.slash({ name: 'caption', user: discord.users.carol }),
      '/dataset remove': await discord.slash({ name: 'dataset', subcommand: 'remove', user: discord.users.carol, options: { name } }),
      '/dataset clear': await discord.slash({ name: 'dataset', subcommand: 'clear', user: discord.users.carol }),
      'the caption Edit button': await discord.button({ customId: `caption:edit:${name}`, message: anchor, user: discord.users.carol, forged: true }),
      'a forged caption save modal': await discord.modalSubmit({ customId: `caption:save:${name}`, fields: { caption: 'vandalised' }, user: discord.users.carol }),
    };
    for (const [what, attempt] of Object.entries(attempts)) {
      // The first answer, whatever it says: a refusal must be it.
      const answer = await discord.waitFor(() => attempt.followUps()[0] ?? (attempt.original()?.loading === false ? attempt.original() : undefined), 5000, `an answer to ${what}`);
      expect(answer.content, what).toMatch(/Only trainers/);
      expect(answer.ephemeral, what).toBe(true);
    }
    expect(await loadDataset(store, guildId())).toEqual(before);
  });

  it('lists the dataset as a contact sheet with counts; another server sees its own (empty) dataset', async () => {
    const reply = await (await discord.slash({ name: 'dataset', subcommand: 'list' })).waitForOriginal(undefined, 10_000);
    expect(reply.embeds[0]?.description).toMatch(/\*\*4\*\* drawings · \*\*0\*\* captioned · \*\*1\*\* with warnings/);
    const sheet = await sharp(reply.attachments[0]!.data).metadata();
    expect(sheet.width).toBeGreaterThan(sheet.height!);
    const other = await (await discord.slash({ name: 'dataset', subcommand: 'list', guildId: otherGuildId(), channelId: discord.textChannels(otherGuildId())[0]!.id })).waitForOriginal();
    expect(other.content).toMatch(/empty/);
  });

  it('captions one image, then the whole dataset, and lets a trainer edit a caption in a modal', async () => {
    const one = await discord.slash({ name: 'caption', options: { image: { filename: 'red.png', data: await drawing(400, 400, '#dd2222') } } });
    const shown = await one.waitForOriginal(undefined, 10_000);
    expect(shown.embeds[0]?.description).toMatch(/KMPLZ, a drawing of a red/);

    const batch = await discord.slash({ name: 'caption', user: discord.users.bob });
    const review = await batch.waitForOriginal((m) => m.embeds[0]?.title?.startsWith('Captions') ?? false, 20_000);
    expect(review.embeds[0]?.description).toMatch(/KMPLZ, a drawing of/);
    const { images } = await loadDataset(bot.app.context.store, guildId());
    expect(images.every((i) => i.caption?.startsWith('KMPLZ, '))).toBe(true);

    const editId = (review.components.flatMap((row) => ('components' in row ? (row.components as unknown[]) : [])) as { custom_id?: string }[]).find((b) => b.custom_id === 'caption:edit:tiny')!.custom_id!;
    const click = await discord.button({ customId: editId, message: review, user: discord.users.bob });
    expect((await click.ack()).type).toBe(9);
    const submit = await discord.modalSubmit({ trigger: click, user: discord.users.bob, fields: { caption: 'a small brown square, sketchy lines' } });
    expect((await submit.waitForOriginal()).content).toMatch(/Saved the caption of \*\*tiny\*\*/);
    const tiny = (await loadDataset(bot.app.context.store, guildId())).images.find((i) => i.name === 'tiny')!;
    expect(tiny).toMatchObject({ caption: 'KMPLZ, a drawing of a small brown square, sketchy lines', captionSource: 'edited' });
  });

  it('opens the caption editor on a caption longer than it takes, cut to fit (Discord refuses an over-long pre-filled value)', async () => {
    const long = `KMPLZ, a drawing of ${'a girl with a very long scarf and '.repeat(9)}boots`;
    expect(long.length).toBeGreaterThan(CAPTION_INPUT_MAX);
    await setCaption(bot.app.context, guildId(), 'tiny', long, 'edited');
    const review = await (await discord.slash({ name: 'caption', user: discord.users.bob })).waitForOriginal((m) => m.embeds[0]?.title?.startsWith('Captions') ?? false, 20_000);
    const click = await discord.button({ customId: 'caption:edit:tiny', message: review, user: discord.users.bob });
    const modal = await click.modal();
    const input = JSON.parse(JSON.stringify(modal.components[0])).components[0] as { value: string; max_length: number };
    expect(input.max_length).toBe(CAPTION_INPUT_MAX);
    expect(input.value.length).toBeLessThanOrEqual(CAPTION_INPUT_MAX);
    expect(input.value.length).toBeGreaterThan(CAPTION_INPUT_MAX * 0.8);
    expect(long.startsWith(input.value)).toBe(true);
    // Cut at a space, not mid-word.
    expect(long[input.value.length]).toBe(' ');
  });

  it('exports the training zip: the processed squares plus caption.csv with the trigger word in every caption', async () => {
    const zip = await trainingZip(bot.app.context.config, await trainingItems(bot.app.context.store, bot.app.context.config, guildId()));
    const entries = await unzip(zip);
    const csv = entries.get('caption.csv')!.toString('utf8').trim().split(/\r?\n/);
    expect(csv[0]).toBe('caption,image_file');
    expect(csv).toHaveLength(5);
    for (const row of csv.slice(1)) expect(row).toMatch(/KMPLZ/);
    const imageNames = [...entries.keys()].filter((n) => n !== 'caption.csv');
    expect(imageNames).toHaveLength(4);
    for (const name of imageNames) expect(await sharp(entries.get(name)!).metadata()).toMatchObject({ width: 1024, height: 1024 });
    expect(csv.slice(1).map((row) => row.split(',').at(-1)).sort()).toEqual(imageNames.sort());
  });

  it('removes one drawing, and clears the rest only after confirmation', async () => {
    const removed = await (await discord.slash({ name: 'dataset', subcommand: 'remove', user: discord.users.bob, options: { name: 'tiny-again' } })).waitForOriginal();
    expect(removed.content).toMatch(/Removed \*\*tiny-again\*\*/);
    const ask = await (await discord.slash({ name: 'dataset', subcommand: 'clear', user: discord.users.bob })).waitForOriginal();
    expect(ask.content).toMatch(/Remove all 3 drawings/);
    const buttons = (message: StoredMessage) => (message.components.flatMap((row) => ('components' in row ? (row.components as unknown[]) : [])) as { custom_id: string }[]).map((b) => b.custom_id);
    const [answeredYesId, keepId] = buttons(ask);
    const keep = await discord.button({ customId: keepId!, message: ask, user: discord.users.bob });
    await keep.ack();
    await discord.waitFor(() => (discord.message(ask.id)?.content === 'Nothing was removed.' ? true : undefined), 5000, 'the answer to "keep them"');
    expect((await loadDataset(bot.app.context.store, guildId())).images).toHaveLength(3);
    const ask2 = await (await discord.slash({ name: 'dataset', subcommand: 'clear', user: discord.users.bob })).waitForOriginal();
    const [yesId] = buttons(ask2);
    // A forged "yes" without this question's token, or a replay of the answered one, clears nothing.
    const forged = await discord.button({ customId: 'dataset:clear:yes:0123456789abcdef', message: ask2, user: discord.users.bob, forged: true });
    expect((await forged.waitForFollowUp()).content).toMatch(/not yours or has expired/);
    const replay = await discord.button({ customId: answeredYesId!, message: ask, user: discord.users.bob, forged: true });
    expect((await replay.waitForFollowUp()).content).toMatch(/not yours or has expired/);
    expect((await loadDataset(bot.app.context.store, guildId())).images).toHaveLength(3);
    const yes = await discord.button({ customId: yesId!, message: ask2, user: discord.users.bob });
    await yes.ack();
    await discord.waitFor(() => (/dataset is empty/.test(discord.message(ask2.id)?.content ?? '') ? true : undefined), 5000, 'the clear to finish');
    expect((await loadDataset(bot.app.context.store, guildId())).images).toHaveLength(0);
  });
});
