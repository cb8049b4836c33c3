import Replicate from 'replicate';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReplicateCaptioner } from '../../src/services/replicate/captioner.js';
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
