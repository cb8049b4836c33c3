import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CogEmulator } from './cog/index.js';

const servers: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function hooks() {
  const received: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

const put = (base: string, id: string, body: unknown, async = true) =>
  fetch(`${base}/predictions/${id}`, { method: 'PUT', headers: { 'content-type': 'application/json', ...(async ? { prefer: 'respond-async' } : {}) }, body: JSON.stringify(body) });

describe('Cog server emulator (coglet routes.rs)', () => {
  it('is STARTING during setup (PUT answers 503), then READY; BUSY while one prediction runs and 409 for another id', async () => {
    const cog = await CogEmulator.start({ model: 'blip', setupSeconds: 200, timing: { blipSeconds: 500 } });
    servers.push(cog);
    const health = async () => ((await (await fetch(`${cog.url}/health-check`)).json()) as { status: string }).status;
    expect(await health()).toBe('STARTING');
    const image = `data:image/png;base64,${Buffer.from('x').toString('base64')}`;
    expect((await put(cog.url, 'a', { input: { image } })).status).toBe(503);
    await new Promise((r) => setTimeout(r, 300));
    expect(await health()).toBe('READY');
    const first = await put(cog.url, 'a', { input: { image } });
    expect(first.status).toBe(202);
    expect(await first.json()).toEqual({ id: 'a', status: 'starting' });
    expect(await health()).toBe('BUSY');
    const again = await put(cog.url, 'a', { input: {} });
    expect(again.status).toBe(202);
    expect(await again.json()).toMatchObject({ id: 'a', status: 'processing', input: { image } });
    expect((await put(cog.url, 'b', { input: { image } })).status).toBe(409);
    expect((await fetch(`${cog.url}/predictions/a`)).status).toBe(405);
    expect((await fetch(`${cog.url}/predictions/a/cancel`, { method: 'POST' })).status).toBe(200);
    expect((await fetch(`${cog.url}/predictions/zzz/cancel`, { method: 'POST' })).status).toBe(404);
  });

  it('refuses a bad input with 422 before taking the slot, and strips unknown keys', async () => {
    const cog = await CogEmulator.start({ model: 'trainer' });
    servers.push(cog);
    const response = await put(cog.url, 'x', { input: { nonsense: 1 } });
    expect(response.status).toBe(422);
    expect(((await response.json()) as { detail: { loc: string[] }[] }).detail[0]!.loc.slice(0, 2)).toEqual(['body', 'input']);
    expect(cog.busy).toBe(false);
  });

  it('sends start, then completed with a data URI output and predict_time; a canceled run ends canceled', async () => {
    const { url, received } = await hooks();
    const cog = await CogEmulator.start({ model: 'sdxl' });
    servers.push(cog);
    expect((await put(cog.url, 'p1', { input: { prompt: 'a cat', width: 64, height: 64, num_inference_steps: 2 }, webhook: url })).status).toBe(202);
    await expect.poll(() => received.at(-1)?.status, { timeout: 5000 }).toBe('succeeded');
    expect(received[0]).toMatchObject({ id: 'p1', status: 'processing' });
    const done = received.at(-1)!;
    expect((done.output as string[])[0]).toMatch(/^data:image\/png;base64,/);
    expect(done).not.toHaveProperty('input');
    expect((done.metrics as { predict_time: number }).predict_time).toBeGreaterThan(0);
  });

  it('uploads file outputs to --upload-url and returns the Location; a restart loses the run with no completed webhook', async () => {
    const uploads: string[] = [];
    const store = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        uploads.push(req.url ?? '');
        res.writeHead(201, { location: `http://files.example/${uploads.length}?sig=1` }).end();
      });
    });
    await new Promise<void>((r) => store.listen(0, '127.0.0.1', r));
    servers.push({ close: () => new Promise<void>((r) => store.close(() => r())) });
    const { url, received } = await hooks();
    const cog = await CogEmulator.start({ model: 'sdxl', uploadUrl: `http://127.0.0.1:${(store.address() as AddressInfo).port}/up` });
    servers.push(cog);
    await put(cog.url, 'u1', { input: { prompt: 'a cat', width: 64, height: 64, num_inference_steps: 2 }, webhook: url });
    await expect.poll(() => received.at(-1)?.status, { timeout: 5000 }).toBe('succeeded');
    expect(uploads).toEqual(['/up/out-0.png']);
    expect(received.at(-1)!.output).toEqual(['http://files.example/1']);

    const lost = await CogEmulator.start({ model: 'sdxl', uploadUrl: 'http://127.0.0.1:9/nowhere/' });
    servers.push(lost);
    const hook3 = await hooks();
    await put(lost.url, 'u2', { input: { prompt: 'a cat', width: 64, height: 64, num_inference_steps: 2 }, webhook: hook3.url });
    await expect.poll(() => hook3.received.at(-1)?.status, { timeout: 5000 }).toBe('failed');
    expect(hook3.received.at(-1)!.error).toMatch(/^Failed to upload output: upload request failed/);

    const slow = await CogEmulator.start({ model: 'blip', timing: { blipSeconds: 1000 } });
    servers.push(slow);
    const hook2 = await hooks();
    await put(slow.url, 'r1', { input: { image: 'data:image/png;base64,eA==' }, webhook: hook2.url });
    slow.restart();
    await new Promise((r) => setTimeout(r, 100));
    expect(hook2.received.map((b) => b.status)).not.toContain('failed');
    expect(hook2.received.map((b) => b.status)).not.toContain('succeeded');
    expect(slow.busy).toBe(false);
  });
});
