import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CogEmulator } from '../emulators/cog/index.js';
import { startDiscordEmulator, type DiscordEmulator } from '../emulators/discord/index.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { freePort, TRAINER_ROLE } from '../training/e2e-helpers.js';

/**
 * kmplz driving the REAL Cog server: cog 0.23's `python -m cog.server.http` (coglet) serving the
 * trainer's own predictor (trainer/predict.py) on a tiny random SDXL on CPU, with `--upload-url`
 * pointing at kmplz and `WEBHOOK_AUTH_TOKEN` set. The generator and captioner stay emulated (no
 * cog-sdxl or BLIP runs on this CPU). It drives kmplz's Cog trainer adapter inside the running bot
 * (its HTTP server takes the webhooks and uploads) rather than `/train`: `/train` trains at
 * 1024² (the dataset's squares), and the tiny model on one CPU thread did not get through the VAE
 * encoding of two 1024² images within four minutes here, while 64² trains 100 steps in about 7 s.
 * Needs the trainer's venv (trainer/requirements-test.txt):
 * KMPLZ_TRAINER_VENV, else trainer/.venv. Skipped without it, except under CI=true.
 *
 * coglet reads the schema from `.cog/openapi_schema.json`, which the Go `cog build` writes; no
 * Python code makes it, so the server runs from a folder holding the predictor and the schema
 * kmplz's tests already follow for this model (tests/emulators/replicate/schemas).
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const VENV = process.env.KMPLZ_TRAINER_VENV ?? path.join(ROOT, 'trainer/.venv');
const PYTHON = path.join(VENV, 'bin/python');
const available = existsSync(PYTHON);
if (!available && process.env.CI === 'true') throw new Error(`the real Cog server test needs the trainer's venv at ${VENV} (trainer/requirements-test.txt)`);
const TOKEN = 'cog-real-token-0123456789';

let discord: DiscordEmulator;
let generator: CogEmulator;
let bot: TestBot;
let cog: ChildProcess | undefined;
let work: string;
let cogUrl: string;
let cogLog = '';
let port: number;
let datasetZip: string;

async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(`${url}/health-check`).then(async (r) => ((await r.json()) as { status: string }).status).catch(() => undefined);
    if (status === 'READY') return;
    if (Date.now() > deadline) throw new Error(`the real Cog server did not become READY (last: ${status}); its log:\n${cogLog.slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

describe.skipIf(!available)(`the real Cog server (cog 0.23, ${available ? 'trainer venv found' : `skipped: no trainer venv at ${VENV}`})`, { timeout: 240_000 }, () => {
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'kmplz-cog-real-'));
    const env = { ...process.env, OMP_NUM_THREADS: '1', PATH: `${path.join(VENV, 'bin')}:${process.env.PATH}` };
    const built = spawnSync(PYTHON, ['-c', `import sys; sys.path[:0]=[${JSON.stringify(path.join(ROOT, 'trainer/tests'))}]\nfrom pathlib import Path\nfrom tiny_sdxl import build_tiny_sdxl\nprint(build_tiny_sdxl(Path(${JSON.stringify(work)})))`], { env, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`could not build the tiny SDXL: ${built.stderr}`);
    const tiny = built.stdout.trim().split('\n').at(-1)!;
    const server = path.join(work, 'server');
    await mkdir(path.join(server, '.cog'), { recursive: true });
    await symlink(path.join(ROOT, 'trainer/predict.py'), path.join(server, 'predict.py'));
    await symlink(path.join(ROOT, 'trainer/kmplz_trainer'), path.join(server, 'kmplz_trainer'));
    const fixture = JSON.parse(await readFile(path.join(ROOT, 'tests/emulators/replicate/schemas/kmplz-streaming-trainer.json'), 'utf8')) as { openapi_schema: unknown };
    await writeFile(path.join(server, '.cog/openapi_schema.json'), JSON.stringify(fixture.openapi_schema));

    port = await freePort();
    datasetZip = path.join(work, 'dataset.zip');
    const zipped = spawnSync(PYTHON, ['-c', `import sys; sys.path[:0]=[${JSON.stringify(path.join(ROOT, 'trainer/tests'))}]\nfrom pathlib import Path\nfrom tiny_sdxl import dataset_zip\ndataset_zip(Path(${JSON.stringify(datasetZip)}), 'KMPLZ')`], { env, encoding: 'utf8' });
    if (zipped.status !== 0) throw new Error(`could not write the tiny dataset: ${zipped.stderr}`);
    const cogPort = await freePort();
    cogUrl = `http://127.0.0.1:${cogPort}`;
    cog = spawn(PYTHON, ['-m', 'cog.server.http', '--host', '127.0.0.1', '--upload-url', `http://127.0.0.1:${port}/cog/uploads/${TOKEN}/`], {
      cwd: server,
      env: { ...env, PORT: String(cogPort), COG_PREDICT_TYPE_STUB: 'predict.py:Predictor', KMPLZ_BASE_MODEL: tiny, KMPLZ_BASE_MODEL_CACHE: path.join(work, 'cache'), WEBHOOK_AUTH_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cog.stdout!.on('data', (d: Buffer) => (cogLog += d.toString()));
    cog.stderr!.on('data', (d: Buffer) => (cogLog += d.toString()));
    await waitReady(cogUrl, 120_000);

    discord = await startDiscordEmulator({ guilds: [{ roles: [{ id: TRAINER_ROLE, name: 'Trainer' }] }] });
    generator = await CogEmulator.start({ model: 'sdxl', webhookAuthToken: TOKEN });
    bot = await startTestBot(
      { discord },
      {
        env: { GPU_BACKEND: 'cog', COG_GENERATOR_URL: generator.url, COG_TRAINER_URL: cogUrl, CAPTION_BACKEND: 'hf', HF_TOKEN: 'hf_unused', HF_CAPTION_ENDPOINT: 'http://127.0.0.1:9', COG_WEBHOOK_TOKEN: TOKEN, HTTP_PORT: String(port), TRAINER_ROLE_ID: TRAINER_ROLE },
        deps: { training: { poll: { baseMs: 50, maxMs: 200 }, statusEditIntervalMs: 50 } },
      },
    );
  }, 240_000);

  afterAll(async () => {
    await bot?.stop();
    await generator?.close();
    await discord?.close();
    cog?.kill('SIGINT');
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('the Cog trainer adapter runs a streaming training on the real server: PUT respond-async, bearer webhooks, checkpoints uploaded to kmplz, drawn by the generator', async () => {
    const { trainer, generator: draw } = bot.app.context.services;
    const zip = await readFile(datasetZip);
    const dataset = await trainer.uploadDataset(zip, 'kmplz-real.zip');
    const started = await trainer.start({ datasetUrl: dataset.url, triggerWord: 'KMPLZ', run: { steps: 100, checkpointSteps: [50, 100] }, seed: 1, resolution: 64 });
    let snapshot = started;
    const deadline = Date.now() + 200_000;
    while (snapshot.status !== 'succeeded' && snapshot.status !== 'failed' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      snapshot = await trainer.get(started.id);
    }
    expect(snapshot, cogLog.slice(-3000)).toMatchObject({ status: 'succeeded', steps: 100 });
    expect(snapshot.gpuSeconds).toBeGreaterThan(0);
    expect(snapshot.weights).toHaveLength(2);
    for (const { url } of snapshot.weights) expect(url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/cog/files/[0-9a-f]{32}-.+\\.tar$`));
    // A real archive in cog-sdxl's format, which the (emulated) generator loads as replicate_weights.
    const image = await draw.generate({ prompt: 'KMPLZ, a cat', steps: 2, guidance: 5, strength: 0.8, width: 64, height: 64, seed: 3, weights: { step: 100, weightsUrl: snapshot.weights[1]!.url } });
    expect(image.data.length).toBeGreaterThan(0);
    expect(generator.history.at(-1)!.input.replicate_weights).toBe(snapshot.weights[1]!.url);
    // The real server has no GET for a prediction (kmplz never polls it), and forgets a finished one.
    expect((await fetch(`${cogUrl}/predictions/${started.id}`)).status).toBe(405);
    expect((await fetch(`${cogUrl}/predictions/${started.id}/cancel`, { method: 'POST' })).status).toBe(404);
  });
});
