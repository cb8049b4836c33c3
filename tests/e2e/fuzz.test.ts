import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadDataset } from '../../src/dataset/dataset.js';
import type { DiscordEmulator, InteractionHandle, OptionValue } from '../emulators/discord/index.js';
import type { TestBot } from '../support/bot.js';
import { drawing } from '../support/fixtures.js';
import { zipBuffer } from '../support/replicate-training.js';
import { startWorld, type World } from '../support/world.js';
import { TRAINER_ROLE } from '../training/e2e-helpers.js';

/** A small seeded generator, so a failing run can be replayed with the same inputs. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.FUZZ_SEED ?? 20261124);
/** The run is bounded both ways: at most this many interactions, and no longer than FUZZ_MS. */
const MAX_ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 120);
const FUZZ_MS = Number(process.env.FUZZ_MS ?? 30_000);

/**
 * Files that get past the first checks: real pictures and zips, some whole, most damaged
 * (truncated, bytes flipped), so the decoders and the zip reader see near-valid input, not
 * only junk that the magic-byte check refuses at once.
 */
async function nearValidFiles(random: () => number): Promise<{ filename: string; data: Buffer }[]> {
  const png = await drawing(600, 600, '#3366aa');
  const jpeg = await sharp(png).jpeg().toBuffer();
  const zip = await zipBuffer({ 'a.png': png, 'b.jpg': jpeg, 'notes.txt': 'hello' });
  const flip = (data: Buffer, count: number) => {
    const copy = Buffer.from(data);
    // Past the first 64 bytes: keep the signature, damage the headers and the body.
    for (let i = 0; i < count; i++) copy[64 + Math.floor(random() * (copy.length - 64))] = Math.floor(random() * 256);
    return copy;
  };
  const files: { filename: string; data: Buffer }[] = [];
  for (const [name, data] of [['drawing.png', png], ['drawing.jpg', jpeg], ['drawings.zip', zip]] as const) {
    files.push({ filename: name, data }, { filename: name, data: data.subarray(0, Math.floor(data.length / 2)) });
    for (const count of [1, 8, 64]) files.push({ filename: name, data: flip(data, count) });
  }
  return files;
}

let discord: DiscordEmulator;
let bot: TestBot;
let world: World;

beforeAll(async () => {
  world = await startWorld({
    // bob is a trainer, so the files he sends reach the intake.
    discord: { guilds: [{ roles: [{ id: TRAINER_ROLE, name: 'Trainer' }] }] },
    env: { TRAINER_ROLE_ID: TRAINER_ROLE },
    checkpointSteps: [250],
    dataset: [{ name: 'ref', colour: '#606060', caption: 'KMPLZ, a drawing of a house' }],
  });
  ({ discord, bot } = world);
});
afterAll(() => world?.stop());

describe('fuzzing the bot with malformed interactions', () => {
  it(`answers every interaction it acknowledged, stays up and keeps its store whole (seed ${SEED})`, async () => {
    const random = mulberry32(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const weirdStrings = ['', ' ', '@everyone', '<@&123456789012345678>', 'a'.repeat(5000), '../../etc/passwd', 'step 250', '250', '-1', '1e309', 'NaN', '🎨'.repeat(200), '\u0000\u202e', ':::', 'kmplz:again:'];
    const files = await nearValidFiles(random);
    const value = (): OptionValue =>
      pick<() => OptionValue>([
        () => pick(weirdStrings),
        () => Math.floor(random() * 2 ** 40) * (random() < 0.3 ? -1 : 1),
        () => random() * 1000,
        () => random() < 0.5,
        () => ({ filename: pick(['x.png', 'x.zip', '../x.png', 'x']), data: Buffer.from(pick(weirdStrings)) }),
        () => pick(files),
      ])();
    const optionNames = ['prompt', 'steps', 'guidance', 'seed', 'width', 'height', 'negative', 'checkpoint', 'archive', 'image', 'name', 'use', 'axis', 'values', 'link'];
    const commands: (() => { name: string; subcommand?: string })[] = [
      () => ({ name: 'kmplz' }),
      () => ({ name: 'compare' }),
      () => ({ name: 'caption' }),
      () => ({ name: 'checkpoints' }),
      () => ({ name: 'vote' }),
      () => ({ name: 'showcase' }),
      () => ({ name: 'dataset', subcommand: pick(['add', 'add', 'list', 'remove', 'clear']) }),
      () => ({ name: 'train' }),
      () => ({ name: 'no-such-command' }),
    ];
    const anchor = await (await discord.slash({ name: 'checkpoints' })).waitForOriginal();
    const users = [discord.users.alice, discord.users.bob, discord.users.carol, discord.users.dave];
    const handles: { handle: InteractionHandle; what: string }[] = [];

    const deadline = Date.now() + FUZZ_MS;
    for (let round = 0; round < MAX_ROUNDS && Date.now() < deadline; round++) {
      // Ten at a time: this is about malformed input, not load (bench/ measures bursts), and the
      // in-process emulator's first validation of each route can stall the shared event loop.
      if (round % 10 === 0) await Promise.allSettled(handles.slice(-10).map(({ handle }) => handle.ack(3000)));
      const user = pick(users);
      const kind = random();
      if (kind < 0.15) {
        // Near-valid files where files belong: the intake, the zip reader and the decoders at work.
        const command = pick([{ name: 'dataset', subcommand: 'add', option: pick(['image', 'archive']) }, { name: 'caption', option: 'image' }]);
        const file = pick(files);
        // Mostly from bob, who may change the dataset: a refusal for want of the role tests nothing here.
        const uploader = random() < 0.8 ? discord.users.bob : user;
        const handle = await discord.slash({ name: command.name, subcommand: command.subcommand, user: uploader, options: { [command.option]: file } });
        handles.push({ handle, what: `/${command.name} ${command.option}:${file.filename} (${file.data.length} bytes)` });
      } else if (kind < 0.6) {
        const command = pick(commands)();
        const options: Record<string, OptionValue> = {};
        for (let n = Math.floor(random() * 4); n > 0; n--) options[pick(optionNames)] = value();
        // Forged: options no client of Discord's would send for the registered commands.
        const handle = await discord.slash({ ...command, user, options, attachmentSizeLimit: pick([undefined, 30_000, 10_000_000]), forged: true });
        handles.push({ handle, what: `/${[command.name, command.subcommand].filter(Boolean).join(' ')} ${JSON.stringify(options).slice(0, 200)}` });
      } else if (kind < 0.85) {
        const customId = pick([
          `kmplz:${pick(['again', 'params', 'delete', 'cancel', 'showcase', 'nope'])}:${pick(weirdStrings).slice(0, 30)}`,
          `train:vote:${pick(weirdStrings).slice(0, 20)}:${pick(weirdStrings).slice(0, 10)}`,
          `dataset:clear:${pick(['yes', 'no', ''])}`,
          `caption:edit:${pick(weirdStrings).slice(0, 40)}`,
          `caption:page:${pick(weirdStrings).slice(0, 10)}`,
          pick(weirdStrings).slice(0, 100) || 'x',
        ]);
        handles.push({ handle: await discord.button({ customId, message: anchor, user, forged: true }), what: `button ${customId}` });
      } else {
        const customId = `caption:save:${pick(weirdStrings).slice(0, 40)}`;
        handles.push({ handle: await discord.modalSubmit({ customId, fields: { caption: pick(weirdStrings).slice(0, 300) }, user }), what: `modal ${customId}` });
      }
    }

    // Every interaction was acknowledged in time (no "This interaction failed")…
    const acks = await Promise.allSettled(handles.map(({ handle }) => handle.ack(3000)));
    const unanswered = handles.filter((_, i) => acks[i]!.status === 'rejected').map(({ what }) => what);
    expect(unanswered).toEqual([]);
    // …and the ones deferred got their answer (an edit or a follow-up), not an eternal "thinking…".
    await discord.waitFor(
      () => (handles.every(({ handle }) => handle.response?.type !== 5 || (handle.original()?.loading === false) || handle.followUps().length > 0) ? true : undefined),
      30_000,
      'every deferred interaction to be answered',
    );
    // The bot is up and whole: it still answers, its data still reads, nothing escaped the error handler.
    expect((await (await discord.slash({ name: 'checkpoints' })).waitForOriginal()).embeds[0]?.title).toBe('Checkpoints of the last training');
    const { store, config } = bot.app.context;
    const dataset = await loadDataset(store, discord.guild().id);
    expect(dataset.images.map((i) => i.name)).toContain('ref');
    // Every drawing the store lists has both its files, and they decode: no half-added entry.
    expect(new Set(dataset.images.map((i) => i.name)).size).toBe(dataset.images.length);
    for (const image of dataset.images) {
      for (const file of [image.processedFile, image.originalFile]) {
        const decoded = await sharp(await readFile(path.join(config.DATA_DIR, file))).metadata();
        expect(decoded.width, file).toBeGreaterThan(0);
      }
    }
    expect(bot.eventsOf('interaction.crashed')).toEqual([]);
    // A picture still comes out end to end.
    const picture = await (await discord.slash({ name: 'kmplz', options: { prompt: 'a house', steps: 2 } })).waitForOriginal((m) => m.attachments.length > 0, 20_000);
    expect(picture.attachments).toHaveLength(2);
    // Nothing left behind in the queue or among the jobs to take up after a restart.
    await vi.waitFor(async () => expect(await bot.app.context.generation.queue.stats()).toMatchObject({ waiting: 0, running: 0 }), { timeout: 10_000, interval: 100 });
    expect(await bot.app.context.generation.jobs.unfinished()).toEqual([]);
  }, 150_000);
});
