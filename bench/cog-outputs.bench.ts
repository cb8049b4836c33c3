/**
 * What a 100 MB checkpoint archive costs kmplz as a Cog file output, either way Cog can return it
 * (docs/services.md "Own GPU: Cog"): as a data URI inside the webhook JSON (Cog's default), or
 * uploaded to kmplz's own upload route (`--upload-url`) with the webhook carrying its URL. Run:
 *   npx tsx bench/cog-outputs.bench.ts
 * One archive only: with data URIs each `output` webhook carries the whole output array, so the
 * n-th checkpoint's webhook is n times this (a 4-checkpoint run's `completed` ≈ 533 MB of JSON).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cogUploadRoute } from '../src/http/cog-routes.js';
import { HttpServer } from '../src/http/server.js';
import { createLogger } from '../src/log.js';
import { CogFiles } from '../src/services/cog/files.js';

const MB = 1024 * 1024;
const archive = randomBytes(100 * MB);
const rss = () => Math.round(process.memoryUsage().rss / MB);

async function dataUri(): Promise<Record<string, number>> {
  const start = performance.now();
  // What the Cog server sends and kmplz reads: JSON with the base64 data URI, parsed and decoded.
  const body = JSON.stringify({ id: 'x', status: 'processing', output: [`data:application/x-tar;base64,${archive.toString('base64')}`] });
  const parsed = JSON.parse(body) as { output: string[] };
  const bytes = Buffer.from(parsed.output[0]!.slice(parsed.output[0]!.indexOf(',') + 1), 'base64');
  return { ms: Math.round(performance.now() - start), webhookMB: Math.round(Buffer.byteLength(body) / MB), decodedMB: Math.round(bytes.length / MB), rssMB: rss() };
}

async function upload(): Promise<Record<string, number>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kmplz-bench-'));
  const log = createLogger({ level: 'silent', secrets: [] });
  const server = new HttpServer([cogUploadRoute({ files: new CogFiles(dir, 'http://127.0.0.1'), token: 'benchtokenbenchtoken', log })], log);
  const port = await server.listen(0, '127.0.0.1');
  const start = performance.now();
  const response = await fetch(`http://127.0.0.1:${port}/cog/uploads/benchtokenbenchtoken/checkpoint-250.tar`, { method: 'PUT', headers: { 'content-type': 'application/x-tar' }, body: archive });
  const location = response.headers.get('location') ?? '';
  const webhook = JSON.stringify({ id: 'x', status: 'processing', output: [location] });
  const result = { ms: Math.round(performance.now() - start), status: response.status, webhookBytes: Buffer.byteLength(webhook), rssMB: rss() };
  await server.close();
  await rm(dir, { recursive: true, force: true });
  return result;
}

const which = process.argv[2];
console.log(JSON.stringify({ baselineRssMB: rss(), ...(which === 'upload' ? { upload: await upload() } : { dataUri: await dataUri() }) }));
