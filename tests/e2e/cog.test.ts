import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TrainingRecord } from '../../src/training/records.js';
import { CogEmulator } from '../emulators/cog/index.js';
import { startDiscordEmulator, type DiscordEmulator } from '../emulators/discord/index.js';
import { slowedFromStep } from '../emulators/replicate/jobs.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { CLASS_DRAWINGS, drawing, seedDataset } from '../support/fixtures.js';
import { buttonOf, freePort, isFinal, previewsIn, startTraining, TRAINER_ROLE } from '../training/e2e-helpers.js';
import { keys } from '../../src/store/keys.js';

/**
 * The whole bot on the class's own GPU: GPU_BACKEND=cog, no Replicate key, against three emulated
 * Cog servers (tests/emulators/cog, written from coglet's source). The trainer uploads its
 * checkpoints to kmplz (`--upload-url`), the generator reads them from kmplz.
 */

let discord: DiscordEmulator;
let generator: CogEmulator;
let captioner: CogEmulator;
let trainer: CogEmulator;
let bot: TestBot;
let port: number;
let dataDir: string | undefined;
/** From this step on the trainer runs 200× slower: time to stop it, or to restart things. */
let slowFrom = Infinity;
const TOKEN = 'cog-test-token-0123456789';

const guildId = () => discord.guild().id;

function env(): Record<string, string> {
  return {
    GPU_BACKEND: 'cog',
    COG_GENERATOR_URL: generator.url,
    COG_CAPTIONER_URL: captioner.url,
    COG_TRAINER_URL: trainer.url,
    COG_WEBHOOK_TOKEN: TOKEN,
    HTTP_PORT: String(port),
    TRAINER_ROLE_ID: TRAINER_ROLE,
  };
}

async function startBot(): Promise<TestBot> {
  return startTestBot({ discord }, { env: env(), dataDir, deps: { training: { poll: { baseMs: 20, maxMs: 100 }, statusEditIntervalMs: 20 }, cogWatchEveryMs: 200 } });
}

beforeAll(async () => {
  discord = await startDiscordEmulator({ guilds: [{ roles: [{ id: TRAINER_ROLE, name: 'Trainer' }] }] });
  port = await freePort();
  generator = await CogEmulator.start({ model: 'sdxl', setupSeconds: 300, webhookAuthToken: TOKEN });
  captioner = await CogEmulator.start({ model: 'blip', webhookAuthToken: TOKEN });
  trainer = await CogEmulator.start({
    model: 'trainer',
    webhookAuthToken: TOKEN,
    uploadUrl: `http://127.0.0.1:${port}/cog/uploads/${TOKEN}/`,
    wrap: (handler) => (input, ctl) => handler(input, slowedFromStep(ctl, () => slowFrom, 200)),
  });
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  dataDir = await mkdtemp(path.join(tmpdir(), 'kmplz-cog-'));
  bot = await startBot();
  await seedDataset(bot.app.context, guildId(), CLASS_DRAWINGS);
});
afterAll(async () => {
  await bot?.stop();
  for (const server of [generator, captioner, trainer]) await server?.close();
  await discord?.close();
});
afterEach((test) => {
  // COG_E2E_LOGS=1: a failing test prints the bot's warnings and settled trainings.
  if (process.env.COG_E2E_LOGS && test.task.result?.state === 'fail') console.log(bot.logLines.filter((l) => /settled|training|interactionId|"level":[45]0/.test(l)).slice(-25).join('\n'));
  slowFrom = Infinity;
  discord.assertNoSpecErrors();
  // kmplz never sent a second job to a busy server.
  for (const server of [generator, captioner, trainer]) expect(server.conflicts).toBe(0);
});

describe('GPU_BACKEND=cog with no Replicate key', { timeout: 120_000 }, () => {
  it('/caption captions through the BLIP Cog server', async () => {
    const one = await discord.slash({ name: 'caption', options: { image: { filename: 'red.png', data: await drawing(400, 400, '#dd2222') } } });
    const shown = await one.waitForOriginal(undefined, 10_000);
    expect(shown.embeds[0]?.description).toMatch(/KMPLZ, a drawing of a red/);
    expect(captioner.history.at(-1)!.input).toMatchObject({ task: 'image_captioning', image: expect.stringMatching(/^data:image\//) });
  });

  it('/train streams checkpoints uploaded to kmplz, and each preview is drawn with its checkpoint', async () => {
    const { threadId } = await startTraining(discord);
    const final = await discord.waitForMessage(threadId, isFinal, 90_000);
    expect(previewsIn(discord, threadId).map((p) => p.step)).toEqual([250, 500, 750, 1000]);
    const run = trainer.history.at(-1)!;
    expect(run).toMatchObject({ status: 'succeeded', input: { max_train_steps: 1000, checkpointing_steps: 250, token_string: 'KMPLZ' } });
    expect(String(run.input.input_images)).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/cog/files/`));
    const trainingId = /train:vote:([^:]+)/.exec(buttonOf(previewsIn(discord, threadId)[0]!.message, 'train:vote:'))![1]!;
    const record = (await bot.app.context.store.get<TrainingRecord>(keys.training(guildId(), trainingId)))!;
    const urls = record.checkpoints.map((c) => c.weightsUrl!);
    expect(urls).toHaveLength(4);
    for (const url of urls) expect(url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/cog/files/[0-9a-f]{32}-checkpoint-\\d+\\.tar$`));
    const drawn = new Set(generator.history.map((h) => h.input.replicate_weights));
    for (const url of urls) expect(drawn.has(url)).toBe(true);
    expect(final.content).toMatch(/now draws with \*\*step 1000\*\*/);
  });

  it('/kmplz draws on the generator server, one picture at a time (the queue holds the rest)', async () => {
    const before = generator.history.length;
    const slashes = await Promise.all([1, 2, 3].map((seed) => discord.slash({ name: 'kmplz', options: { prompt: 'a cat', steps: 20, seed } })));
    for (const slash of slashes) {
      const reply = await slash.waitForOriginal((m) => m.attachments.length > 0 || /could not|busy|Canceled/.test(m.content), 60_000);
      expect(reply.attachments.length).toBeGreaterThan(0);
      expect(reply.content).not.toMatch(/could not|busy/);
    }
    expect(generator.history.slice(before).map((h) => h.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    // One generator server: the later pictures waited in the queue, which said why.
    const said = (await Promise.all(slashes.map((slash) => slash.waitForOriginal()))).flatMap((m) => [...m.revisions.map((r) => String(r.content ?? '')), m.content]);
    expect(said.some((text) => /draws one picture at a time on each of its 1 generator server/.test(text))).toBe(true);
  });

  it('stops a training after step 500: the run is canceled on the Cog server, its checkpoints kept', async () => {
    slowFrom = 501;
    const { threadId } = await startTraining(discord);
    const preview500 = (await discord.waitFor(() => previewsIn(discord, threadId).find((p) => p.step === 500), 60_000)).message;
    const stop = await discord.button({ customId: buttonOf(preview500, 'train:stop:'), message: preview500, user: discord.users.bob });
    await stop.waitForOriginal((m) => !m.loading, 10_000);
    await discord.waitForMessage(threadId, isFinal, 60_000);
    expect(trainer.history.at(-1)!.status).toBe('canceled');
    expect(trainer.busy).toBe(false);
    expect(previewsIn(discord, threadId).map((p) => p.step)).toEqual([250, 500]);
  });

  it('a kmplz restart mid-training finds the run again on the Cog server and loses no checkpoint', async () => {
    slowFrom = 501;
    const { threadId } = await startTraining(discord);
    await discord.waitFor(() => previewsIn(discord, threadId).find((p) => p.step === 500), 60_000);
    await bot.stop();
    // While kmplz is down the run goes on (slowly: it must not upload a checkpoint to a kmplz that is
    // down, which fails the whole run in cog 0.23.1); its webhooks meet nobody.
    await new Promise((resolve) => setTimeout(resolve, 300));
    bot = await startBot();
    slowFrom = Infinity;
    const final = await discord.waitForMessage(threadId, isFinal, 90_000);
    expect(previewsIn(discord, threadId).map((p) => p.step)).toEqual([250, 500, 750, 1000]);
    expect(trainer.history.filter((h) => h.input.input_images === trainer.history.at(-1)!.input.input_images)).toHaveLength(1);
    expect(final.content).toMatch(/step 1000/);
  });

  it('a Cog server restart fails the running training with a clear message, and the next one runs', async () => {
    slowFrom = 251;
    const { threadId } = await startTraining(discord);
    await discord.waitFor(() => previewsIn(discord, threadId).find((p) => p.step === 250), 60_000);
    trainer.restart();
    const final = await discord.waitForMessage(threadId, isFinal, 90_000);
    expect(final.content).toMatch(/restarted during the training/);
    slowFrom = Infinity;
    const next = await startTraining(discord);
    await discord.waitForMessage(next.threadId, isFinal, 90_000);
    expect(previewsIn(discord, next.threadId).map((p) => p.step)).toEqual([250, 500, 750, 1000]);
  });
});
