import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import Replicate, { type Prediction, parseProgressFromLogs, validateWebhook } from 'replicate';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { readTar, readZip } from './replicate/archive.js';
import { SDXL_MODEL, SDXL_VERSION } from './replicate/catalogue.js';
import { PALETTE, solidPng } from './replicate/images.js';
import { type ReplicateEmulator, startReplicateEmulator } from './replicate/index.js';

const DESTINATION = 'kmplz-tests/style';

let emulator: ReplicateEmulator;
let replicate: Replicate;

beforeAll(async () => {
  emulator = await startReplicateEmulator({ destinations: [DESTINATION] });
  replicate = new Replicate({ auth: emulator.token, baseUrl: emulator.baseUrl, useFileOutput: false });
});

afterAll(async () => {
  await emulator.close();
});

afterEach(() => {
  // Every test below speaks the API as specified unless it says otherwise (and then empties it).
  expect(emulator.specErrors).toEqual([]);
});

async function zip(files: Record<string, Buffer | string>): Promise<Buffer> {
  const archive = new yazl.ZipFile();
  for (const [name, data] of Object.entries(files)) archive.addBuffer(Buffer.from(data), name);
  archive.end();
  const chunks: Buffer[] = [];
  for await (const chunk of archive.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function poll<T extends { status: string }>(get: () => Promise<T>, until: (job: T) => boolean = terminal): Promise<T> {
  for (;;) {
    const job = await get();
    if (until(job)) return job;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function terminal(job: { status: string }): boolean {
  return ['succeeded', 'failed', 'canceled'].includes(job.status);
}

function lastProgress(logs: string): { current: number; total: number } | undefined {
  const matches = [...logs.matchAll(/(\d+)\/(\d+) \[/g)];
  const last = matches.at(-1);
  return last ? { current: Number(last[1]), total: Number(last[2]) } : undefined;
}

function statusOf(error: unknown): number | undefined {
  return (error as { response?: Response }).response?.status;
}

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver answering with the status `respond` picks for each body (200 by default). */
async function startReceiver(respond: (body: string) => number = () => 200) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, body });
      res.writeHead(respond(body)).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/replicate`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function hmacOk(secret: string, received: Received): boolean {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key)
    .update(`${received.headers['webhook-id']}.${received.headers['webhook-timestamp']}.${received.body}`)
    .digest('base64');
  return String(received.headers['webhook-signature'])
    .split(' ')
    .some((sig) => sig === `v1,${expected}`);
}

function libraryValidates(secret: string, received: Received): Promise<boolean> {
  return validateWebhook({
    id: String(received.headers['webhook-id']),
    timestamp: String(received.headers['webhook-timestamp']),
    signature: String(received.headers['webhook-signature']),
    body: received.body,
    secret,
  });
}

describe('Replicate emulator: files', () => {
  it('stores uploads, serves metadata and signed downloads, deletes', async () => {
    const bytes = Buffer.from('hello zip');
    const file = await replicate.files.create(new File([bytes], 'dataset.zip', { type: 'application/zip' }), { guild: '1' });
    expect(file.urls.get).toBe(`${emulator.baseUrl}/files/${file.id}`);
    expect(file).toMatchObject({ name: 'dataset.zip', content_type: 'application/zip', size: bytes.length, metadata: { guild: '1' } });
    expect(emulator.files.get(file.id)?.data.equals(bytes)).toBe(true);
    expect((await replicate.files.get(file.id)).checksums.sha256).toMatch(/^[0-9a-f]{64}$/);

    const download = await fetch(emulator.fileDownloadUrl(file.id));
    expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);

    expect(await replicate.files.delete(file.id)).toBe(true);
    await expect(replicate.files.get(file.id)).rejects.toSatisfy((e) => statusOf(e) === 404);
  });

  it('a plain Blob (not a File) is uploaded without an extension', async () => {
    const file = await replicate.files.create(new Blob([Buffer.from('x')]));
    expect(emulator.files.get(file.id)?.name).toMatch(/^blob_\d+$/);
  });
});

describe('Replicate emulator: predictions', () => {
  it('SDXL: predictions.create + wait gives real PNGs of the asked size that differ by seed', async () => {
    const input = { prompt: 'a cat', width: 512, height: 768, num_inference_steps: 20, guidance_scale: 7, seed: 1 };
    const first = await replicate.predictions.create({ version: SDXL_VERSION, input });
    expect(first.status).toBe('starting');
    expect(first.metrics).toBeUndefined();
    const done = await replicate.wait(first, { interval: 10 });
    expect(done).toMatchObject({ status: 'succeeded', model: SDXL_MODEL, version: SDXL_VERSION, error: null });
    expect(done.output).toHaveLength(1);
    expect(done.logs).toContain('Using seed: 1');
    expect(lastProgress(done.logs ?? '')).toEqual({ current: 20, total: 20 });
    // 20 steps × 0.1 s × (512·768/1024²) + 1 s overhead, plus nothing for the queue.
    expect(done.metrics?.predict_time).toBeCloseTo(1.75, 2);
    expect(done.metrics?.total_time).toBeCloseTo(2.75, 2);
    expect(Date.parse(done.completed_at ?? '') - Date.parse(done.started_at ?? '')).toBeCloseTo(1750, -1);

    const png = Buffer.from(await (await fetch(done.output[0])).arrayBuffer());
    expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 512, height: 768 });

    const again = await replicate.wait(await replicate.predictions.create({ version: SDXL_VERSION, input }), { interval: 10 });
    const other = await replicate.wait(await replicate.predictions.create({ version: SDXL_VERSION, input: { ...input, seed: 2 } }), {
      interval: 10,
    });
    expect(emulator.output(again.output[0])?.data.equals(png)).toBe(true);
    expect(emulator.output(other.output[0])?.data.equals(png)).toBe(false);
    expect(emulator.predictions.get(first.id)?.input).toEqual(input);

    const listed = await replicate.predictions.list();
    expect(listed.results.map((p) => p.id).slice(0, 3)).toEqual([other.id, again.id, first.id]);
  });

  it('run() with Prefer: wait returns the output in one request', async () => {
    const before = emulator.requests.length;
    const output = await replicate.run(emulator.refs.blip, {
      input: { image: `data:image/png;base64,${(await solidPng(64, 64, PALETTE.red)).toString('base64')}` },
    });
    expect(output).toBe('Caption: a drawing of a red square');
    const calls = emulator.requests.slice(before);
    expect(calls.map((r) => `${r.operationId} ${r.headers.prefer} ${r.status}`)).toEqual(['predictions.create wait 201']);
  });

  it('run() trap: a Prefer wait that runs out while processing returns null', async () => {
    const ref = emulator.addModel('tests/slow');
    emulator.onPrediction(ref, async (_input, ctl) => {
      await ctl.sleep(30);
      return 'late';
    });
    const output = await replicate.run(ref, { input: {}, wait: { mode: 'block', timeout: 3 } });
    expect(output).toBeNull();
    const created = [...emulator.predictions.values()].at(-1);
    expect(created?.status).toBe('processing');
    await replicate.predictions.cancel(created?.id ?? '');
  });

  it('models.predictions.create on an official model, with a custom handler logging and emitting', async () => {
    emulator.addModel('tests/official', { official: true });
    emulator.onPrediction('tests/official', async (input, ctl) => {
      ctl.log(`hello ${String(input.name)}`);
      await ctl.sleep(2);
      ctl.emit('a');
      await ctl.sleep(2);
      ctl.emit('b');
    });
    const created = await replicate.predictions.create({ model: 'tests/official', input: { name: 'Ada' } });
    const done = await replicate.wait(created, { interval: 10 });
    expect(done).toMatchObject({ status: 'succeeded', model: 'tests/official', output: ['a', 'b'], logs: 'hello Ada\n' });
    expect(done.metrics?.predict_time).toBe(4);

    // Non-official models need a version.
    await expect(replicate.predictions.create({ model: SDXL_MODEL, input: {} })).rejects.toSatisfy((e) => statusOf(e) === 404);
  });

  it('a failing prediction: NSFW prompt fails, run() throws, the error is the message', async () => {
    const created = await replicate.predictions.create({ version: SDXL_VERSION, input: { prompt: 'nsfw thing', num_inference_steps: 2 } });
    await expect(replicate.wait(created, { interval: 10 })).rejects.toThrow(
      'Prediction failed: NSFW content detected. Try running it again, or try a different prompt.',
    );
    const failed = await replicate.predictions.get(created.id);
    expect(failed.status).toBe('failed');
    expect(failed.logs).toContain('NSFW content detected in image 0');
    expect(failed.metrics?.predict_time).toBeGreaterThan(0);

    emulator.oncePrediction(SDXL_VERSION, () => {
      throw new Error('CUDA out of memory');
    });
    await expect(replicate.run(emulator.refs.sdxl, { input: { prompt: 'x' } })).rejects.toThrow(
      'Prediction failed: CUDA out of memory',
    );
  });

  it('rejects inputs outside the model schema with 422 and creates nothing', async () => {
    const count = emulator.predictions.size;
    const error = await replicate.predictions.create({ version: SDXL_VERSION, input: { prompt: 'x', guidance_scale: 0 } }).catch((e) => e);
    expect(statusOf(error)).toBe(422);
    expect(String(error.message)).toContain('input.guidance_scale: Must be greater than or equal to 1');
    expect(emulator.predictions.size).toBe(count);
  });

  it("validates like the model's schema: type, enum, range, format, required; unknown keys are dropped", async () => {
    const count = emulator.predictions.size;
    const refused = async (create: () => Promise<unknown>) => {
      const error = (await create().catch((e) => e)) as Error;
      expect(statusOf(error)).toBe(422);
      return JSON.parse(/\{.*\}/s.exec(error.message)?.[0] ?? '{}') as { title: string; invalid_fields: { type: string; field: string; description: string }[] };
    };
    const bad = await refused(() =>
      replicate.predictions.create({ version: SDXL_VERSION, input: { prompt: 'x', num_outputs: '2', scheduler: 'FAST', num_inference_steps: 501, image: 'not a url' } }),
    );
    expect(bad.title).toBe('Input validation failed');
    expect(bad.invalid_fields).toEqual(
      expect.arrayContaining([
        { type: 'invalid_type', field: 'input.num_outputs', description: 'Invalid type. Expected: integer, given: string' },
        {
          type: 'enum',
          field: 'input.scheduler',
          description: 'scheduler must be one of the following: "DDIM", "DPMSolverMultistep", "HeunDiscrete", "KarrasDPM", "K_EULER_ANCESTRAL", "K_EULER", "PNDM"',
        },
        { type: 'number_lte', field: 'input.num_inference_steps', description: 'Must be less than or equal to 500' },
        { type: 'format', field: 'input.image', description: "Does not match format 'uri'" },
      ]),
    );
    const training = await refused(() =>
      replicate.trainings.create('stability-ai', 'sdxl', SDXL_VERSION, { destination: DESTINATION, input: { lr_scheduler: 'cosine', resolution: 1024.5 } }),
    );
    expect(training.invalid_fields).toEqual(
      expect.arrayContaining([
        { type: 'required', field: 'input', description: 'input_images is required' },
        expect.objectContaining({ type: 'enum', field: 'input.lr_scheduler' }),
        { type: 'invalid_type', field: 'input.resolution', description: 'Invalid type. Expected: integer, given: number' },
      ]),
    );
    expect(emulator.predictions.size).toBe(count);
    // Cog strips inputs its predict() does not take; the API passes them on without a word.
    const done = await replicate.wait(await replicate.predictions.create({ version: SDXL_VERSION, input: { prompt: 'x', num_inference_steps: 2, lora_strength: 2 } }), { interval: 10 });
    expect(done.status).toBe('succeeded');
  });

  it('cancel: a slow prediction stops with status canceled and metrics', async () => {
    const ref = emulator.addModel('tests/forever');
    emulator.onPrediction(ref, async (_input, ctl) => {
      await ctl.sleep(3600);
    });
    const created = await replicate.predictions.create({ version: ref.split(':')[1] ?? '', input: {} });
    await poll(() => replicate.predictions.get(created.id), (p) => p.status === 'processing');
    const canceled = await replicate.predictions.cancel(created.id);
    expect(canceled.status).toBe('canceled');
    expect(canceled.metrics?.total_time).toBeGreaterThan(0);
    expect((await emulator.settled(created.id)).status).toBe('canceled');
    // Canceling again leaves it as it is.
    expect((await replicate.predictions.cancel(created.id)).status).toBe('canceled');
  });

  it('Cancel-After cancels a prediction that runs too long', async () => {
    const ref = emulator.addModel('tests/runaway');
    emulator.onPrediction(ref, (_input, ctl) => ctl.sleep(3600));
    const response = await replicate.request('/predictions', {
      method: 'POST',
      headers: { 'Cancel-After': '30s' },
      data: { version: ref.split(':')[1], input: {} },
    });
    const { id } = (await response.json()) as { id: string };
    expect((await emulator.settled(id)).status).toBe('canceled');
  });

  it('deleted outputs: data_removed, null output, output files 404', async () => {
    const done = await replicate.wait(await replicate.predictions.create({ version: SDXL_VERSION, input: { num_inference_steps: 2 } }), {
      interval: 10,
    });
    const url = done.output[0] as string;
    expect((await fetch(url)).status).toBe(200);
    emulator.removeData(done.id);
    expect(await replicate.predictions.get(done.id)).toMatchObject({ data_removed: true, output: null, input: {} });
    expect((await fetch(url)).status).toBe(404);
  });

  it('outputTtlSeconds removes outputs by itself; timing sets predict_time', async () => {
    const short = await startReplicateEmulator({ outputTtlSeconds: 300, timing: { sdxlSecondsPerStep: 0.5, sdxlOverheadSeconds: 0 } });
    try {
      const client = new Replicate({ auth: short.token, baseUrl: short.baseUrl, useFileOutput: false });
      const done = await client.wait(await client.predictions.create({ version: SDXL_VERSION, input: { num_inference_steps: 2 } }), {
        interval: 10,
      });
      expect(done.data_removed).toBe(false);
      expect(done.metrics?.predict_time).toBe(1); // 2 steps × 0.5 s, as configured.
      const removed = await poll(() => client.predictions.get(done.id), (p) => p.data_removed);
      expect(removed.output).toBeNull();
      expect(short.specErrors).toEqual([]);
    } finally {
      await short.close();
    }
  });
});

describe('Replicate emulator: faults and client retries', () => {
  it('429 on create: the client retries at once and one prediction is created', async () => {
    const before = emulator.requests.length;
    const count = emulator.predictions.size;
    emulator.inject('predictions.create', { status: 429, retryAfter: 1 }, 2);
    const started = performance.now();
    const created = await replicate.predictions.create({ version: SDXL_VERSION, input: { num_inference_steps: 2 } });
    expect(performance.now() - started).toBeLessThan(900); // Retry-After: 1 is ignored.
    const creates = emulator.requests.slice(before).filter((r) => r.operationId === 'predictions.create');
    expect(creates.map((r) => r.status)).toEqual([429, 429, 201]);
    expect(emulator.predictions.size).toBe(count + 1);
    await emulator.settled(created.id);
  });

  it('429 six times: the client gives up after six attempts with the throttle body', async () => {
    const before = emulator.requests.length;
    emulator.inject('predictions.create', { status: 429 }, 6);
    const error = await replicate.predictions.create({ version: SDXL_VERSION, input: {} }).catch((e) => e);
    expect(statusOf(error)).toBe(429);
    expect(String(error.message)).toContain('Request was throttled. Expected available in 1 second.');
    expect(emulator.requests.slice(before).length).toBe(6);
  });

  it('5xx: GETs are retried, POSTs are not', async () => {
    const done = [...emulator.predictions.values()].find((p) => p.status === 'succeeded');
    emulator.inject('predictions.get', { status: 502 }, 2);
    expect((await replicate.predictions.get(done?.id ?? '')).id).toBe(done?.id);

    const before = emulator.requests.length;
    emulator.inject('predictions.create', { status: 503 }, 1);
    const error = await replicate.predictions.create({ version: SDXL_VERSION, input: {} }).catch((e) => e);
    expect(statusOf(error)).toBe(503);
    expect(emulator.requests.slice(before).length).toBe(1);
  });

  it('a lost response to a create is retried by the client and bills twice', async () => {
    const count = emulator.predictions.size;
    emulator.inject(/^POST \/v1\/predictions$/, { resetAfterHandling: true });
    const created = await replicate.predictions.create({ version: SDXL_VERSION, input: { num_inference_steps: 2, prompt: 'twice' } });
    expect(emulator.predictions.size).toBe(count + 2);
    const twins = [...emulator.predictions.values()].filter((p) => p.input.prompt === 'twice');
    expect(twins).toHaveLength(2);
    await Promise.all(twins.map((p) => emulator.settled(p.id)));
    expect(created.id).toBe(twins[1]?.id);
  });
});

describe('Replicate emulator: spec checks', () => {
  it('a create without version lands in specErrors and gets 422', async () => {
    const error = await replicate.request('/predictions', { method: 'POST', data: { input: { prompt: 'x' } } }).catch((e) => e);
    expect(statusOf(error)).toBe(422);
    expect(emulator.specErrors.some((e) => e.includes('POST /predictions') && e.includes('version'))).toBe(true);
    emulator.specErrors.length = 0;
  });

  it('unknown routes and a wrong token', async () => {
    await expect(replicate.request('/nope', { method: 'GET' })).rejects.toSatisfy((e) => statusOf(e) === 404);
    expect(emulator.specErrors).toEqual(['unknown route: GET /nope']);
    emulator.specErrors.length = 0;

    const stranger = new Replicate({ auth: 'r8_wrong', baseUrl: emulator.baseUrl });
    const error = await stranger.accounts.current().catch((e) => e);
    expect(statusOf(error)).toBe(401);
    // The client has read the body already: it is quoted in the message.
    expect(String(error.message)).toContain('"detail":"You did not pass a valid authentication token","status":401');
  });

  it('account, model and version lookups', async () => {
    expect(await replicate.accounts.current()).toMatchObject({ type: 'user', username: 'kmplz-tests' });
    const model = await replicate.models.get('stability-ai', 'sdxl');
    expect(model.latest_version?.id).toBe(SDXL_VERSION);
    const version = await replicate.models.versions.get('stability-ai', 'sdxl', SDXL_VERSION);
    const schema = version.openapi_schema as { components: { schemas: Record<string, { properties?: object; type?: string }> } };
    expect(schema.components.schemas.Input?.properties).toHaveProperty('replicate_weights');
    expect(schema.components.schemas.Output).toMatchObject({ type: 'array', items: { type: 'string', format: 'uri' } });
    expect(schema.components.schemas.TrainingInput?.properties).toHaveProperty('input_images_filetype');
    expect(schema.components.schemas.TrainingOutput?.properties).toHaveProperty('weights');
    const blip = await replicate.models.versions.get('salesforce', 'blip', emulator.refs.blip.split(':')[1] ?? '');
    expect((blip.openapi_schema as typeof schema).components.schemas.Output).toMatchObject({ type: 'string' });
    const streaming = await replicate.models.versions.get('kmplz-emulator', 'sdxl-lora-streaming', emulator.refs.streamingTrainer.split(':')[1] ?? '');
    expect((streaming.openapi_schema as typeof schema).components.schemas.Output).toMatchObject({ type: 'array', 'x-cog-array-type': 'iterator' });
  });
});

describe('Replicate emulator: trainings', () => {
  async function uploadDataset(files: Record<string, Buffer | string>) {
    return replicate.files.create(new File([await zip(files)], 'dataset.zip', { type: 'application/zip' }));
  }

  it('cog-sdxl training: progress in the logs, caption.csv used, weights and version usable', async () => {
    const red = await solidPng(96, 96, PALETTE.red);
    const blue = await solidPng(96, 64, PALETTE.blue);
    const csv = 'caption,image_file\n"a KMPLZ drawing, red",0001.png\na KMPLZ drawing of blue,0002.png\n';
    const file = await uploadDataset({ 'images/0001.png': red, 'images/0002.png': blue, 'caption.csv': csv, 'notes.txt': 'x' });

    const created = await replicate.trainings.create('stability-ai', 'sdxl', SDXL_VERSION, {
      destination: DESTINATION,
      input: { input_images: file.urls.get, input_images_filetype: 'zip', token_string: 'KMPLZ', max_train_steps: 1000, lr_scheduler: 'constant', seed: 7 },
    });
    expect(created.status).toBe('starting');

    const seen: number[] = [];
    const done = await poll(
      () => replicate.trainings.get(created.id),
      (t) => {
        const progress = lastProgress(t.logs ?? '');
        if (progress) seen.push(progress.current);
        return terminal(t);
      },
    );
    expect(done.status).toBe('succeeded');
    expect(seen.at(-1)).toBe(1000);
    expect(seen.some((n) => n > 0 && n < 1000)).toBe(true);
    // Trap: cog-sdxl's bar has a description, so the library's parser finds nothing.
    expect(parseProgressFromLogs(done.logs ?? '')).toBeNull();
    expect(done.logs).toContain('\r# PTI :step: 999, epoch: 999: 100%|██████████| 1000/1000 [07:30<00:00,  2.22it/s]\n');
    // 2 images × 2 s preprocessing + 1000 × 0.45 s.
    expect(done.metrics?.predict_time).toBeCloseTo(454, 3);

    const record = emulator.trainings.get(created.id);
    const entries = await readZip(record?.archive ?? Buffer.alloc(0));
    expect(entries.find((e) => e.name === 'caption.csv')?.data.toString()).toBe(csv);
    expect(record?.dataset).toEqual({
      images: ['0001.png', '0002.png'],
      captions: ['a KMPLZ drawing, red', 'a KMPLZ drawing of blue'],
      captionCsv: 'caption.csv',
      csvImageFiles: ['0001.png', '0002.png'],
      ignored: ['notes.txt'],
      resolution: 768,
    });

    const output = done.output as { version: string; weights: string };
    expect(output.version).toMatch(new RegExp(`^${DESTINATION}:[0-9a-f]{64}$`));
    const tar = readTar(Buffer.from(await (await fetch(output.weights)).arrayBuffer()));
    expect(tar.map((e) => e.name)).toEqual(['lora.safetensors', 'embeddings.pti', 'special_params.json']);

    // Generating with the weights swaps the token for the learned embeddings.
    const withWeights = await replicate.wait(
      await replicate.predictions.create({
        version: SDXL_VERSION,
        input: { prompt: 'a KMPLZ cat', replicate_weights: output.weights, num_inference_steps: 2, seed: 3 },
      }),
      { interval: 10 },
    );
    expect(withWeights.logs).toContain('Prompt: a <s0><s1> cat');

    // Once the weights URL expired, it fails; the trained version still works.
    emulator.removeData(created.id);
    expect((await fetch(output.weights)).status).toBe(404);
    await expect(
      replicate.run(emulator.refs.sdxl, {
        input: { prompt: 'a KMPLZ cat', replicate_weights: output.weights },
      }),
    ).rejects.toThrow('404');
    const [, trainedVersion = ''] = output.version.split(':');
    const viaVersion = await replicate.wait(
      await replicate.predictions.create({ version: trainedVersion, input: { prompt: 'a KMPLZ cat', num_inference_steps: 2, seed: 3 } }),
      { interval: 10 },
    );
    expect(viaVersion.logs).toContain('Prompt: a <s0><s1> cat');
    expect(emulator.output(viaVersion.output[0])?.data.equals(emulator.output(withWeights.output[0])?.data ?? Buffer.alloc(0))).toBe(true);
  });

  it("kmplz's streaming trainer is a prediction whose output grows by one weights URL per checkpoint", async () => {
    const file = await uploadDataset({ 'a.png': await solidPng(32, 32, PALETTE.green) });
    const version = emulator.refs.streamingTrainer.split(':')[1] ?? '';
    const created = await replicate.predictions.create({
      version,
      input: { input_images: file.urls.get, token_string: 'KMPLZ', max_train_steps: 1000, checkpointing_steps: 250 },
    });
    const lengths = new Set<number>();
    const done = await poll(
      () => replicate.predictions.get(created.id),
      (t) => {
        lengths.add(Array.isArray(t.output) ? t.output.length : 0);
        return terminal(t);
      },
    );
    expect(done.status).toBe('succeeded');
    expect(done.logs).toContain('steps: 100%|██████████| 1000/1000 [');
    expect(emulator.predictions.get(created.id)?.dataset?.resolution).toBe(1024);
    const urls = done.output as unknown as string[];
    expect(urls.map((u) => u.split('/').at(-1))).toEqual(['checkpoint-250.tar', 'checkpoint-500.tar', 'checkpoint-750.tar', 'checkpoint-1000.tar']);
    expect([...lengths].some((n) => n > 0 && n < 4)).toBe(true);
    // Each checkpoint is usable as replicate_weights.
    const preview = await replicate.wait(
      await replicate.predictions.create({
        version: SDXL_VERSION,
        input: { prompt: 'KMPLZ', replicate_weights: urls[0], num_inference_steps: 2 },
      }),
      { interval: 10 },
    );
    expect(preview.status).toBe('succeeded');
    // It is no trainer in Replicate's sense: its version has no TrainingInput.
    const error = await replicate.trainings
      .create('kmplz-emulator', 'sdxl-lora-streaming', version, { destination: DESTINATION, input: { input_images: file.urls.get } })
      .catch((e) => e);
    expect(statusOf(error)).toBe(422);
  });

  it('cog-sdxl trains whole epochs: its bar counts max_train_steps and runs past it, pivoting halfway', async () => {
    const images = Object.fromEntries(await Promise.all([1, 2, 3, 4, 5].map(async (i) => [`${i}.png`, await solidPng(32, 32, PALETTE.green)] as const)));
    const file = await uploadDataset(images);
    const created = await replicate.trainings.create('stability-ai', 'sdxl', SDXL_VERSION, {
      destination: DESTINATION,
      // 5 images at batch 4: 2 steps an epoch, so 5 steps need 3 epochs, which are 6 steps.
      input: { input_images: file.urls.get, input_images_filetype: 'zip', max_train_steps: 5 },
    });
    const done = await poll(() => replicate.trainings.get(created.id));
    expect(done.status).toBe('succeeded');
    expect(emulator.trainings.get(created.id)?.stepsRun).toBe(6);
    expect(done.logs).toContain('# PTI :  Num Epochs = 3\n');
    expect(done.logs).toContain('# PTI :  Pivot halfway\n');
    expect(done.logs).toContain('| 5/5 [');
    expect(done.logs).toMatch(/\r# PTI :step: 5, epoch: 2: 6it \[\d\d:\d\d, /);
    expect(emulator.trainings.get(created.id)?.dataset?.resolution).toBe(768);
  });

  it('cog-sdxl failures: caption count mismatch, input not uploaded here, unknown destination', async () => {
    const file = await uploadDataset({
      'a.png': await solidPng(32, 32, PALETTE.green),
      'caption.csv': 'caption,image_file\nKMPLZ one,a.png\nKMPLZ two,b.png\n',
    });
    const mismatch = await replicate.trainings.create('stability-ai', 'sdxl', SDXL_VERSION, {
      destination: DESTINATION,
      input: { input_images: file.urls.get, input_images_filetype: 'zip' },
    });
    const failed = await poll(() => replicate.trainings.get(mismatch.id));
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain('Not the same number of captions as images!');

    const foreign = await replicate.trainings.create('stability-ai', 'sdxl', SDXL_VERSION, {
      destination: DESTINATION,
      input: { input_images: 'https://cdn.discordapp.com/attachments/1/2/dataset.zip' },
    });
    expect((await poll(() => replicate.trainings.get(foreign.id))).error).toContain('POST /files');

    const error = await replicate.trainings
      .create('stability-ai', 'sdxl', SDXL_VERSION, { destination: 'someone/else', input: { input_images: file.urls.get } })
      .catch((e) => e);
    expect(statusOf(error)).toBe(404);

    // The Files API URL has no suffix, whatever the upload's name: cog-sdxl, which infers the
    // archive type from the downloaded file's name, cannot tell it is a zip unless told.
    const named = await uploadDataset({ 'a.png': await solidPng(32, 32, PALETTE.green) });
    expect((named as { name?: string }).name).toBe('dataset.zip');
    expect(new URL(named.urls.get).pathname).toMatch(/^\/v1\/files\/[a-z2-7]+$/);
    const untyped = await replicate.trainings.create('stability-ai', 'sdxl', SDXL_VERSION, {
      destination: DESTINATION,
      input: { input_images: named.urls.get, max_train_steps: 10 },
    });
    expect((await poll(() => replicate.trainings.get(untyped.id))).error).toBe('AssertionError: input_images_filetype must be zip or tar');
    // `tar` on a URL without `.tar` trips preprocess.py's second assert.
    const tar = await replicate.trainings.create('stability-ai', 'sdxl', SDXL_VERSION, {
      destination: DESTINATION,
      input: { input_images: named.urls.get, max_train_steps: 10, input_images_filetype: 'tar' },
    });
    expect((await poll(() => replicate.trainings.get(tar.id))).error).toBe('AssertionError: files must be a tar file if not zip');
    const typed = await replicate.trainings.create('stability-ai', 'sdxl', SDXL_VERSION, {
      destination: DESTINATION,
      input: { input_images: named.urls.get, max_train_steps: 10, input_images_filetype: 'zip' },
    });
    expect((await poll(() => replicate.trainings.get(typed.id))).status).toBe('succeeded');
  });

  it('cancel a training', async () => {
    const file = await uploadDataset({ 'a.png': await solidPng(32, 32, PALETTE.green) });
    const created = await replicate.trainings.create('stability-ai', 'sdxl', SDXL_VERSION, {
      destination: DESTINATION,
      input: { input_images: file.urls.get, input_images_filetype: 'zip', max_train_steps: 100000 },
    });
    // replicate.wait() polls /predictions/{id}: the emulator does not serve trainings there.
    await expect(replicate.wait(created as unknown as Prediction, { interval: 10 })).rejects.toSatisfy((e) => statusOf(e) === 404);
    await poll(() => replicate.trainings.get(created.id), (t) => (lastProgress(t.logs ?? '')?.current ?? 0) > 0);
    expect((await replicate.trainings.cancel(created.id)).status).toBe('canceled');
    expect((await replicate.trainings.list()).results[0]).toMatchObject({ id: created.id, status: 'canceled' });
  });
});

describe('Replicate emulator: webhooks', () => {
  it('signed deliveries for start, logs, output and completed; retried completed; controls', async () => {
    let failedOnce = false;
    const receiver = await startReceiver((body) => {
      if (failedOnce || JSON.parse(body).status !== 'succeeded') return 200;
      failedOnce = true;
      return 500;
    });
    try {
      const { key: secret } = await replicate.webhooks.default.secret.get();
      expect(secret).toBe(emulator.webhookSecret);
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);

      const created = await replicate.predictions.create({
        version: SDXL_VERSION,
        input: { prompt: 'hook', num_inference_steps: 10 },
        webhook: receiver.url,
        webhook_events_filter: ['start', 'logs', 'output', 'completed'],
      });
      await emulator.settled(created.id);
      await emulator.webhooksIdle();

      const bodies = receiver.received.map((r) => JSON.parse(r.body) as { id: string; status: string });
      expect(bodies.every((b) => b.id === created.id)).toBe(true);
      expect(bodies[0]?.status).toBe('starting');
      expect(bodies.at(-1)?.status).toBe('succeeded');
      // The first `completed` answer was a 500: it came again with the same webhook-id.
      const completed = receiver.received.filter((r) => JSON.parse(r.body).status === 'succeeded');
      expect(completed).toHaveLength(2);
      expect(completed[0]?.headers['webhook-id']).toBe(completed[1]?.headers['webhook-id']);
      for (const received of receiver.received) {
        expect(hmacOk(secret, received)).toBe(true);
        expect(await libraryValidates(secret, received)).toBe(true);
      }
      const events = emulator.webhookDeliveries.filter((d) => d.jobId === created.id).map((d) => d.event);
      expect(events[0]).toBe('start');
      expect(events).toContain('logs');
      expect(events.at(-1)).toBe('completed');

      // Controls: duplicate, bad signature, stale timestamp.
      const last = emulator.webhookDeliveries.filter((d) => d.jobId === created.id).at(-1);
      const count = receiver.received.length;
      await emulator.redeliverWebhook(last?.id ?? '');
      await emulator.redeliverWebhook(last?.id ?? '', { badSignature: true });
      await emulator.redeliverWebhook(last?.id ?? '', { timestampOffsetSeconds: -600 });
      const [duplicate, forged, stale] = receiver.received.slice(count) as [Received, Received, Received];
      expect(duplicate.headers['webhook-id']).toBe(last?.id);
      expect(await libraryValidates(secret, duplicate)).toBe(true);
      expect(await libraryValidates(secret, forged)).toBe(false);
      expect(hmacOk(secret, forged)).toBe(false);
      // Trap: validateWebhook does not look at the timestamp; the receiver must.
      expect(await libraryValidates(secret, stale)).toBe(true);
      expect(Date.now() / 1000 - Number(stale.headers['webhook-timestamp'])).toBeGreaterThan(590);
    } finally {
      await receiver.close();
    }
  });

  /** A model that logs three lines at once, then yields two outputs 2 s apart. */
  function chattyModel(): string {
    const ref = emulator.addModel(`tests/chatty-${emulator.predictions.size}`);
    emulator.onPrediction(ref, async (_input, ctl) => {
      ctl.log('a');
      ctl.log('b');
      ctl.log('c');
      await ctl.sleep(2);
      ctl.emit('x');
      await ctl.sleep(2);
      ctl.emit('y');
      await ctl.sleep(2);
    });
    return ref.split(':')[1] ?? '';
  }

  async function deliveriesFor(version: string, webhook: string, filter?: ('start' | 'output' | 'logs' | 'completed')[]) {
    const created = await replicate.predictions.create({
      version,
      input: {},
      webhook,
      ...(filter ? { webhook_events_filter: filter } : {}),
    });
    await emulator.settled(created.id);
    await emulator.webhooksIdle();
    return emulator.webhookDeliveries.filter((d) => d.jobId === created.id);
  }

  it('logs and output are throttled to one per 500 ms, the trailing one carrying the latest state', async () => {
    const receiver = await startReceiver();
    try {
      const deliveries = await deliveriesFor(chattyModel(), receiver.url, ['logs', 'output', 'completed']);
      expect(deliveries.map((d) => d.event)).toEqual(['logs', 'logs', 'output', 'output', 'completed']);
      const bodies = deliveries.map((d) => JSON.parse(d.body) as { logs: string; output: unknown });
      expect(bodies[0]?.logs).toBe('a\n');
      expect(bodies[1]?.logs).toBe('a\nb\nc\n');
      expect(bodies[2]?.output).toEqual(['x']);
      expect(bodies[3]?.output).toEqual(['x', 'y']);
      expect(receiver.received).toHaveLength(5);
    } finally {
      await receiver.close();
    }
  });

  it('without a filter only output and completed are sent', async () => {
    const receiver = await startReceiver();
    try {
      const deliveries = await deliveriesFor(chattyModel(), receiver.url);
      expect(deliveries.map((d) => d.event)).toEqual(['output', 'output', 'completed']);
    } finally {
      await receiver.close();
    }
  });
});
