import { InferenceClient, InferenceClientInputError, InferenceClientProviderApiError, InferenceClientProviderOutputError } from '@huggingface/inference';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HfEmulator, startHfEmulator } from './hf/index.js';
import { PALETTE, solidPng } from './replicate/images.js';

/**
 * The emulator against the pinned @huggingface/inference 4.13.30 itself: what the real client
 * does with each of the emulator's answers is what it does with Hugging Face's.
 */

let pipeline: HfEmulator; // a standard Inference Endpoint (transformers pipeline): a list
let custom: HfEmulator; // a custom handler: the bare object
let client: InferenceClient;

beforeAll(async () => {
  [pipeline, custom] = await Promise.all([startHfEmulator(), startHfEmulator({ endpointShape: 'object' })]);
  client = new InferenceClient(custom.token);
});

afterAll(async () => {
  await Promise.all([pipeline.close(), custom.close()]);
});

async function png(colour: keyof typeof PALETTE, width = 64, height = 64): Promise<Blob> {
  return new Blob([await solidPng(width, height, PALETTE[colour])], { type: 'image/png' });
}

describe('Hugging Face emulator: a dedicated image-to-text endpoint', () => {
  it('answers the transformers pipeline’s list, which 4.13.30’s imageToText rejects', async () => {
    const raw = await fetch(pipeline.endpointUrl, { method: 'POST', headers: { authorization: `Bearer ${pipeline.token}`, 'content-type': 'image/png' }, body: await png('red') });
    expect(await raw.json()).toEqual([{ generated_text: 'a drawing of a red square' }]);

    const error = await client.imageToText({ endpointUrl: pipeline.endpointUrl, data: await png('red') }, { retry_on_error: false }).catch((e) => e);
    expect(error).toBeInstanceOf(InferenceClientProviderOutputError);
    expect(error.message).toContain('expected {generated_text: string}');
  });

  it('with endpointShape "object", captions the posted bytes through the client, different images differently', async () => {
    const before = custom.requests.length;
    const red = await client.imageToText({ endpointUrl: custom.endpointUrl, data: await png('red') }, { retry_on_error: false });
    const blue = await client.imageToText({ endpointUrl: custom.endpointUrl, data: await png('blue', 96, 48) }, { retry_on_error: false });
    expect(red).toEqual({ generated_text: 'a drawing of a red square' });
    expect(blue.generated_text).toBe('a drawing of a blue wide rectangle');

    const [request] = custom.requests.slice(before);
    // The client posts the raw bytes to the endpoint URL itself, with the token as Bearer.
    expect(request).toMatchObject({ service: 'endpoint', method: 'POST', path: '/', status: 200 });
    expect(request?.headers.authorization).toBe(`Bearer ${custom.token}`);
    expect(request?.headers['content-type']).toBe('image/png');
    expect(request?.bytes).toBe((await png('red')).size);
  });

  it('503 "loading" surfaces as ProviderApiError with retry_on_error: false', async () => {
    const before = custom.requests.length;
    custom.inject({ status: 503, estimatedTime: 20 });
    const error = await client.imageToText({ endpointUrl: custom.endpointUrl, data: await png('green') }, { retry_on_error: false }).catch((e) => e);
    expect(error).toBeInstanceOf(InferenceClientProviderApiError);
    expect(error.message).toBe('Failed to perform inference: Model Salesforce/blip-image-captioning-large is currently loading');
    expect(error.httpResponse.status).toBe(503);
    expect(error.httpResponse.body).toEqual({ error: 'Model Salesforce/blip-image-captioning-large is currently loading', estimated_time: 20 });
    expect(custom.requests.length - before).toBe(1);
  });

  it('trap: without retry_on_error: false a 503 is retried at once, with no limit', async () => {
    const before = custom.requests.length;
    custom.inject({ status: 503 }, 5);
    const started = performance.now();
    const result = await client.imageToText({ endpointUrl: custom.endpointUrl, data: await png('yellow') });
    expect(result.generated_text).toBe('a drawing of a yellow square');
    expect(custom.requests.slice(before).map((r) => r.status)).toEqual([503, 503, 503, 503, 503, 200]);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('429 throws ProviderApiError with the status, never retried', async () => {
    const before = custom.requests.length;
    custom.inject({ status: 429 });
    const error = await client.imageToText({ endpointUrl: custom.endpointUrl, data: await png('green') }).catch((e) => e);
    expect(error).toBeInstanceOf(InferenceClientProviderApiError);
    expect(error.httpResponse.status).toBe(429);
    expect(custom.requests.length - before).toBe(1);
  });

  it('a wrong token is refused', async () => {
    const stranger = new InferenceClient('hf_wrong');
    const error = await stranger.imageToText({ endpointUrl: custom.endpointUrl, data: await png('red') }).catch((e) => e);
    expect(error.httpResponse.status).toBe(401);
  });
});

describe('Hugging Face emulator: the Hub and the Inference Providers router', () => {
  it('BLIP by model id: the Hub maps no provider, so the client gives up before any inference', async () => {
    const before = pipeline.requests.length;
    const error = await client
      .imageToText({ model: 'Salesforce/blip-image-captioning-large', data: await png('red') }, { retry_on_error: false, fetch: pipeline.fetch })
      .catch((e) => e);
    expect(error).toBeInstanceOf(InferenceClientInputError);
    expect(error.message).toBe('No Inference Provider available for model Salesforce/blip-image-captioning-large.');
    const requests = pipeline.requests.slice(before);
    expect(requests.map((r) => `${r.service} ${r.method} ${r.path} ${r.status}`)).toEqual([
      'hub GET /api/models/Salesforce/blip-image-captioning-large?expand[]=inferenceProviderMapping 200',
    ]);
    // Model pages are public: the client asks without the token.
    expect(requests[0]?.headers.authorization).toBeUndefined();
  });

  it('a VLM through chat completion: the router answers in the OpenAI shape the client checks', async () => {
    const vlm = new InferenceClient(pipeline.token);
    const image = Buffer.from(await (await png('blue', 48, 96)).arrayBuffer());
    const answer = await vlm.chatCompletion(
      {
        model: 'meta-llama/Llama-4-Scout-17B-16E-Instruct',
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Caption this.' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${image.toString('base64')}` } }] }],
      },
      { retry_on_error: false, fetch: pipeline.fetch },
    );
    expect(answer.choices[0]?.message.content).toBe('A drawing of a blue tall rectangle.');
    expect(answer.model).toBe('meta-llama/llama-4-scout-17b-16e-instruct');
    expect(pipeline.requests.at(-1)).toMatchObject({ service: 'router', path: '/v1/chat/completions', status: 200 });
  });

  it('a model no provider serves gets the router’s 400 "not supported by any provider"', async () => {
    const vlm = new InferenceClient(pipeline.token);
    const error = await vlm
      .chatCompletion(
        { model: 'Salesforce/blip-image-captioning-large', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }] },
        { retry_on_error: false, fetch: pipeline.fetch },
      )
      .catch((e) => e);
    expect(error).toBeInstanceOf(InferenceClientProviderApiError);
    expect(error.httpResponse.status).toBe(400);
    expect(error.httpResponse.body.error).toMatchObject({
      message: "The requested model 'Salesforce/blip-image-captioning-large' is not supported by any provider you have enabled.",
      code: 'model_not_supported',
    });
  });
});
