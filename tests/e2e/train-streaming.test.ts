import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ActiveCheckpoint, type TrainingRecord } from '../../src/training/records.js';
import { startDiscordEmulator, type DiscordEmulator } from '../emulators/discord/index.js';
import { startReplicateEmulator, type JobRecord, type ReplicateEmulator } from '../emulators/replicate/index.js';
import { slowedFromStep } from '../emulators/replicate/jobs.js';
import { DEFAULT_TIMING } from '../emulators/replicate/models.js';
import { streamingTrainer } from '../emulators/replicate/trainers.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { CLASS_DRAWINGS, seedDataset } from '../support/fixtures.js';
import { TEST_DESTINATION } from '../support/replicate-training.js';
import { buttonOf, isFinal, previewsIn, startTraining } from '../training/e2e-helpers.js';
import { keys } from '../../src/store/keys.js';

let discord: DiscordEmulator;
let replicate: ReplicateEmulator;
let bot: TestBot;
/** From this step on, the streaming run trains 100× slower: long enough to be stopped. */
let slowFrom = Infinity;

const guildId = () => discord.guild().id;
/** The streaming trainer's runs: predictions of its version (it is no trainer in Replicate's sense). */
const streamingRuns = () => [...replicate.predictions.values()].filter((p) => p.version === replicate.refs.streamingTrainer.split(':')[1]);
const ctx = () => bot.app.context;

beforeAll(async () => {
  discord = await startDiscordEmulator();
  replicate = await startReplicateEmulator({ destinations: [TEST_DESTINATION] });
  const streaming = streamingTrainer(DEFAULT_TIMING);
  replicate.onPrediction(replicate.refs.streamingTrainer, (input, ctl) => streaming(input, slowedFromStep(ctl, () => slowFrom, 100)));
  bot = await startTestBot(
    { discord, replicate },
    {
      env: {
        REPLICATE_TRAINER: replicate.refs.streamingTrainer,
        REPLICATE_TRAINER_MODE: 'streaming',
        TRAINER_ROLE_ID: discord.guild().roles.find((r) => r.name === 'Trainer')!.id,
      },
      deps: { training: { poll: { baseMs: 20, maxMs: 100 }, statusEditIntervalMs: 20 } },
    },
  );
  await seedDataset(ctx(), guildId(), CLASS_DRAWINGS);
});
afterAll(async () => {
  await bot?.stop();
  await replicate?.close();
  await discord?.close();
});
afterEach(() => {
  slowFrom = Infinity;
  discord.assertNoSpecErrors();
  expect(replicate.specErrors).toEqual([]);
});

describe('/train with a streaming trainer', () => {
  it('says so before the start: one run, GPU time of one training', async () => {
    const slash = await discord.slash({ name: 'train', user: discord.users.bob });
    const reply = await slash.waitForOriginal((m) => !m.loading, 10_000);
    const strategy = reply.embeds[0]?.fields?.find((f) => f.name === 'strategy')?.value;
    expect(strategy).toMatch(/^streaming: one run/);
  });

  it('runs once with a checkpoint every 250 steps and posts four previews, each once, with its vote button', async () => {
    const before = streamingRuns().length;
    const trainingsBefore = replicate.trainings.size;
    const { trainingId, threadId } = await startTraining(discord);
    const final = await discord.waitForMessage(threadId, isFinal, 20_000);

    const runs: JobRecord[] = streamingRuns().slice(before);
    expect(runs).toHaveLength(1);
    expect(replicate.trainings.size).toBe(trainingsBefore);
    // Its learning rate is constant by design: it has no lr_scheduler input to send.
    expect(runs[0]!.input).toMatchObject({ max_train_steps: 1000, checkpointing_steps: 250, token_string: 'KMPLZ', resolution: 1024, seed: expect.any(Number) });
    expect(runs[0]!.dataset).toMatchObject({ captionCsv: 'caption.csv', images: ['cat.jpg', 'hoodie-girl.jpg'] });

    const previews = previewsIn(discord, threadId);
    expect(previews.map((p) => p.step)).toEqual([250, 500, 750, 1000]);
    for (const { step, message } of previews) {
      expect(message.attachments).toHaveLength(1);
      expect((await sharp(message.attachments[0]!.data).metadata()).width).toBeGreaterThan(256);
      expect(buttonOf(message, 'train:vote:')).toBe(`train:vote:${trainingId}:${step}`);
    }
    // Each checkpoint is the i-th weights URL of the run's output, and its preview was drawn with it.
    const training = (await ctx().store.get<TrainingRecord>(keys.training(guildId(), trainingId)))!;
    expect(training.checkpoints.map((c) => c.weightsUrl)).toEqual(runs[0]!.output);
    const weightsDrawn = new Set([...replicate.predictions.values()].map((p) => p.input.replicate_weights));
    for (const url of runs[0]!.output as string[]) expect(weightsDrawn.has(url)).toBe(true);
    expect(final.content).toMatch(/now draws with \*\*step 1000\*\*/);
    expect(await ctx().store.get<ActiveCheckpoint>(keys.activeCheckpoint(guildId()))).toEqual({ trainingId, step: 1000, chosenBy: 'last' });
  });

  it('stops after step 500 by canceling the one run, keeping what it made', async () => {
    slowFrom = 501;
    const before = streamingRuns().length;
    const { trainingId, threadId } = await startTraining(discord);
    const preview500 = (await discord.waitFor(() => previewsIn(discord, threadId).find((p) => p.step === 500), 15_000)).message;
    const vote = await discord.button({ customId: buttonOf(preview500, 'train:vote:'), message: preview500, user: discord.users.dave });
    await vote.waitForOriginal();
    const stop = await discord.button({ customId: buttonOf(preview500, 'train:stop:'), message: preview500, user: discord.users.bob });
    expect((await stop.waitForOriginal((m) => !m.loading, 10_000)).content).toMatch(/after step 500: canceled the 1000-step run, which saves about/);

    const final = await discord.waitForMessage(threadId, isFinal, 15_000);
    const run = streamingRuns().slice(before)[0]!;
    expect(run.status).toBe('canceled');
    expect(previewsIn(discord, threadId).map((p) => p.step)).toEqual([250, 500]);
    expect(final.content).toMatch(/now draws with \*\*step 500\*\*: step 500 wins with 1 vote/);
    expect(await ctx().store.get<ActiveCheckpoint>(keys.activeCheckpoint(guildId()))).toEqual({ trainingId, step: 500, chosenBy: 'vote' });
  });
});
