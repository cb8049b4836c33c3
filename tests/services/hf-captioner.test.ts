import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_HF_CAPTION_MODEL } from '../../src/config.js';
import { createHfCaptioner } from '../../src/services/hf/captioner.js';
import { CaptionModelUnavailableError } from '../../src/services/hf/errors.js';
import { checkCaptionModel } from '../../src/services/hf/model-check.js';
import { asPhrase } from '../../src/services/hf/vlm.js';
import { ServiceError } from '../../src/services/types.js';
import { startHfEmulator, type HfEmulator } from '../emulators/hf/index.js';
import { captureLogger } from '../support/log.js';

const redSquare = async () => ({
  data: await sharp({ create: { width: 64, height: 64, channels: 3, background: '#d02020' } }).jpeg().toBuffer(),
  contentType: 'image/jpeg',
  name: 'red.jpg',
});

let pipeline: HfEmulator; // a standard Inference Endpoint: the transformers pipeline's list
let custom: HfEmulator; // a custom handler's bare object
beforeAll(async () => {
  [pipeline, custom] = await Promise.all([startHfEmulator(), startHfEmulator({ endpointShape: 'object' })]);
});
afterAll(async () => {
  await Promise.all([pipeline.close(), custom.close()]);
});

const retry = (attempts = 3) => ({ baseMs: 5, maxMs: 20, attempts });
const onEndpoint = (hf: HfEmulator, attempts?: number) =>
  createHfCaptioner({ token: hf.token, endpointUrl: hf.endpointUrl, model: DEFAULT_HF_CAPTION_MODEL, fetch: hf.fetch, log: captureLogger().log, retry: retry(attempts) });
const throughProviders = (hf: HfEmulator, model = DEFAULT_HF_CAPTION_MODEL, attempts?: number) =>
  createHfCaptioner({ token: hf.token, model, fetch: hf.fetch, log: captureLogger().log, retry: retry(attempts) });

describe('Hugging Face captioner: a dedicated endpoint (HF_CAPTION_ENDPOINT)', () => {
  it.each([
    ['the transformers pipeline’s list, [{generated_text}]', () => pipeline],
    ['a custom handler’s object, {generated_text}', () => custom],
  ])('reads %s', async (_shape, emulator) => {
    const hf = emulator();
    const before = hf.requests.length;
    const caption = await onEndpoint(hf).caption(await redSquare());
    expect(caption.raw).toBe('a drawing of a red square');
    const [request] = hf.requests.slice(before);
    // Posted the way @huggingface/inference would: the raw bytes, the token as Bearer.
    expect(request).toMatchObject({ service: 'endpoint', method: 'POST', path: '/', status: 200, bytes: (await redSquare()).data.length });
    expect(request?.headers.authorization).toBe(`Bearer ${hf.token}`);
    expect(request?.headers['content-type']).toBe('image/jpeg');
  });

  it('waits out "model is loading" (503) with a bounded backoff instead of the client’s endless retry', async () => {
    const before = pipeline.requests.length;
    pipeline.inject({ status: 503 }, 2);
    const caption = await onEndpoint(pipeline).caption(await redSquare());
    expect(caption.raw).toBe('a drawing of a red square');
    expect(pipeline.requests.slice(before).map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it('gives up after its attempts on 429 and says why', async () => {
    const before = pipeline.requests.length;
    pipeline.inject({ status: 429 }, 3);
    const failure = await onEndpoint(pipeline, 3).caption(await redSquare()).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ServiceError);
    expect((failure as ServiceError).failure).toBe('throttled');
    expect(pipeline.requests.length - before).toBe(3);
  });
});

describe('Hugging Face captioner: deadlines', () => {
  it.each([
    ['endpoint', () => createHfCaptioner({ token: pipeline.token, endpointUrl: pipeline.endpointUrl, model: DEFAULT_HF_CAPTION_MODEL, log: captureLogger().log, attemptTimeoutMs: 100 })],
    ['router', () => createHfCaptioner({ token: pipeline.token, model: DEFAULT_HF_CAPTION_MODEL, fetch: pipeline.fetch, log: captureLogger().log, attemptTimeoutMs: 100 })],
  ])('a stalled %s is given up on, not waited for forever', async (_service, captioner) => {
    pipeline.inject({ stallMs: 1000 });
    const failure = await captioner().caption(await redSquare()).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ServiceError);
    expect((failure as ServiceError).failure).toBe('timeout');
  });
});

describe('Hugging Face captioner: a vision-language model through Inference Providers (no endpoint)', () => {
  it('asks the router’s chat completion with the image as a data URL, and never the Hub', async () => {
    const before = pipeline.requests.length;
    const image = await redSquare();
    const caption = await throughProviders(pipeline).caption(image);
    // The emulated VLM answers like a chat model ("A drawing of a red square."); the phrase is kept.
    expect(caption.raw).toBe('A drawing of a red square');
    const requests = pipeline.requests.slice(before);
    expect(requests.map((r) => `${r.service} ${r.method} ${r.path} ${r.status}`)).toEqual(['router POST /v1/chat/completions 200']);
    expect(requests[0]?.headers.authorization).toBe(`Bearer ${pipeline.token}`);
    const body = requests[0]?.json as { model: string; messages: { role: string; content: { type: string; image_url?: { url: string } }[] }[] };
    expect(body.model).toBe(DEFAULT_HF_CAPTION_MODEL);
    const imagePart = body.messages[0]?.content.find((part) => part.type === 'image_url');
    expect(imagePart?.image_url?.url).toBe(`data:image/jpeg;base64,${image.data.toString('base64')}`);
  });

  it('uses HF_CAPTION_MODEL, and names it when no provider serves it, without retrying', async () => {
    expect((await throughProviders(pipeline, 'Qwen/Qwen2.5-VL-7B-Instruct').caption(await redSquare())).raw).toBe('A drawing of a red square');

    const before = pipeline.requests.length;
    const failure = await throughProviders(pipeline, 'Salesforce/blip-image-captioning-large').caption(await redSquare()).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(CaptionModelUnavailableError);
    expect((failure as CaptionModelUnavailableError).model).toBe('Salesforce/blip-image-captioning-large');
    expect((failure as Error).message).toBe("The requested model 'Salesforce/blip-image-captioning-large' is not supported by any provider you have enabled.");
    expect(pipeline.requests.length - before).toBe(1);
  });

  it('waits out 503 and 429 from the router with a bounded backoff', async () => {
    const before = pipeline.requests.length;
    pipeline.inject({ status: 503 }, 1);
    pipeline.inject({ status: 429 }, 1);
    expect((await throughProviders(pipeline).caption(await redSquare())).raw).toBe('A drawing of a red square');
    expect(pipeline.requests.slice(before).map((r) => r.status)).toEqual([503, 429, 200]);

    pipeline.inject({ status: 503 }, 2);
    const failure = await throughProviders(pipeline, DEFAULT_HF_CAPTION_MODEL, 2).caption(await redSquare()).catch((e: unknown) => e);
    expect((failure as ServiceError).failure).toBe('unavailable');
  });
});

describe('asPhrase: a chat model’s answer as a captioner’s phrase', () => {
  it.each([
    ['A drawing of a red square.', 'A drawing of a red square'],
    ['"a girl in a hoodie sitting on a bench."', 'a girl in a hoodie sitting on a bench'],
    ['Caption: a cat on a roof\n\nThe picture shows…', 'a cat on a roof'],
    ['\n  a boy with a kite!  ', 'a boy with a kite'],
  ])('%j → %j', (answer, phrase) => {
    expect(asPhrase(answer)).toBe(phrase);
  });
});

describe('checkCaptionModel: HF_CAPTION_MODEL against the Hub, at start', () => {
  it.each([
    [DEFAULT_HF_CAPTION_MODEL, { ok: true, providers: ['groq', 'together'] }],
    [`${DEFAULT_HF_CAPTION_MODEL}:fastest`, { ok: true, providers: ['groq', 'together'] }],
    [`${DEFAULT_HF_CAPTION_MODEL}:groq`, { ok: true, providers: ['groq'] }],
    ['Qwen/Qwen2.5-VL-7B-Instruct:together', { ok: false, reason: 'no Inference Provider serves it' }],
    ['Salesforce/blip-image-captioning-large', { ok: false, reason: 'it is not a vision-language model (its task is image-to-text)' }],
    ['meta-llama/Llama-3.1-8B-Instruct', { ok: false, reason: 'it is not a vision-language model (its task is text-generation)' }],
    ['nobody/no-such-model', { ok: false, reason: 'the Hub has no such model' }],
  ])('%s', async (model, expected) => {
    expect(await checkCaptionModel({ model, token: pipeline.token, hubUrl: 'https://huggingface.co', fetch: pipeline.fetch })).toEqual(expected);
  });

  it('says nothing is known when the Hub cannot be asked', async () => {
    const unreachable: typeof fetch = () => Promise.reject(new TypeError('fetch failed'));
    expect(await checkCaptionModel({ model: DEFAULT_HF_CAPTION_MODEL, token: 't', hubUrl: 'https://huggingface.co', fetch: unreachable })).toEqual({ ok: undefined, reason: 'fetch failed' });
  });

  it('asks the Hub HF_HUB_URL names, not huggingface.co', async () => {
    const asked: string[] = [];
    const recording: typeof fetch = (input, init) => {
      asked.push(String(input));
      return globalThis.fetch(input, init);
    };
    const hubUrl = new URL(pipeline.endpointUrl).origin;
    expect(await checkCaptionModel({ model: DEFAULT_HF_CAPTION_MODEL, token: pipeline.token, hubUrl: `${hubUrl}/`, fetch: recording })).toEqual({ ok: true, providers: ['groq', 'together'] });
    expect(asked.every((url) => url.startsWith(`${hubUrl}/api/models/`))).toBe(true);
  });
});
