import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReplicateTrainer, snapshotOf } from '../../src/services/replicate/trainer.js';
import { ServiceError, type Trainer, type TrainingSnapshot } from '../../src/services/types.js';
import { startReplicateEmulator, type ReplicateEmulator } from '../emulators/replicate/index.js';
import { drawing } from '../support/fixtures.js';
import { captureLogger } from '../support/log.js';
import { TEST_DESTINATION, zipBuffer } from '../support/replicate-training.js';

let replicate: ReplicateEmulator;
let zip: Buffer;

beforeAll(async () => {
  replicate = await startReplicateEmulator({ destinations: [TEST_DESTINATION] });
  zip = await zipBuffer({ 'a.jpg': await drawing(64, 64, '#c04040'), 'caption.csv': 'caption,image_file\n"KMPLZ, a drawing of a red square",a.jpg\n' });
});
afterAll(() => replicate?.close());

function trainer(strategy: 'ladder' | 'streaming', model: string = strategy === 'ladder' ? replicate.refs.sdxl : replicate.refs.streamingTrainer, destination: string | undefined = TEST_DESTINATION): Trainer {
  return createReplicateTrainer({ token: replicate.token, baseUrl: replicate.baseUrl, model, destination, strategy, log: captureLogger().log });
}

async function until(t: Trainer, id: string, done: (s: TrainingSnapshot) => boolean): Promise<TrainingSnapshot> {
  for (;;) {
    const snapshot = await t.get(id);
    if (done(snapshot)) return snapshot;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('the ladder trainer (official cog-sdxl)', () => {
  it('starts a run with the zip (typed: its URL has no suffix), trigger word, steps, seed, square size and a constant schedule, and reads back progress, weights and version', async () => {
    const t = trainer('ladder');
    const { url, fileId } = await t.uploadDataset(zip, 'dataset.zip');
    const created = await t.start({ datasetUrl: url, triggerWord: 'KMPLZ', run: { steps: 200, checkpointSteps: [200] }, seed: 42, resolution: 1024 });
    expect(replicate.trainings.get(created.id)?.input).toEqual({
      input_images: url,
      input_images_filetype: 'zip',
      token_string: 'KMPLZ',
      max_train_steps: 200,
      resolution: 1024,
      lr_scheduler: 'constant',
      seed: 42,
    });
    const midway = await until(t, created.id, (s) => (s.progress?.step ?? 0) > 0);
    expect(midway.progress?.total).toBe(200);
    expect(midway.weights).toEqual([]);
    const done = await until(t, created.id, (s) => s.status === 'succeeded');
    expect(done.weights).toEqual([{ url: expect.stringContaining('/trained_model.tar'), version: expect.stringMatching(new RegExp(`^${TEST_DESTINATION}:[0-9a-f]{64}$`)) }]);
    expect(done.gpuSeconds).toBe(replicate.trainings.get(created.id)?.predictTime);
    expect(done.progress).toEqual({ step: 200, total: 200 });
    expect(replicate.trainings.get(created.id)?.dataset?.resolution).toBe(1024);
    await t.deleteDataset(fileId);
    expect(replicate.files.has(fileId)).toBe(false);
  });

  it('cancels, and a canceled run yields no weights', async () => {
    const t = trainer('ladder');
    const { url } = await t.uploadDataset(zip, 'dataset.zip');
    const created = await t.start({ datasetUrl: url, triggerWord: 'KMPLZ', run: { steps: 5000, checkpointSteps: [5000] }, seed: 1, resolution: 1024 });
    await until(t, created.id, (s) => s.status === 'processing');
    const canceled = await t.cancel(created.id);
    expect(canceled.status).toBe('canceled');
    expect(canceled.weights).toEqual([]);
  });

  it('does not create twice when a create answer is lost, and finds that run by zip and step count', async () => {
    const t = trainer('ladder');
    const { url } = await t.uploadDataset(zip, 'dataset.zip');
    const since = Date.now();
    const before = replicate.trainings.size;
    replicate.inject('trainings.create', { resetAfterHandling: true });
    await expect(t.start({ datasetUrl: url, triggerWord: 'KMPLZ', run: { steps: 300, checkpointSteps: [300] }, seed: 3, resolution: 1024 })).rejects.toMatchObject({ failure: 'unavailable' });
    expect(replicate.trainings.size).toBe(before + 1);
    const found = await t.find({ datasetUrl: url, steps: 300 }, since);
    expect(found?.id).toBe([...replicate.trainings.values()].at(-1)?.id);
    expect(await t.find({ datasetUrl: url, steps: 400 }, since)).toBeUndefined();
  });

  it('a refusal is final ("failed", with the service’s words); a throttle passes', async () => {
    const noDestination = trainer('ladder', replicate.refs.sdxl, 'kmplz-tests/nowhere');
    const { url } = await noDestination.uploadDataset(zip, 'dataset.zip');
    const refusal = await noDestination.start({ datasetUrl: url, triggerWord: 'KMPLZ', run: { steps: 100, checkpointSteps: [100] }, seed: 1, resolution: 1024 }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(ServiceError);
    expect(refusal).toMatchObject({ failure: 'failed', message: 'The specified training destination does not exist' });
    replicate.inject('trainings.get', { status: 429 }, 7);
    await expect(noDestination.get('whatever')).rejects.toMatchObject({ failure: 'throttled' });
  });

  it('trains the latest version when REPLICATE_TRAINER names no version', async () => {
    const t = trainer('ladder', 'stability-ai/sdxl');
    const { url } = await t.uploadDataset(zip, 'dataset.zip');
    const created = await t.start({ datasetUrl: url, triggerWord: 'KMPLZ', run: { steps: 100, checkpointSteps: [100] }, seed: 1, resolution: 1024 });
    expect(replicate.trainings.get(created.id)?.version).toBe(replicate.refs.sdxl.split(':')[1]);
  });
});

describe('the streaming trainer (a prediction of kmplz’s own trainer)', () => {
  it('asks for a checkpoint every N steps and reads one weights URL per checkpoint as the output grows (no destination needed)', async () => {
    const t = trainer('streaming', replicate.refs.streamingTrainer, undefined);
    const { url } = await t.uploadDataset(zip, 'dataset.zip');
    const created = await t.start({ datasetUrl: url, triggerWord: 'KMPLZ', run: { steps: 300, checkpointSteps: [100, 200, 300] }, seed: 5, resolution: 1024 });
    expect(replicate.predictions.get(created.id)?.input).toEqual({
      input_images: url,
      token_string: 'KMPLZ',
      max_train_steps: 300,
      checkpointing_steps: 100,
      resolution: 1024,
      seed: 5,
    });
    const first = await until(t, created.id, (s) => s.weights.length >= 1);
    expect(first.weights[0]?.url).toMatch(/checkpoint-100\.tar$/);
    const done = await until(t, created.id, (s) => s.status === 'succeeded');
    expect(done.weights.map((w) => w.url.split('/').pop())).toEqual(['checkpoint-100.tar', 'checkpoint-200.tar', 'checkpoint-300.tar']);
    expect(done.progress).toEqual({ step: 300, total: 300 });
    expect(done.gpuSeconds).toBe(replicate.predictions.get(created.id)?.predictTime);
  });

  it('cancels its one prediction, and finds it again by zip and step count after a lost create answer', async () => {
    const t = trainer('streaming');
    const { url } = await t.uploadDataset(zip, 'dataset.zip');
    const since = Date.now();
    replicate.inject('predictions.create', { resetAfterHandling: true });
    await expect(t.start({ datasetUrl: url, triggerWord: 'KMPLZ', run: { steps: 5000, checkpointSteps: [2500, 5000] }, seed: 9, resolution: 1024 })).rejects.toMatchObject({ failure: 'unavailable' });
    const found = await t.find({ datasetUrl: url, steps: 5000 }, since);
    expect(found?.id).toBe([...replicate.predictions.values()].at(-1)?.id);
    expect((await t.cancel(found!.id)).status).toBe('canceled');
    expect(replicate.predictions.get(found!.id)?.status).toBe('canceled');
  });
});

describe('webhook bodies', () => {
  it('reads a training object and refuses anything else', () => {
    expect(snapshotOf({ id: 'x', status: 'aborted', logs: '', input: {} }, 'ladder')).toMatchObject({ id: 'x', status: 'failed' });
    expect(snapshotOf({ id: 'x', status: 'weird' }, 'ladder')).toBeUndefined();
    expect(snapshotOf('nope', 'ladder')).toBeUndefined();
    expect(snapshotOf({ status: 'succeeded' }, 'ladder')).toBeUndefined();
    // A bar of another length (captioning 20 images) is not the training's progress.
    expect(snapshotOf({ id: 'x', status: 'processing', logs: 'Captioning: 20/20 [00:01<00:00]\n', input: { max_train_steps: 1000 } }, 'ladder')?.progress).toBeUndefined();
  });
});
