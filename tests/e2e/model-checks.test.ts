import { Locale } from 'discord.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordEmulator, type DiscordEmulator } from '../emulators/discord/index.js';
import { COG_SDXL_SCHEMA, startReplicateEmulator, withoutInputs, type ReplicateEmulator } from '../emulators/replicate/index.js';
import { sdxlGenerator, DEFAULT_TIMING } from '../emulators/replicate/models.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { drawing, seedDataset, seedTraining } from '../support/fixtures.js';
import { TEST_DESTINATION, trainCheckpoint } from '../support/replicate-training.js';

/**
 * A configured model whose own schema does not fit what kmplz sends or reads turns off the
 * features that need it, with one message naming the key, the model and the input — at start in
 * the log, and to whoever tries the feature, in their language — and the rest of the bot works.
 */
let discord: DiscordEmulator;
let replicate: ReplicateEmulator;
let weights: { weightsUrl: string; version: string };
const bots: TestBot[] = [];

beforeAll(async () => {
  discord = await startDiscordEmulator();
  replicate = await startReplicateEmulator({ destinations: [TEST_DESTINATION] });
  weights = await trainCheckpoint(replicate);
});
afterAll(async () => {
  for (const bot of bots) await bot.stop();
  await replicate?.close();
  await discord?.close();
});
afterEach(() => {
  discord.assertNoSpecErrors();
  expect(replicate.specErrors).toEqual([]);
});

async function startBot(env: Record<string, string>): Promise<TestBot> {
  const bot = await startTestBot({ discord, replicate }, { env: { TRAINER_ROLE_ID: discord.guild().roles.find((r) => r.name === 'Trainer')!.id, ...env } });
  bots.push(bot);
  const ctx = bot.app.context;
  await seedDataset(ctx, discord.guild().id, [{ name: 'cat', colour: '#e0a030', caption: 'KMPLZ, a drawing of a cat on a chair' }]);
  await seedTraining(ctx, discord.guild().id, discord.textChannels()[0]!.id, [{ step: 250, ...weights }]);
  return bot;
}

/** What the bot said at start about the model `key` names: the problem and the features it turned off. */
async function reportedProblem(bot: TestBot, key: string): Promise<string> {
  const refused = await discord.waitFor(() => bot.eventsOf('model-check.refused').find((e) => e.key === key), 10_000);
  return `${refused.problem} — turned off: ${refused.features.join(', ')}`;
}

async function refusal(command: Parameters<DiscordEmulator['slash']>[0]): Promise<{ content: string; ephemeral: boolean }> {
  const slash = await discord.slash(command);
  return discord.waitFor(() => {
    const original = slash.original();
    if (original && !original.loading && original.content) return { content: original.content, ephemeral: Boolean(original.ephemeral) };
    const followUp = slash.followUps()[0];
    return followUp ? { content: followUp.content, ephemeral: Boolean(followUp.ephemeral) } : undefined;
  }, 10_000);
}

describe('REPLICATE_GENERATOR whose model has no replicate_weights', () => {
  let bot: TestBot;
  let ref: string;

  beforeAll(async () => {
    ref = replicate.addModel('tests/sdxl-without-lora', { schema: withoutInputs(COG_SDXL_SCHEMA, 'Input', ['replicate_weights']) });
    replicate.onPrediction(ref, sdxlGenerator(DEFAULT_TIMING, 'nsfw'));
    bot = await startBot({ REPLICATE_GENERATOR: ref });
  });
  afterAll(() => bot.stop());

  it('is named at start, in the log, with the key, the model and the input', async () => {
    expect(await reportedProblem(bot, 'REPLICATE_GENERATOR')).toBe(
      `REPLICATE_GENERATOR’s model (${ref}) has no input replicate_weights. — turned off: generation, training`,
    );
  });

  it('refuses /kmplz (and /train, whose previews it draws) with that message, in the person’s language, paying for nothing', async () => {
    const before = replicate.predictions.size;
    const kmplz = await refusal({ name: 'kmplz', user: discord.users.carol, options: { prompt: 'a cat' } });
    expect(kmplz.ephemeral).toBe(true);
    expect(kmplz.content).toBe(`Drawing is turned off on this bot: REPLICATE_GENERATOR’s model (${ref}) has no input replicate_weights. Ask the bot’s admin.`);
    const russian = await refusal({ name: 'kmplz', user: discord.users.carol, locale: Locale.Russian, options: { prompt: 'кот' } });
    expect(russian.content).toBe(`Рисование на этом боте отключено: У модели из REPLICATE_GENERATOR (${ref}) нет входа replicate_weights. Обратитесь к администратору бота.`);
    const train = await refusal({ name: 'train', user: discord.users.bob });
    expect(train.content).toMatch(/^Training is turned off on this bot: REPLICATE_GENERATOR’s model .* has no input replicate_weights/);
    expect(replicate.predictions.size).toBe(before);
  });

  it('leaves the rest working: /caption still captions', async () => {
    const one = await discord.slash({ name: 'caption', options: { image: { filename: 'red.png', data: await drawing(400, 400, '#dd2222') } } });
    expect((await one.waitForOriginal((m) => !m.loading, 10_000)).embeds[0]?.description).toMatch(/KMPLZ, a drawing of a red/);
  });
});

describe('REPLICATE_TRAINER_MODE=streaming with the official cog-sdxl trainer', () => {
  let bot: TestBot;

  beforeAll(async () => {
    bot = await startBot({ REPLICATE_TRAINER: replicate.refs.sdxl, REPLICATE_TRAINER_MODE: 'streaming' });
  });
  afterAll(() => bot.stop());

  it('refuses /train with the reason, logged at start, and starts nothing', async () => {
    const message = `REPLICATE_TRAINER’s model (${replicate.refs.sdxl}) does not yield a growing list of weights, which REPLICATE_TRAINER_MODE=streaming needs (the official trainer returns one result at the end: use ladder).`;
    expect(await reportedProblem(bot, 'REPLICATE_TRAINER')).toBe(`${message} — turned off: training`);
    const before = { trainings: replicate.trainings.size, predictions: replicate.predictions.size };
    const train = await refusal({ name: 'train', user: discord.users.bob });
    expect(train.ephemeral).toBe(true);
    expect(train.content).toBe(`Training is turned off on this bot: ${message} Ask the bot’s admin.`);
    expect({ trainings: replicate.trainings.size, predictions: replicate.predictions.size }).toEqual(before);
  });

  it('leaves /kmplz working', async () => {
    const slash = await discord.slash({ name: 'kmplz', user: discord.users.carol, options: { prompt: 'a cat', seed: 3, steps: 4 } });
    const reply = await slash.waitForOriginal((m) => m.attachments.length > 0, 15_000);
    expect(reply.attachments).toHaveLength(2);
  });
});

describe('models named without a version', () => {
  let bot: TestBot;

  beforeAll(async () => {
    bot = await startBot({ REPLICATE_GENERATOR: 'stability-ai/sdxl', REPLICATE_CAPTIONER: 'salesforce/blip', REPLICATE_TRAINER: 'stability-ai/sdxl' });
  });
  afterAll(() => bot.stop());

  it('run at their latest versions, created through POST /predictions', async () => {
    const slash = await discord.slash({ name: 'kmplz', user: discord.users.carol, options: { prompt: 'a cat', seed: 5, steps: 4 } });
    expect((await slash.waitForOriginal((m) => m.attachments.length > 0, 15_000)).attachments).toHaveLength(2);
    expect([...replicate.predictions.values()].at(-1)!.version).toBe(replicate.refs.sdxl.split(':')[1]);
    const one = await discord.slash({ name: 'caption', options: { image: { filename: 'red.png', data: await drawing(400, 400, '#dd2222') } } });
    expect((await one.waitForOriginal((m) => !m.loading, 10_000)).embeds[0]?.description).toMatch(/KMPLZ, a drawing of a red/);
    expect([...replicate.predictions.values()].at(-1)!.version).toBe(replicate.refs.blip.split(':')[1]);
    expect(replicate.requests.filter((r) => r.operationId === 'models.predictions.create')).toEqual([]);
    expect(bot.logs().filter((l) => l.level === 50)).toEqual([]);
  });
});

