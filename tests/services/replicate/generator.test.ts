import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { createReplicateClient } from '../../../src/services/replicate/client.js';
import { createReplicateGenerator } from '../../../src/services/replicate/generator.js';
import { ServiceError, type GenerationRequest } from '../../../src/services/types.js';
import { startHubEmulator } from '../../emulators/hub/index.js';
import { startReplicateEmulator, type ReplicateEmulator } from '../../emulators/replicate/index.js';
import { captureLogger } from '../../support/log.js';
import { TEST_DESTINATION, trainCheckpoint } from '../../support/replicate-training.js';

let emulator: ReplicateEmulator;
let checkpoint: { weightsUrl: string; version: string; trainingId: string };

beforeAll(async () => {
  emulator = await startReplicateEmulator({ destinations: [TEST_DESTINATION] });
  checkpoint = await trainCheckpoint(emulator);
});
afterAll(() => emulator.close());
afterEach(() => expect(emulator.specErrors).toEqual([]));

function generator(overrides: Partial<Parameters<typeof createReplicateGenerator>[0]> = {}) {
  const client = createReplicateClient({ token: emulator.token, baseUrl: emulator.baseUrl });
  return createReplicateGenerator({
    client,
    model: emulator.refs.sdxl,
    log: captureLogger().log,
    poll: { baseMs: 5, maxMs: 20 },
    throttleRetry: { baseMs: 5, maxMs: 20, attempts: 3 },
    ...overrides,
  });
}

/** Node may fire a timer up to a millisecond early by performance.now()'s clock. */
const TIMER_SLACK_MS = 1;

/** A client whose every request is noted, with when (performance.now()) it was sent. */
function recordingClient() {
  const sent: { method: string; path: string; at: number }[] = [];
  const client = createReplicateClient({
    token: emulator.token,
    baseUrl: emulator.baseUrl,
    fetch: (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      sent.push({ method: (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase(), path: url.pathname, at: performance.now() });
      return fetch(input, init);
    },
  });
  return { client, sent };
}

const request = (overrides: Partial<GenerationRequest> = {}): GenerationRequest => ({
  prompt: 'KMPLZ, a drawing of a sad girl in a hoodie and jeans',
  steps: 20,
  guidance: 7,
  strength: 0.35,
  width: 768,
  height: 512,
  seed: 42,
  weights: { step: 250, weightsUrl: checkpoint.weightsUrl, version: checkpoint.version },
  ...overrides,
});

describe('Replicate generator', () => {
  it('generates with the checkpoint’s weights and copies the image out at once', async () => {
    const progress: number[] = [];
    const image = await generator().generate(request(), { onProgress: (p) => progress.push(p.step) });
    const decoded = await sharp(image.data).metadata();
    expect([decoded.width, decoded.height]).toEqual([768, 512]);
    const prediction = emulator.predictions.get(image.predictionId)!;
    expect(prediction.input).toMatchObject({
      prompt: 'KMPLZ, a drawing of a sad girl in a hoodie and jeans',
      num_inference_steps: 20,
      guidance_scale: 7,
      lora_scale: 0.35,
      seed: 42,
      width: 768,
      height: 512,
      replicate_weights: checkpoint.weightsUrl,
    });
    expect(image.gpuSeconds).toBeGreaterThan(0);
    expect(progress.length).toBeGreaterThan(0);
  });

  it('sends guidance below 1 as 1, the lowest cog-sdxl takes (both mean "no guidance")', async () => {
    const image = await generator().generate(request({ guidance: 0 }));
    expect(emulator.predictions.get(image.predictionId)!.input).toMatchObject({ guidance_scale: 1 });
  });

  it('falls back to the trained version once the weights URL has expired', async () => {
    const other = await trainCheckpoint(emulator);
    emulator.removeData(other.trainingId);
    const image = await generator().generate(request({ weights: { step: 500, weightsUrl: other.weightsUrl, version: other.version } }));
    const input = emulator.predictions.get(image.predictionId)!.input;
    expect(input).not.toHaveProperty('replicate_weights');
    expect(emulator.predictions.get(image.predictionId)!.version).toBe(other.version.split(':')[1]);
  });

  it('runs an unversioned REPLICATE_GENERATOR at its latest version through POST /predictions (the model route serves official models only)', async () => {
    const { client, sent } = recordingClient();
    const image = await generator({ client, model: 'stability-ai/sdxl' }).generate(request());
    expect(emulator.predictions.get(image.predictionId)!.version).toBe(emulator.refs.sdxl.split(':')[1]);
    expect(sent.filter((r) => r.method === 'POST').map((r) => r.path)).toEqual(['/v1/predictions']);
    // Resolved once: a second picture asks nothing more of the model.
    await generator({ client, model: 'stability-ai/sdxl' }).generate(request({ seed: 43 }));
    expect(sent.filter((r) => r.path === '/v1/models/stability-ai/sdxl').length).toBeLessThanOrEqual(2);
  });

  it('refuses a model that does not exist with the reason, creating nothing', async () => {
    const before = emulator.predictions.size;
    const failure = await generator({ model: 'nobody/nothing' }).generate(request()).catch((e: unknown) => e);
    expect(failure).toMatchObject({ failure: 'failed', message: 'nobody/nothing was not found on Replicate' });
    expect(emulator.predictions.size).toBe(before);
  });

  it('once the weights URL has expired, draws with the archive published on the Hub before the trained version; a private one is passed over', async () => {
    const other = await trainCheckpoint(emulator);
    const archive = Buffer.from(await (await fetch(other.weightsUrl)).arrayBuffer());
    emulator.removeData(other.trainingId);
    const hub = await startHubEmulator();
    try {
      hub.addRepo('kmplz-class/public', { 'trained_model.tar': archive });
      hub.addRepo('kmplz-class/private', { 'trained_model.tar': archive }, { private: true });
      const published = `${hub.url}/kmplz-class/public/resolve/main/trained_model.tar`;
      const image = await generator().generate(request({ weights: { step: 500, weightsUrl: other.weightsUrl, publishedUrl: published, version: other.version } }));
      const prediction = emulator.predictions.get(image.predictionId)!;
      expect(prediction.input.replicate_weights).toBe(published);
      expect(prediction.version).toBe(emulator.refs.sdxl.split(':')[1]);

      // Replicate fetches without a token: a private repository's archive would fail the prediction.
      const privately = await generator().generate(request({ weights: { step: 500, weightsUrl: other.weightsUrl, publishedUrl: `${hub.url}/kmplz-class/private/resolve/main/trained_model.tar`, version: other.version } }));
      expect(emulator.predictions.get(privately.predictionId)!.input).not.toHaveProperty('replicate_weights');
    } finally {
      await hub.close();
    }
  });

  it('once the weights URL has expired, draws with kmplz’s kept copy before the Hub’s; with no copy anywhere it refuses before creating a prediction', async () => {
    const other = await trainCheckpoint(emulator);
    const archive = Buffer.from(await (await fetch(other.weightsUrl)).arrayBuffer());
    emulator.removeData(other.trainingId);
    const hub = await startHubEmulator();
    try {
      hub.addRepo('kmplz-class/kept', { 'trained_model.tar': archive });
      const kept = `${hub.url}/kmplz-class/kept/resolve/main/trained_model.tar`;
      const published = `${hub.url}/kmplz-class/published/resolve/main/trained_model.tar`;
      const image = await generator().generate(request({ weights: { step: 500, weightsUrl: other.weightsUrl, keptUrl: kept, publishedUrl: published } }));
      expect(emulator.predictions.get(image.predictionId)!.input.replicate_weights).toBe(kept);

      // Neither a copy (404) nor a version: the expired URL would fail the prediction after it was billed.
      const before = emulator.predictions.size;
      const failure = await generator()
        .generate(request({ weights: { step: 500, weightsUrl: other.weightsUrl, keptUrl: `${hub.url}/kmplz-class/gone/resolve/main/trained_model.tar` } }))
        .catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(UserError);
      expect(failure).toMatchObject({ code: 'weights-expired' });
      expect(emulator.predictions.size).toBe(before);
    } finally {
      await hub.close();
    }
  });

  it('tells NSFW failures apart', async () => {
    const failure = await generator().generate(request({ prompt: 'KMPLZ, nsfw' })).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ServiceError);
    expect((failure as ServiceError).failure).toBe('nsfw');
  });

  it('backs off after the client’s own retries on 429, and bills one prediction', async () => {
    const before = emulator.predictions.size;
    emulator.inject('predictions.create', { status: 429 }, 8);
    const image = await generator().generate(request());
    expect(image.data.length).toBeGreaterThan(0);
    expect(emulator.predictions.size).toBe(before + 1);
  });

  it('waits at least the backoff floor between the client’s burst of creates and its own retry, longer each time', async () => {
    // The client tries six times back to back per call; two calls throttled whole, the third served.
    const { client, sent } = recordingClient();
    const before = emulator.predictions.size;
    emulator.inject('predictions.create', { status: 429 }, 12);
    const baseMs = 100;
    await generator({ client, throttleRetry: { baseMs, maxMs: 1000, attempts: 3 } }).generate(request());
    expect(emulator.predictions.size).toBe(before + 1);
    const creates = sent.filter((r) => r.method === 'POST' && r.path === '/v1/predictions').map((r) => r.at);
    expect(creates).toHaveLength(13);
    // backoffDelay's floor is half its ceiling: ≥ baseMs/2 before the 2nd call, ≥ baseMs before the 3rd.
    // Only lower bounds: a loaded machine may wait longer, never shorter.
    expect(creates[6]! - creates[5]!).toBeGreaterThanOrEqual(baseMs / 2 - TIMER_SLACK_MS);
    expect(creates[12]! - creates[11]!).toBeGreaterThanOrEqual(baseMs - TIMER_SLACK_MS);
  });

  it('spaces its polls by a jittered backoff: each wait draws a random number and is at least its floor', async () => {
    const { client, sent } = recordingClient();
    let draws = 0;
    const random = () => {
      draws++;
      return 0;
    };
    const baseMs = 20;
    const image = await generator({ client, poll: { baseMs, maxMs: 80, random } }).generate(request({ steps: 30 }));
    const gets = sent.filter((r) => r.method === 'GET' && r.path === `/v1/predictions/${image.predictionId}`);
    expect(gets.length).toBeGreaterThan(0);
    expect(draws).toBe(gets.length);
    const create = sent.find((r) => r.method === 'POST' && r.path === '/v1/predictions')!;
    const starts = [create.at, ...gets.map((r) => r.at)];
    for (let attempt = 0; attempt < gets.length; attempt++) {
      // With random → 0 each wait is exactly its floor: half of min(maxMs, baseMs·2^attempt).
      expect(starts[attempt + 1]! - starts[attempt]!).toBeGreaterThanOrEqual(Math.min(80, baseMs * 2 ** attempt) / 2 - TIMER_SLACK_MS);
    }
  });

  it('does not pay twice when the answer to a create is lost: one prediction, reported as unavailable', async () => {
    const before = emulator.predictions.size;
    emulator.inject('predictions.create', { resetAfterHandling: true }, 1);
    const failure = await generator().generate(request()).catch((e: unknown) => e);
    expect((failure as ServiceError).failure).toBe('unavailable');
    expect(emulator.predictions.size).toBe(before + 1);
  });

  it('a takeover follows the recorded prediction, and finds an unrecorded one by its input: no second prediction either way', async () => {
    const created: string[] = [];
    const first = await generator().generate(request({ seed: 4242 }), { onCreated: async (id) => void created.push(id) });
    expect(created).toEqual([first.predictionId]);
    const before = emulator.predictions.size;
    const followed = await generator().generate(request({ seed: 4242 }), { follow: first.predictionId });
    const recovered: string[] = [];
    const found = await generator().generate(request({ seed: 4242 }), { recoverSince: Date.now() - 5_000, onCreated: async (id) => void recovered.push(id) });
    expect([followed.predictionId, found.predictionId]).toEqual([first.predictionId, first.predictionId]);
    expect(recovered).toEqual([first.predictionId]);
    expect(emulator.predictions.size).toBe(before);
    // Another seed is another picture: that one is created.
    const other = await generator().generate(request({ seed: 4243 }), { recoverSince: Date.now() - 5_000 });
    expect(other.predictionId).not.toBe(first.predictionId);
    expect(emulator.predictions.size).toBe(before + 1);
  });

  it('gives up on endless throttling with a "throttled" failure', async () => {
    // The client tries six times per call; the generator calls three times.
    emulator.inject('predictions.create', { status: 429 }, 18);
    const failure = await generator().generate(request()).catch((e: unknown) => e);
    expect((failure as ServiceError).failure).toBe('throttled');
  });

  it('cancels the prediction when the job is canceled, so it stops billing', async () => {
    const controller = new AbortController();
    const running = generator().generate(request({ steps: 100 }), {
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    const failure = await running.catch((e: unknown) => e);
    expect((failure as ServiceError).failure).toBe('canceled');
    const last = [...emulator.predictions.values()].at(-1)!;
    await emulator.settled(last.id);
    expect(emulator.predictions.get(last.id)!.status).toBe('canceled');
  });

  it('times out, cancelling the prediction', async () => {
    const before = new Set(emulator.predictions.keys());
    const failure = await generator({ timeoutMs: 1 }).generate(request({ steps: 100 })).catch((e: unknown) => e);
    expect((failure as ServiceError).failure).toBe('timeout');
    const made = [...emulator.predictions.keys()].filter((id) => !before.has(id));
    expect(made).toHaveLength(1);
    await emulator.settled(made[0]!);
    expect(emulator.predictions.get(made[0]!)!.status).toBe('canceled');
  });
});
