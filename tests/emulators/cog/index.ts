import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Scheduler } from '../replicate/clock.js';
import type { JobRecord, ModelContext, ModelHandler } from '../replicate/jobs.js';
import { blipCaptioner, DEFAULT_TIMING, sdxlGenerator, type ModelTiming } from '../replicate/models.js';
import { BLIP_SCHEMA, checkInput, COG_SDXL_SCHEMA, STREAMING_TRAINER_SCHEMA, type OpenApiSchema } from '../replicate/schemas.js';
import { streamingTrainer } from '../replicate/trainers.js';
import { tqdmLine } from '../replicate/tqdm.js';
import { CogWebhooks } from './webhooks.js';

/**
 * One Cog container's HTTP server (the Rust "coglet" server of Cog ≥ 0.17, which cog 0.23's
 * `python -m cog.server.http` starts), written from replicate/cog at commit
 * 6110c912377d4ded0f57165d305821a14a9a4418: docs/http.md, crates/coglet/src/transport/http/routes.rs
 * (routes and status codes), crates/coglet/src/prediction.rs (`build_state_snapshot`: the JSON of
 * webhooks and of an idempotent re-PUT), crates/coglet/src/webhook.rs (throttling, retries) and
 * crates/coglet/src/orchestrator.rs (`upload_file`). What it reproduces, awkward parts included:
 * - one prediction at a time: a PUT with another id while one runs is `409 Conflict`;
 * - no `GET /predictions/{id}`: the route has only PUT, so axum answers `405`. A PUT with the id of
 *   the prediction in flight answers `202` with its current state (no new prediction); once it is
 *   over the id is forgotten and the same PUT would start it again;
 * - input checked before the slot is taken: unknown keys dropped, errors as `422 {detail:[…]}`;
 * - `503` while `setup()` runs (health `STARTING`);
 * - file outputs as data URIs, or PUT to `--upload-url` + basename (`Location` wins, query dropped);
 *   a failed upload fails the whole prediction with "Failed to upload output: …" (seen from the real
 *   cog 0.23.1 server here: `python -m cog.server.http` with the trainer, an upload URL nobody served);
 * - a restart loses the prediction in flight: no `completed` webhook ever comes for it.
 */

export type CogModel = 'sdxl' | 'blip' | 'trainer';

export interface CogEmulatorOptions {
  model: CogModel;
  /** Emulated seconds of `setup()` before the server is READY. */
  setupSeconds?: number;
  /** Real ms per emulated second (0.001: 1000× faster). */
  timeScale?: number;
  timing?: Partial<ModelTiming>;
  /** Cog's `--upload-url`. */
  uploadUrl?: string;
  port?: number;
  /** The container's `WEBHOOK_AUTH_TOKEN`: sent as `Authorization: Bearer …` with every webhook (webhook.rs). */
  webhookAuthToken?: string;
  /** Wraps the model (a test slows it down from some step, say). */
  wrap?: (handler: ModelHandler) => ModelHandler;
}

interface Running {
  id: string;
  input: Record<string, unknown>;
  status: 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled';
  logs: string;
  outputs: unknown[];
  output?: unknown;
  error?: string;
  startedMs: number;
  predictTime?: number;
  abort: AbortController;
  done: Promise<void>;
  webhooks?: CogWebhooks;
}

const MODELS: Record<CogModel, { schema: OpenApiSchema; handler: (t: ModelTiming) => ModelHandler }> = {
  sdxl: { schema: COG_SDXL_SCHEMA, handler: (t) => sdxlGenerator(t, 'NSFW') },
  blip: { schema: BLIP_SCHEMA, handler: blipCaptioner },
  trainer: { schema: STREAMING_TRAINER_SCHEMA, handler: streamingTrainer },
};

export class CogEmulator {
  readonly scheduler: Scheduler;
  /** Every prediction this server ran (inputs as received), across restarts, for assertions. */
  readonly history: { id: string; input: Record<string, unknown>; status?: string }[] = [];
  /** Requests answered 409, for assertions that kmplz never sends two at once. */
  conflicts = 0;
  private server!: Server;
  private running: Running | undefined;
  private setupStarted = Date.now();
  private setupDone = false;
  private cancelSetup: () => void = () => {};
  private readonly handler: ModelHandler;
  private readonly schema: OpenApiSchema;

  private constructor(private readonly options: CogEmulatorOptions) {
    this.scheduler = new Scheduler(options.timeScale ?? 0.001);
    const timing = { ...DEFAULT_TIMING, ...options.timing };
    const handler = MODELS[options.model].handler(timing);
    this.handler = options.wrap ? options.wrap(handler) : handler;
    this.schema = MODELS[options.model].schema;
  }

  static async start(options: CogEmulatorOptions): Promise<CogEmulator> {
    const emulator = new CogEmulator(options);
    emulator.server = createServer((req, res) => void emulator.handle(req, res));
    await new Promise<void>((resolve) => emulator.server.listen(options.port ?? 0, '127.0.0.1', resolve));
    emulator.beginSetup();
    return emulator;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** The container restarts: the prediction in flight dies without a word, setup runs again. */
  restart(): void {
    const lost = this.running;
    this.running = undefined;
    lost?.abort.abort(new Error('container restarted'));
    lost?.webhooks?.drop();
    this.beginSetup();
  }

  async close(): Promise<void> {
    this.cancelSetup();
    this.running?.abort.abort(new Error('closed'));
    this.running?.webhooks?.drop();
    this.scheduler.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private beginSetup(): void {
    this.setupDone = false;
    this.setupStarted = Date.now();
    this.cancelSetup = this.scheduler.later(this.options.setupSeconds ?? 0, () => (this.setupDone = true));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'GET' && path === '/health-check') return send(200, this.health());
    if (req.method === 'GET' && path === '/openapi.json') return send(200, this.schema);
    const put = /^\/predictions\/([^/]+)$/.exec(path);
    if (put) {
      // axum: the path has a PUT route only, so any other method is 405 (no polling in Cog).
      if (req.method !== 'PUT') return send(405, {});
      let body: Record<string, unknown> = {};
      try {
        body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
      } catch {
        return send(400, { error: 'body is not JSON' });
      }
      return this.create(decodeURIComponent(put[1]!), body, req.headers.prefer === 'respond-async', send);
    }
    const cancel = /^\/predictions\/([^/]+)\/cancel$/.exec(path);
    if (req.method === 'POST' && cancel) {
      const running = this.running;
      if (!running || running.id !== decodeURIComponent(cancel[1]!)) return send(404, {});
      running.abort.abort(new Error('canceled'));
      return send(200, {});
    }
    send(404, { detail: 'Not Found' });
  }

  private health(): Record<string, unknown> {
    const setup = {
      started_at: new Date(this.setupStarted).toISOString(),
      ...(this.setupDone ? { completed_at: new Date().toISOString() } : {}),
      status: this.setupDone ? 'succeeded' : 'starting',
      logs: '',
    };
    const status = !this.setupDone ? 'STARTING' : this.running ? 'BUSY' : 'READY';
    return { status, setup, version: { coglet: '0.23.1', cog: '0.23.1', python: '3.11.9' } };
  }

  private async create(id: string, body: Record<string, unknown>, async: boolean, send: (status: number, body: unknown) => void): Promise<void> {
    if (typeof body.id === 'string' && body.id !== id) {
      return send(422, { detail: [{ loc: ['body', 'id'], msg: 'prediction ID must match the ID supplied in the URL', type: 'value_error' }] });
    }
    // routes.rs `create_prediction_idempotent`: the one in flight answers with its state, input unchecked.
    if (this.running?.id === id) return send(202, { ...this.snapshot(this.running), input: this.running.input });
    const checked = checkInput(this.schema, 'Input', (body.input ?? {}) as Record<string, unknown>);
    if (checked.invalid.length) {
      return send(422, { detail: checked.invalid.map((f) => ({ loc: ['body', 'input', f.field.replace(/^input\.?/, '') || 'input'], msg: f.description, type: f.type })) });
    }
    if (!this.setupDone) return send(503, { error: 'Predictor not ready', status: 'failed' });
    if (this.running) {
      this.conflicts++;
      return send(409, { error: 'At capacity - all prediction slots busy', status: 'failed' });
    }
    const filter = Array.isArray(body.webhook_events_filter) ? (body.webhook_events_filter as string[]) : ['start', 'output', 'logs', 'completed'];
    const running: Running = {
      id,
      input: checked.input,
      status: 'starting',
      logs: '',
      outputs: [],
      startedMs: Date.now(),
      abort: new AbortController(),
      done: Promise.resolve(),
      webhooks: typeof body.webhook === 'string' ? new CogWebhooks(body.webhook, new Set(filter), this.scheduler, this.options.webhookAuthToken) : undefined,
    };
    this.running = running;
    this.history.push({ id, input: checked.input });
    running.done = this.run(running);
    if (async) return send(202, { id, status: 'starting' });
    await running.done;
    send(200, { ...this.snapshot(running), id });
  }

  /** prediction.rs `build_state_snapshot`: no input, no timestamps; predict_time once terminal. */
  private snapshot(p: Running): Record<string, unknown> {
    const output = p.output !== undefined ? p.output : p.outputs.length ? p.outputs : undefined;
    return {
      id: p.id,
      status: p.status,
      logs: p.logs,
      ...(output !== undefined ? { output } : {}),
      ...(p.error !== undefined ? { error: p.error } : {}),
      metrics: p.predictTime !== undefined ? { predict_time: p.predictTime } : {},
    };
  }

  private async run(p: Running): Promise<void> {
    p.status = 'processing';
    p.webhooks?.send('start', this.snapshot(p));
    let uploads = Promise.resolve();
    const alive = () => {
      if (p.abort.signal.aborted) throw p.abort.signal.reason;
    };
    const logsChanged = () => p.webhooks?.send('logs', this.snapshot(p));
    let busySeconds = 0;
    const ctl: ModelContext = {
      job: { id: p.id, input: p.input, logs: '' } as unknown as JobRecord,
      signal: p.abort.signal,
      log: (line) => {
        alive();
        p.logs += `${line}\n`;
        logsChanged();
      },
      progress: (n, total, elapsed, description) => {
        alive();
        p.logs += `\r${tqdmLine(n, total, elapsed, description)}${n === total ? '\n' : ''}`;
        logsChanged();
      },
      sleep: async (seconds) => {
        alive();
        await this.scheduler.sleep(seconds, p.abort.signal);
        busySeconds += seconds;
      },
      emit: (value) => {
        alive();
        // An uploaded file joins the output once its upload ends (orchestrator.rs spawns it).
        uploads = uploads.then(async () => {
          const resolved = await this.resolve(value);
          if (this.running !== p) return;
          p.outputs.push(resolved);
          p.webhooks?.send('output', this.snapshot(p));
        });
        uploads.catch(() => undefined); // handled at the end of the run
      },
      serve: (name, data, contentType) => `cog-file:${JSON.stringify({ name, contentType })}:${data.toString('base64')}`,
      fetch: (url) => fetchForModel(url, p.abort.signal),
      uploadedFile: () => undefined,
    };
    try {
      const result = await this.handler(p.input, ctl);
      await uploads;
      if (result !== undefined) {
        const list = Array.isArray(result) ? await Promise.all(result.map((item) => this.resolve(item))) : await this.resolve(result);
        p.output = Array.isArray(list) ? list.filter((item) => item !== undefined) : list;
      } else if (p.outputs.length) p.output = p.outputs;
      p.status = 'succeeded';
    } catch (error) {
      if (this.running !== p) return; // restarted: the process that ran it is gone
      if (p.abort.signal.aborted) p.status = 'canceled';
      else {
        p.status = 'failed';
        p.error = (error as Error)?.message ?? String(error);
      }
    }
    if (this.running !== p) return;
    p.predictTime = busySeconds;
    this.running = undefined;
    const entry = this.history.find((h) => h.id === p.id && h.status === undefined);
    if (entry) entry.status = p.status;
    p.webhooks?.completed(this.snapshot(p));
  }

  /** A served file becomes a data URI, or the URL its upload answered (undefined when the upload failed). */
  private async resolve(value: unknown): Promise<unknown> {
    if (typeof value !== 'string' || !value.startsWith('cog-file:')) return value;
    const rest = value.slice('cog-file:'.length);
    const split = rest.lastIndexOf(':');
    const { name, contentType } = JSON.parse(rest.slice(0, split)) as { name: string; contentType: string };
    const data = Buffer.from(rest.slice(split + 1), 'base64');
    if (!this.options.uploadUrl) return `data:${contentType};base64,${data.toString('base64')}`;
    const endpoint = this.options.uploadUrl.endsWith('/') ? this.options.uploadUrl : `${this.options.uploadUrl}/`;
    try {
      const response = await fetch(`${endpoint}${name}`, { method: 'PUT', headers: { 'content-type': contentType }, body: data, signal: AbortSignal.timeout(25_000) });
      if (!response.ok) throw new Error(`upload returned status ${response.status}`);
      const url = new URL(response.headers.get('location') ?? response.url, `${endpoint}${name}`);
      url.search = '';
      return url.toString();
    } catch (error) {
      // coglet logs "Failed to upload file output" and then fails the prediction (cog 0.23.1, run here).
      throw new Error(`Failed to upload output: upload request failed: ${(error as Error).message}`);
    }
  }
}

/** How Cog reads a URL input for a `Path`: data URIs inline, anything else downloaded. */
async function fetchForModel(url: string, signal: AbortSignal): Promise<Buffer> {
  if (url.startsWith('data:')) {
    const comma = url.indexOf(',');
    const payload = url.slice(comma + 1);
    return url.slice(0, comma).endsWith(';base64') ? Buffer.from(payload, 'base64') : Buffer.from(decodeURIComponent(payload));
  }
  const response = await fetch(url, { signal });
  if (!response.ok) throw new Error(`HTTPError: ${response.status} Client Error for url: ${url}`);
  return Buffer.from(await response.arrayBuffer());
}

/** A Cog-style prediction id: base32 of 16 random bytes, lower case, unpadded (docs/http.md). */
export function cogId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = '';
  for (const byte of randomBytes(16)) bits += byte.toString(2).padStart(8, '0');
  return (bits.match(/.{1,5}/g) ?? []).map((chunk) => alphabet[parseInt(chunk.padEnd(5, '0'), 2)]).join('');
}
