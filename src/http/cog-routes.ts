import { timingSafeEqual } from 'node:crypto';
import type { Logger } from '../log.js';
import type { CogFiles } from '../services/cog/files.js';
import type { CogPredictions } from '../services/cog/predictions.js';
import type { CogPrediction } from '../services/cog/server.js';
import type { Route } from './server.js';

export const COG_WEBHOOK_PATH = '/webhooks/cog';
export const COG_UPLOAD_PATH = '/cog/uploads';

/** The streaming trainer's JSON carries its output URLs and its logs; data URIs would be far larger (docs/services.md). */
const MAX_WEBHOOK_BYTES = 64 * 1024 * 1024;
/** A checkpoint archive: 266 MB measured for cog-sdxl's LoRA format (trainer/BENCH.md). */
const MAX_UPLOAD_BYTES = 1024 * 1024 * 1024;
const STATUSES = new Set(['starting', 'processing', 'succeeded', 'failed', 'canceled']);

/**
 * `POST /webhooks/cog`: a Cog server's news of one of kmplz's predictions. Cog signs nothing;
 * with COG_WEBHOOK_TOKEN set, the Cog containers run with `WEBHOOK_AUTH_TOKEN` to match and send it
 * as `Authorization: Bearer …` (coglet webhook.rs), and anything else is refused. The prediction
 * id is kmplz's own, so a delivery about an id kmplz never sent is ignored, and a repeated one
 * changes nothing (a terminal state is never undone).
 */
export function cogWebhookRoute({ predictions, token, log }: { predictions: CogPredictions; token?: string; log: Logger }): Route {
  return {
    method: 'POST',
    path: COG_WEBHOOK_PATH,
    maxBodyBytes: MAX_WEBHOOK_BYTES,
    async handle({ headers, body }) {
      if (token && !sameSecret(headers.authorization, `Bearer ${token}`)) return { status: 401, body: { error: 'unauthorized' } };
      let parsed: Partial<CogPrediction>;
      try {
        parsed = JSON.parse(body.toString('utf8')) as Partial<CogPrediction>;
      } catch {
        return { status: 400, body: { error: 'body is not JSON' } };
      }
      if (typeof parsed.id !== 'string' || typeof parsed.status !== 'string' || !STATUSES.has(parsed.status)) return { status: 400, body: { error: 'not a prediction' } };
      const record = await predictions.update(parsed as CogPrediction);
      if (!record) log.debug({ id: parsed.id }, 'cog webhook about a prediction kmplz does not know');
      return { status: 200, body: {} };
    },
  };
}

/**
 * `PUT /cog/uploads/{token}/{name}`: Cog's `--upload-url` (docs/http.md "File uploads"). Cog PUTs
 * each file output to `{upload-url}/{basename}` and keeps the `Location` it gets back, so each
 * upload gets its own id there (two trainings' `checkpoint-250.tar` must not overwrite each
 * other). Cog sends no credentials with uploads, so the token is in the path.
 */
export function cogUploadRoute({ files, token, log }: { files: CogFiles; token: string; log: Logger }): Route {
  return {
    method: 'PUT',
    path: `${COG_UPLOAD_PATH}/*`,
    maxBodyBytes: MAX_UPLOAD_BYTES,
    async handle({ path, body }) {
      const [given, name] = path.slice(COG_UPLOAD_PATH.length + 1).split('/');
      if (!given || !name || !sameSecret(given, token)) return { status: 404, body: { error: 'not found' } };
      const saved = await files.save(decodeURIComponent(name), body);
      log.info({ name, bytes: body.length, id: saved.id }, 'cog uploaded a file');
      return { status: 201, headers: { location: saved.url }, body: {} };
    },
  };
}

/** `GET /cog/files/{id}`: what the Cog servers download (training zips, checkpoint archives). */
export function cogFilesRoute({ files }: { files: CogFiles }): Route {
  return {
    method: 'GET',
    path: '/cog/files/*',
    async handle({ path }) {
      const data = await files.read(decodeURIComponent(path.slice('/cog/files/'.length)));
      if (!data) return { status: 404, body: { error: 'not found' } };
      return { status: 200, body: data, headers: { 'content-type': 'application/octet-stream' } };
    },
  };
}

function sameSecret(given: string | string[] | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
