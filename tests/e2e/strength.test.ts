import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DiscordEmulator, StoredMessage } from '../emulators/discord/index.js';
import type { ReplicateEmulator } from '../emulators/replicate/index.js';
import type { GenerationParameters } from '../../src/generation/jobs.js';
import { startWorld, type World } from '../support/world.js';

/**
 * `strength` is cog-sdxl's `lora_scale`: sent with every picture (left out, the model applies its
 * own 0.6), chosen with `/kmplz strength:` and varied by `/compare axis:strength`, and kept by
 * every way a picture is made again (🎲, 📋, an identical seeded request).
 */

let discord: DiscordEmulator;
let replicate: ReplicateEmulator;
let world: World;

beforeAll(async () => {
  world = await startWorld({ checkpointSteps: [250], dataset: [{ name: 'cat', colour: '#e0a030', caption: 'KMPLZ, a drawing of a cat on a chair' }] });
  ({ discord, replicate } = world);
});
afterAll(() => world?.stop());
afterEach(() => world.expectCleanRequests());

const finished = (m: StoredMessage) => m.attachments.length > 0 || /could not|no checkpoint|trouble/i.test(m.content);
const lastInput = () => [...replicate.predictions.values()].at(-1)!.input;
const buttonOf = (message: StoredMessage, action: string) =>
  (message.components.flatMap((row) => ('components' in row ? (row.components as unknown[]) : [])) as { custom_id?: string }[]).find((b) => b.custom_id?.startsWith(`kmplz:${action}:`))!.custom_id!;
const fields = (message: StoredMessage) => Object.fromEntries((message.embeds[0]?.fields ?? []).map((f) => [f.name, f.value]));

describe('/kmplz strength', () => {
  it('sends the default strength 1 as lora_scale when none is given, and says so in the reply', async () => {
    const reply = await (await discord.slash({ name: 'kmplz', options: { prompt: 'a cat', steps: 2 } })).waitForOriginal(finished, 15_000);
    expect(lastInput().lora_scale).toBe(1);
    expect(fields(reply).strength).toBe('1');
  });

  it('sends strength:0.3 as lora_scale 0.3; 📋 and 🎲 carry it', async () => {
    const reply = await (await discord.slash({ name: 'kmplz', options: { prompt: 'a dog', steps: 2, strength: 0.3, seed: 11 } })).waitForOriginal(finished, 15_000);
    expect(lastInput()).toMatchObject({ lora_scale: 0.3, seed: 11 });
    expect(fields(reply).strength).toBe('0.3');

    const params = await (await discord.button({ customId: buttonOf(reply, 'params'), message: reply })).waitForOriginal();
    expect(JSON.stringify(params.embeds)).toContain('strength:0.3');

    const before = replicate.predictions.size;
    await (await discord.button({ customId: buttonOf(reply, 'again'), message: reply })).waitForOriginal(finished, 15_000);
    expect(replicate.predictions.size).toBe(before + 1);
    expect(lastInput()).toMatchObject({ lora_scale: 0.3, prompt: 'KMPLZ, a dog' });
    expect(lastInput().seed).not.toBe(11);
  });

  it('an identical seeded request reuses the picture only at the same strength', async () => {
    const options = { prompt: 'a bird', steps: 2, seed: 5, strength: 0.5 };
    await (await discord.slash({ name: 'kmplz', options })).waitForOriginal(finished, 15_000);
    const before = replicate.predictions.size;
    const reused = await (await discord.slash({ name: 'kmplz', options })).waitForOriginal(finished, 15_000);
    expect(replicate.predictions.size).toBe(before);
    expect(reused.content).toMatch(/no GPU time spent/);
    expect(fields(reused).strength).toBe('0.5');
    await (await discord.slash({ name: 'kmplz', options: { ...options, strength: 0.8 } })).waitForOriginal(finished, 15_000);
    expect(replicate.predictions.size).toBe(before + 1);
    expect(lastInput().lora_scale).toBe(0.8);
  });

  it('refuses a strength outside 0–1 from a raw payload, naming the option, before anything is paid', async () => {
    const before = replicate.predictions.size;
    const slash = await discord.slash({ name: 'kmplz', options: { prompt: 'a cat', strength: 1.5 }, forged: true });
    const followUp = await slash.waitForFollowUp();
    expect(followUp.ephemeral).toBe(true);
    expect(followUp.content).toMatch(/strength.*0.*1/i);
    expect(replicate.predictions.size).toBe(before);
  });

  it('🎲 of a job stored before strength existed draws at the 0.6 it was drawn with', async () => {
    const reply = await (await discord.slash({ name: 'kmplz', options: { prompt: 'an old lamp', steps: 2 } })).waitForOriginal(finished, 15_000);
    const jobId = buttonOf(reply, 'again').split(':')[2]!;
    const jobs = world.bot.app.context.generation.jobs;
    const stored = (await jobs.get(discord.guild().id, jobId))!;
    const { strength: _dropped, ...older } = stored.parameters;
    await jobs.save({ ...stored, parameters: older as GenerationParameters });
    await (await discord.button({ customId: buttonOf(reply, 'again'), message: reply })).waitForOriginal(finished, 15_000);
    expect(lastInput().lora_scale).toBe(0.6);
  });
});

describe('/compare axis:strength', () => {
  it('draws one picture per strength, sent as lora_scale, same seed and prompt', async () => {
    const before = replicate.predictions.size;
    const reply = await (await discord.slash({ name: 'compare', options: { prompt: 'a cat', axis: 'strength', values: '0.2, 0.6,1' } })).waitForOriginal(finished, 20_000);
    const predictions = [...replicate.predictions.values()].slice(before);
    expect(predictions.map((p) => p.input.lora_scale)).toEqual([0.2, 0.6, 1]);
    expect(new Set(predictions.map((p) => p.input.seed)).size).toBe(1);
    expect(reply.attachments).toHaveLength(1);
    expect(reply.embeds[0]?.title).toMatch(/strength: 0.2, 0.6, 1/);
  });

  it('refuses strengths outside 0–1', async () => {
    const before = replicate.predictions.size;
    const slash = await discord.slash({ name: 'compare', options: { prompt: 'a cat', axis: 'strength', values: '0.5,2' } });
    expect((await slash.waitForFollowUp()).content).toMatch(/strength values do not work: 2/);
    expect(replicate.predictions.size).toBe(before);
  });
});
