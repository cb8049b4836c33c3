import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordEmulator, type DiscordEmulator } from '../emulators/discord/index.js';
import { startHfEmulator, type HfEmulator } from '../emulators/hf/index.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { drawing } from '../support/fixtures.js';

let discord: DiscordEmulator;
let hf: HfEmulator;
let bot: TestBot;

beforeAll(async () => {
  discord = await startDiscordEmulator();
  hf = await startHfEmulator();
  bot = await startTestBot({ discord, hf }, { env: { CAPTION_BACKEND: 'hf' } });
});
afterAll(async () => {
  await bot?.stop();
  await hf?.close();
  await discord?.close();
});
afterEach(() => discord.assertNoSpecErrors());

describe('/caption with CAPTION_BACKEND=hf', () => {
  it('captions through the Hugging Face endpoint, in the training form, riding out a "model is loading" 503', async () => {
    hf.inject({ status: 503 }, 1);
    const before = hf.requests.length;
    const slash = await discord.slash({ name: 'caption', options: { image: { filename: 'green.png', data: await drawing(400, 400, '#22bb33') } } });
    const reply = await slash.waitForOriginal(undefined, 15_000);
    expect(reply.embeds[0]?.description).toMatch(/KMPLZ, a drawing of .*green/);
    expect(hf.requests.length - before).toBe(2);
  });
});
