import { Locale } from 'discord.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordEmulator, type DiscordEmulator } from '../emulators/discord/index.js';
import { startHfEmulator, type HfEmulator } from '../emulators/hf/index.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { drawing } from '../support/fixtures.js';

/**
 * `CAPTION_BACKEND=hf` both ways Hugging Face serves captions today: a dedicated endpoint (the
 * emulator answers the transformers pipeline's list, as a standard Inference Endpoint does), and,
 * without one, a vision-language model through the Inference Providers router (no provider serves
 * BLIP). Each bot reaches the emulated Hub and router through the emulator's fetch.
 */

let discord: DiscordEmulator;
let hf: HfEmulator;
/** One bot at a time: two connected bots would both answer each interaction. */
let bot: TestBot | undefined;

beforeAll(async () => {
  [discord, hf] = await Promise.all([startDiscordEmulator(), startHfEmulator()]);
});
afterAll(async () => {
  await bot?.stop();
  await hf?.close();
  await discord?.close();
});
afterEach(() => discord.assertNoSpecErrors());

async function startBot(env: Record<string, string>): Promise<void> {
  await bot?.stop();
  bot = await startTestBot({ discord, hf }, { env: { CAPTION_BACKEND: 'hf', ...env }, deps: { fetch: hf.fetch } });
}

async function captionGreen(locale?: Locale) {
  return discord.slash({ name: 'caption', locale, options: { image: { filename: 'green.png', data: await drawing(400, 400, '#22bb33') } } });
}

describe('/caption with CAPTION_BACKEND=hf', () => {
  it('with HF_CAPTION_ENDPOINT: reads the pipeline’s list answer, in the training form, riding out a "model is loading" 503', async () => {
    await startBot({});
    hf.inject({ status: 503 }, 1);
    const before = hf.requests.length;
    const reply = await (await captionGreen()).waitForOriginal(undefined, 15_000);
    expect(reply.embeds[0]?.description).toMatch(/KMPLZ, a drawing of .*green/);
    expect(hf.requests.slice(before).map((r) => `${r.service} ${r.status}`)).toEqual(['endpoint 503', 'endpoint 200']);
  });

  it('without an endpoint: a vision-language model through Inference Providers writes the caption', async () => {
    await startBot({ HF_CAPTION_ENDPOINT: '' });
    const before = hf.requests.length;
    const reply = await (await captionGreen()).waitForOriginal(undefined, 15_000);
    // The VLM's sentence ("A drawing of a green square.") in the training form, said once.
    expect(reply.embeds[0]?.description).toMatch(/KMPLZ, a drawing of a green square(?!\.)/);
    // (The start-time look at the model's Hub page may land in this window too.)
    const requests = hf.requests.slice(before).filter((r) => r.service !== 'hub');
    expect(requests.map((r) => `${r.service} ${r.path} ${r.status}`)).toEqual(['router /v1/chat/completions 200']);
    expect((requests[0]?.json as { model: string }).model).toBe('meta-llama/Llama-4-Scout-17B-16E-Instruct');
  });

  it('a HF_CAPTION_MODEL no provider serves: the person is told which key to change, in their language', async () => {
    await startBot({ HF_CAPTION_ENDPOINT: '', HF_CAPTION_MODEL: 'Salesforce/blip-image-captioning-large' });
    // Said at start too, beside the login, so whoever runs the bot sees it before anyone captions.
    await expect.poll(() => bot?.eventsOf('config.warning').find((warning) => warning.key === 'HF_CAPTION_MODEL')?.message).toMatch(/^HF_CAPTION_MODEL Salesforce\/blip-image-captioning-large cannot caption: it is not a vision-language model/);
    const answer = await (await captionGreen()).waitForFollowUp(undefined, 15_000);
    expect(answer.ephemeral).toBe(true);
    expect(answer.content).toMatch(/No Hugging Face Inference Provider runs Salesforce\/blip-image-captioning-large.*HF_CAPTION_MODEL.*HF_CAPTION_ENDPOINT/);
    const russian = await (await captionGreen(Locale.Russian)).waitForFollowUp(undefined, 15_000);
    expect(russian.content).toMatch(/^Ни один провайдер Hugging Face .*Salesforce\/blip-image-captioning-large.*HF_CAPTION_MODEL/);
  });
});
