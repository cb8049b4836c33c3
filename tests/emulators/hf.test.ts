import { InferenceClient, InferenceClientProviderApiError, InferenceClientProviderOutputError } from '@huggingface/inference';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HfEmulator, startHfEmulator } from './hf/index.js';
import { PALETTE, solidPng } from './replicate/images.js';

let hf: HfEmulator;
let client: InferenceClient;

beforeAll(async () => {
  hf = await startHfEmulator();
  client = new InferenceClient(hf.token);
});

afterAll(async () => {
  await hf.close();
});

async function png(colour: keyof typeof PALETTE, width = 64, height = 64): Promise<Blob> {
  return new Blob([await solidPng(width, height, PALETTE[colour])], { type: 'image/png' });
}

describe('Hugging Face emulator: image-to-text on a dedicated endpoint', () => {
  it('captions the posted bytes, and different images get different captions', async () => {
    const before = hf.requests.length;
    const red = await client.imageToText({ endpointUrl: hf.endpointUrl, data: await png('red') }, { retry_on_error: false });
    const blue = await client.imageToText({ endpointUrl: hf.endpointUrl, data: await png('blue', 96, 48) }, { retry_on_error: false });
    expect(red).toEqual({ generated_text: 'a drawing of a red square' });
    expect(blue.generated_text).toBe('a drawing of a blue wide rectangle');
    // `data` is the deprecated spelling of `inputs`; both post the same bytes.
    const viaInputs = await client.imageToText({ endpointUrl: hf.endpointUrl, inputs: await png('red') }, { retry_on_error: false });
    expect(viaInputs).toEqual(red);

    const [request] = hf.requests.slice(before);
    // The client posts the raw bytes to the endpoint URL itself, with the token as Bearer.
    expect(request).toMatchObject({ method: 'POST', path: '/', status: 200 });
    expect(request?.headers.authorization).toBe(`Bearer ${hf.token}`);
    expect(request?.headers['content-type']).toBe('image/png');
    expect(request?.bytes).toBe((await png('red')).size);
  });

  it('503 "loading" surfaces as ProviderApiError with retry_on_error: false', async () => {
    const before = hf.requests.length;
    hf.inject({ status: 503, estimatedTime: 20 });
    const error = await client.imageToText({ endpointUrl: hf.endpointUrl, data: await png('green') }, { retry_on_error: false }).catch((e) => e);
    expect(error).toBeInstanceOf(InferenceClientProviderApiError);
    expect(error.message).toBe('Failed to perform inference: Model Salesforce/blip-image-captioning-large is currently loading');
    expect(error.httpResponse.status).toBe(503);
    expect(error.httpResponse.body).toEqual({ error: 'Model Salesforce/blip-image-captioning-large is currently loading', estimated_time: 20 });
    expect(hf.requests.length - before).toBe(1);
  });

  it('trap: without retry_on_error: false a 503 is retried at once, with no limit', async () => {
    const before = hf.requests.length;
    hf.inject({ status: 503 }, 5);
    const started = performance.now();
    const result = await client.imageToText({ endpointUrl: hf.endpointUrl, data: await png('yellow') });
    expect(result.generated_text).toBe('a drawing of a yellow square');
    expect(hf.requests.slice(before).map((r) => r.status)).toEqual([503, 503, 503, 503, 503, 200]);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('429 throws ProviderApiError with the status, never retried', async () => {
    const before = hf.requests.length;
    hf.inject({ status: 429 });
    const error = await client.imageToText({ endpointUrl: hf.endpointUrl, data: await png('green') }).catch((e) => e);
    expect(error).toBeInstanceOf(InferenceClientProviderApiError);
    expect(error.httpResponse.status).toBe(429);
    expect(hf.requests.length - before).toBe(1);
  });

  it('a wrong token is refused', async () => {
    const stranger = new InferenceClient('hf_wrong');
    const error = await stranger.imageToText({ endpointUrl: hf.endpointUrl, data: await png('red') }).catch((e) => e);
    expect(error.httpResponse.status).toBe(401);
  });

  it('trap: 4.13.30 rejects the array shape older clients expected', async () => {
    const legacy = await startHfEmulator({ responseShape: 'array' });
    try {
      const error = await new InferenceClient(legacy.token)
        .imageToText({ endpointUrl: legacy.endpointUrl, data: await png('red') }, { retry_on_error: false })
        .catch((e) => e);
      expect(error).toBeInstanceOf(InferenceClientProviderOutputError);
      expect(error.message).toContain('expected {generated_text: string}');
    } finally {
      await legacy.close();
    }
  });
});
