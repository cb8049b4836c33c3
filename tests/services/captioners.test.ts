import Replicate from 'replicate';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHfCaptioner } from '../../src/services/hf/captioner.js';
import { createReplicateCaptioner } from '../../src/services/replicate/captioner.js';
import { ServiceError } from '../../src/services/types.js';
import { startHfEmulator } from '../emulators/hf/index.js';
import { startReplicateEmulator, type ReplicateEmulator } from '../emulators/replicate/index.js';
import { captureLogger } from '../support/log.js';

const redSquare = () => sharp({ create: { width: 64, height: 64, channels: 3, background: '#d02020' } }).jpeg().toBuffer();

describe('Replicate BLIP captioner', () => {
  let emulator: ReplicateEmulator;
  beforeAll(async () => {
    emulator = await startReplicateEmulator();
  });
  afterAll(() => emulator.close());

  it('uploads the image, asks BLIP for a caption, and removes the upload afterwards', async () => {
    const client = new Replicate({ auth: emulator.token, baseUrl: emulator.baseUrl, useFileOutput: false });
    const captioner = createReplicateCaptioner({ client, model: emulator.refs.blip, log: captureLogger().log });
    const caption = await captioner.caption({ data: await redSquare(), contentType: 'image/jpeg', name: 'red.jpg' });
    expect(caption.raw).toMatch(/^Caption: a drawing of a red square/);
    const prediction = [...emulator.predictions.values()].at(-1)!;
    expect(prediction.input).toMatchObject({ task: 'image_captioning' });
    expect(String(prediction.input.image)).toContain('/v1/files/');
    expect(emulator.files.size).toBe(0);
    expect(emulator.specErrors).toEqual([]);
  });

  it('captions with an unversioned REPLICATE_CAPTIONER at its latest version', async () => {
    const client = new Replicate({ auth: emulator.token, baseUrl: emulator.baseUrl, useFileOutput: false });
    const captioner = createReplicateCaptioner({ client, model: 'salesforce/blip', log: captureLogger().log });
    expect((await captioner.caption({ data: await redSquare(), contentType: 'image/jpeg', name: 'red.jpg' })).raw).toMatch(/^Caption: /);
    expect([...emulator.predictions.values()].at(-1)!.version).toBe(emulator.refs.blip.split(':')[1]);
    expect(emulator.specErrors).toEqual([]);
  });
});

describe('Hugging Face BLIP captioner', () => {
  let hf: Awaited<ReturnType<typeof startHfEmulator>>;
  beforeAll(async () => {
    hf = await startHfEmulator();
  });
  afterAll(() => hf.close());
  const captioner = (attempts = 3) =>
    createHfCaptioner({ token: hf.token, endpointUrl: hf.endpointUrl, log: captureLogger().log, retry: { baseMs: 5, maxMs: 20, attempts } });

  it('captions through a dedicated endpoint', async () => {
    const caption = await captioner().caption({ data: await redSquare(), contentType: 'image/jpeg', name: 'red.jpg' });
    expect(caption.raw).toMatch(/red/);
  });

  it('waits out "model is loading" (503) with bounded backoff instead of the client’s endless retry', async () => {
    const before = hf.requests.length;
    hf.inject({ status: 503 }, 2);
    const caption = await captioner().caption({ data: await redSquare(), contentType: 'image/jpeg', name: 'red.jpg' });
    expect(caption.raw).toMatch(/red/);
    expect(hf.requests.length - before).toBe(3);
  });

  it('gives up after its attempts and says why', async () => {
    const before = hf.requests.length;
    hf.inject({ status: 429 }, 3);
    const failure = await captioner(3).caption({ data: await redSquare(), contentType: 'image/jpeg', name: 'red.jpg' }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ServiceError);
    expect((failure as ServiceError).failure).toBe('throttled');
    expect(hf.requests.length - before).toBe(3);
  });
});
