import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ReceivedRequest, replicateSpecPath, SpecValidator } from '../openapi-validator.js';
import {
  BLIP_MODEL,
  BLIP_VERSION,
  Catalogue,
  type ModelEntry,
  SDXL_MODEL,
  SDXL_VERSION,
  STREAMING_TRAINER_MODEL,
  type VersionEntry,
  versionIdFor,
} from './catalogue.js';
import { Scheduler } from './clock.js';
import {
  type JobHost,
  type JobKind,
  type JobRecord,
  JobRun,
  type ModelHandler,
  type StoredFile,
  TERMINAL_STATUSES,
  toWire,
  type WebhookEvent,
} from './jobs.js';
import { DEFAULT_TIMING, type ModelTiming } from './models.js';
import { checkInput, type InputKey, type OpenApiSchema } from './schemas.js';
import { newWebhookSecret, type RedeliverOptions, type WebhookDelivery, WebhookSender } from './webhooks.js';

export type { JobRecord, ModelContext, ModelHandler, StoredFile, TrainingDataset, WebhookEvent } from './jobs.js';
export type { WebhookAttempt, WebhookDelivery, RedeliverOptions } from './webhooks.js';
export type { ModelTiming } from './models.js';
export { signWebhook } from './webhooks.js';
export { BLIP_SCHEMA, COG_SDXL_SCHEMA, STREAMING_TRAINER_SCHEMA, type OpenApiSchema, withoutInputs } from './schemas.js';

export interface ReplicateEmulatorOptions {
  /** API token the emulator accepts (`Authorization: Bearer …` or `Token …`). */
  token?: string;
  /** Account name (`GET /account`, signed download URLs). */
  username?: string;
  /** Real seconds per emulated second. Default 0.001: a 500 s training takes half a second. */
  timeScale?: number;
  /** Emulated seconds a job stays `starting` before `processing`. Default 1. */
  queueSeconds?: number;
  /**
   * Emulated seconds after completion at which a job's outputs are deleted (predictions get
   * `data_removed: true`, output and weights URLs answer 404). Unset: never (use `removeData`).
   */
  outputTtlSeconds?: number;
  /** `whsec_…`; a random one by default. */
  webhookSecret?: string;
  /** Emulated seconds before each retry of a failed `completed` webhook. Default 1, 2, 4, 8, 16. */
  webhookRetryDelaysSeconds?: number[];
  /** `owner/name` models that may receive trained versions (trainings to others get 404). */
  destinations?: string[];
  /** GPU seconds the built-in models spend (what `metrics.predict_time` reports). */
  timing?: Partial<ModelTiming>;
  /** A prompt containing this word trips the emulated safety checker. Default `nsfw`. */
  nsfwWord?: string;
  /** Wall clock (ms) for `created_at` and `webhook-timestamp`. Default `Date.now`. */
  now?: () => number;
}

/** `owner/name:version`, the form `replicate.run()` and kmplz's config take. */
export type VersionRef = `${string}/${string}:${string}`;

/** A request as the emulator saw it. */
export interface RecordedRequest extends ReceivedRequest {
  /** Full path and query as received: `/v1/…` for the API, `/output/…` for output files. */
  url: string;
  operationId?: string;
  /** Status answered; 0 while held (`Prefer: wait`) or when the connection was reset on purpose. */
  status: number;
}

/** Selects requests: an operationId (`predictions.create`), a RegExp on `"METHOD /full/path"`, or a predicate. */
export type RouteMatcher = string | RegExp | ((request: { method: string; url: string; operationId?: string }) => boolean);

export type Fault =
  /** Answer with this status instead of handling the request. */
  | { status: number; body?: unknown; retryAfter?: number }
  /** Handle the request, then reset the connection without answering (a lost response). */
  | { resetAfterHandling: true };

/** A file served under `/output/`, as replicate.delivery serves model outputs. */
export interface ServedOutput {
  readonly url: string;
  readonly jobId: string;
  readonly name: string;
  readonly contentType: string;
  readonly data: Buffer;
  removed: boolean;
}

export const THROTTLED_BODY = { detail: 'Request was throttled. Expected available in 1 second.', status: 429 };

const FILE_TTL_MS = 24 * 3600 * 1000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.detail));
  }
}

interface Exchange {
  method: string;
  url: URL;
  /** Path relative to `/v1`. */
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
  form?: FormData;
  record: RecordedRequest;
}

/** A local Replicate: the HTTP API of replicate 1.4.0's calls, model behaviour, webhooks, faults. */
export class ReplicateEmulator {
  readonly token: string;
  readonly webhookSecret: string;
  readonly requests: RecordedRequest[] = [];
  /** Spec violations and unknown routes; tests assert it stays empty. */
  readonly specErrors: string[] = [];
  readonly files = new Map<string, StoredFile>();
  readonly predictions = new Map<string, JobRecord>();
  readonly trainings = new Map<string, JobRecord>();
  /** Version refs (`owner/name:version`) of the built-in models, as kmplz's config takes them. */
  readonly refs: { sdxl: VersionRef; blip: VersionRef; streamingTrainer: VersionRef } = {
    sdxl: `${SDXL_MODEL}:${SDXL_VERSION}`,
    blip: `${BLIP_MODEL}:${BLIP_VERSION}`,
    streamingTrainer: `${STREAMING_TRAINER_MODEL}:${versionIdFor(STREAMING_TRAINER_MODEL)}`,
  };

  private readonly server: Server;
  private readonly validator = new SpecValidator(replicateSpecPath);
  private readonly scheduler: Scheduler;
  private readonly catalogue: Catalogue;
  private readonly webhooks: WebhookSender;
  private readonly runs = new Map<string, JobRun>();
  private readonly outputs = new Map<string, ServedOutput>();
  private readonly faults: { matcher: RouteMatcher; fault: Fault; remaining: number }[] = [];
  private readonly lifetime = new AbortController();
  private readonly now: () => number;
  private readonly username: string;
  private readonly queueSeconds: number;
  private readonly outputTtlSeconds: number | undefined;
  private readonly downloadKey = randomBytes(32);
  private port = 0;
  private runningPredictions = 0;
  private mostRunningPredictions = 0;

  constructor(options: ReplicateEmulatorOptions = {}) {
    this.token = options.token ?? 'r8_emulator_token';
    this.username = options.username ?? 'kmplz-tests';
    this.webhookSecret = options.webhookSecret ?? newWebhookSecret();
    this.now = options.now ?? Date.now;
    this.queueSeconds = options.queueSeconds ?? 1;
    this.outputTtlSeconds = options.outputTtlSeconds;
    this.scheduler = new Scheduler(options.timeScale ?? 0.001);
    this.catalogue = new Catalogue({ ...DEFAULT_TIMING, ...options.timing }, options.nsfwWord ?? 'nsfw', this.now());
    for (const destination of options.destinations ?? []) {
      this.catalogue.addModel(destination, { official: false, visibility: 'private' });
    }
    this.webhooks = new WebhookSender(
      this.webhookSecret,
      this.scheduler,
      this.now,
      (job) => JSON.stringify(toWire(job, this.baseUrl)),
      options.webhookRetryDelaysSeconds ?? [1, 2, 4, 8, 16],
    );
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** What kmplz takes as `REPLICATE_BASE_URL`. */
  get baseUrl(): string {
    return `${this.origin}/v1`;
  }

  get webhookDeliveries(): readonly WebhookDelivery[] {
    return this.webhooks.deliveries;
  }

  async listen(): Promise<void> {
    await this.validator.init();
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /**
   * Adds a model (and a version) that tests give behaviour with `onPrediction`/`onTraining`;
   * with `schema`, the version publishes it and its inputs are validated against it.
   */
  addModel(model: string, options: { official?: boolean; schema?: OpenApiSchema } = {}): VersionRef {
    const entry = this.catalogue.addModel(model, { official: options.official ?? false, visibility: 'public' });
    const id = versionIdFor(`${model}#${entry.versions.length}`);
    entry.versions.push({ id, model, createdAt: this.now(), ...(options.schema ? { schema: options.schema } : {}) });
    return `${entry.owner}/${entry.name}:${id}`;
  }

  /** Replaces what predictions of `ref` (`owner/name`, `owner/name:version` or a version id) do. */
  onPrediction(ref: string, handler: ModelHandler): void {
    this.catalogue.on('prediction', ref, handler);
  }

  /** Like `onPrediction` for the next prediction of `ref` only (e.g. one failure, one slow run). */
  oncePrediction(ref: string, handler: ModelHandler): void {
    this.catalogue.onceFor('prediction', ref, handler);
  }

  /** Replaces what trainings of `ref` do. */
  onTraining(ref: string, handler: ModelHandler): void {
    this.catalogue.on('training', ref, handler);
  }

  /** The next `count` requests `matcher` selects get `fault` instead of (or after) normal handling. */
  inject(matcher: RouteMatcher, fault: Fault, count = 1): void {
    this.faults.push({ matcher, fault, remaining: count });
  }

  /**
   * Deletes a job's data as Replicate does about an hour after completion: a prediction reads
   * `data_removed: true` with no input, output or logs; output files and training weights 404.
   */
  removeData(jobId: string): void {
    const job = this.predictions.get(jobId) ?? this.trainings.get(jobId);
    if (!job) throw new Error(`no job ${jobId}`);
    if (job.kind === 'prediction') job.dataRemoved = true;
    for (const url of job.servedUrls) {
      const output = this.outputs.get(new URL(url).pathname);
      if (output) output.removed = true;
    }
  }

  /** A signed `GET /files/{id}/download` URL, valid for an hour. */
  fileDownloadUrl(fileId: string): string {
    const expiry = Math.floor(this.now() / 1000) + 3600;
    const signature = this.downloadSignature(fileId, this.username, expiry);
    return `${this.baseUrl}/files/${fileId}/download?owner=${this.username}&expiry=${expiry}&signature=${signature}`;
  }

  /** The output file a URL under `/output/` serves (also after removal, for assertions). */
  output(url: string): ServedOutput | undefined {
    return this.outputs.get(new URL(url).pathname);
  }

  /** Resolves with the job once it is terminal. */
  async settled(jobId: string): Promise<JobRecord> {
    const run = this.runs.get(jobId);
    if (!run) throw new Error(`no job ${jobId}`);
    await run.settled;
    return run.job;
  }

  /** Sends a past webhook delivery again (duplicate), optionally with a bad signature or a shifted timestamp. */
  redeliverWebhook(deliveryId: string, options?: RedeliverOptions): Promise<number | undefined> {
    return this.webhooks.redeliver(deliveryId, options);
  }

  /**
   * The most predictions that were created and not yet terminal at one moment (since the start or
   * the last `resetConcurrency()`): how many a client kept in flight at once.
   */
  get maxConcurrentPredictions(): number {
    return this.mostRunningPredictions;
  }

  resetConcurrency(): void {
    this.mostRunningPredictions = this.runningPredictions;
  }

  /** Resolves once every webhook queued so far (and its retries) has been sent. */
  webhooksIdle(): Promise<void> {
    return this.webhooks.idle();
  }

  async close(): Promise<void> {
    // Webhooks first: canceling the running jobs below must not send anything.
    this.webhooks.close();
    this.lifetime.abort();
    for (const run of this.runs.values()) run.cancel();
    this.scheduler.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- HTTP ------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', this.origin);
    const raw = await readBody(req);
    const record: RecordedRequest = {
      method,
      path: url.pathname.startsWith('/v1/') ? url.pathname.slice(3) : url.pathname,
      url: `${url.pathname}${url.search}`,
      query: queryObject(url),
      headers: req.headers,
      status: 0,
    };
    this.requests.push(record);
    try {
      if (url.pathname.startsWith('/output/')) {
        const reset = this.takeFault(record, res);
        if (reset) req.socket.destroy();
        if (reset || res.writableEnded) return;
        this.serveOutput(method, url, res, record);
        return;
      }
      if (!url.pathname.startsWith('/v1/')) {
        this.specErrors.push(`unknown route: ${method} ${url.pathname}`);
        throw new HttpError(404, { detail: 'Not found.', status: 404 });
      }
      const exchange = await this.parse(method, url, req, raw, record);
      if (!this.authorised(exchange)) {
        throw new HttpError(401, { title: 'Unauthenticated', detail: 'You did not pass a valid authentication token', status: 401 });
      }
      const reset = this.takeFault(record, res);
      if (res.writableEnded) return;
      const { status, body, headers } = await this.dispatch(exchange);
      if (reset) {
        req.socket.destroy();
        return;
      }
      send(res, record, status, body, headers);
    } catch (error) {
      if (error instanceof HttpError) {
        send(res, record, error.status, error.body);
      } else {
        this.specErrors.push(`emulator error on ${method} ${url.pathname}: ${(error as Error).stack ?? String(error)}`);
        send(res, record, 500, { detail: 'Internal Server Error', status: 500 });
      }
    }
  }

  /** Parses the body, validates against the spec, and rejects what the spec rejects. */
  private async parse(method: string, url: URL, req: IncomingMessage, raw: Buffer, record: RecordedRequest): Promise<Exchange> {
    const path = record.path;
    const contentType = String(req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    let body: unknown;
    let form: FormData | undefined;
    if (raw.length > 0 && contentType === 'application/json') {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch (error) {
        this.specErrors.push(`${method} ${path}: body is not JSON: ${(error as Error).message}`);
        throw new HttpError(400, { detail: 'Request body is not valid JSON', status: 400 });
      }
    } else if (raw.length > 0 && contentType === 'multipart/form-data') {
      try {
        form = await new Response(raw, { headers: { 'content-type': String(req.headers['content-type']) } }).formData();
      } catch (error) {
        this.specErrors.push(`${method} ${path}: body is not multipart/form-data: ${(error as Error).message}`);
        throw new HttpError(400, { detail: 'Request body is not valid multipart/form-data', status: 400 });
      }
      body = await formForValidation(form);
    }
    record.body = body;
    const validation = await this.validator.validate({ method, path, query: record.query, headers: req.headers, body });
    record.operationId = validation.operationId;
    // An unknown route's error already names the method and path.
    const prefix = validation.operationId ? `${method} ${path}: ` : '';
    for (const error of validation.errors) this.specErrors.push(`${prefix}${error}`);
    if (!validation.operationId) throw new HttpError(404, { detail: 'Not found.', status: 404 });
    if (validation.errors.length > 0) {
      throw new HttpError(422, { title: 'Invalid request', detail: validation.errors.join('\n'), status: 422 });
    }
    return { method, url, path, headers: req.headers, body, form, record };
  }

  private authorised(exchange: Exchange): boolean {
    if (exchange.record.operationId === 'files.download') return true; // signed URL instead
    const header = String(exchange.headers.authorization ?? '');
    return header === `Bearer ${this.token}` || header === `Token ${this.token}`;
  }

  /** Applies the first matching injected fault; returns true when the request must be reset after handling. */
  private takeFault(record: RecordedRequest, res: ServerResponse): boolean {
    const index = this.faults.findIndex(({ matcher }) => matches(matcher, record));
    const entry = this.faults[index];
    if (!entry) return false;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.faults.splice(index, 1);
    if ('resetAfterHandling' in entry.fault) return true;
    const { status, body, retryAfter } = entry.fault;
    const defaultBody = status === 429 ? THROTTLED_BODY : { detail: 'Internal Server Error', status };
    send(res, record, status, body ?? defaultBody, retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) });
    return false;
  }

  private serveOutput(method: string, url: URL, res: ServerResponse, record: RecordedRequest): void {
    const output = this.outputs.get(url.pathname);
    // A CDN answers HEAD like GET without the body; the bot uses it to see whether weights expired.
    if ((method !== 'GET' && method !== 'HEAD') || !output || output.removed) {
      send(res, record, 404, { detail: 'Not found.', status: 404 });
      return;
    }
    record.status = 200;
    res.writeHead(200, { 'content-type': output.contentType, 'content-length': output.data.length });
    res.end(method === 'HEAD' ? undefined : output.data);
  }

  private async dispatch(x: Exchange): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    const segments = x.path.split('/').filter(Boolean).map(decodeURIComponent);
    const at = (i: number) => segments[i] ?? '';
    switch (x.record.operationId) {
      case 'account.get':
        return ok({ type: 'user', username: this.username, name: this.username, github_url: `https://github.com/${this.username}` });
      case 'webhooks.default.secret.get':
        return ok({ key: this.webhookSecret });
      case 'files.create':
        return { status: 201, body: this.fileWire(await this.createFile(x)) };
      case 'files.list':
        return ok({ next: null, previous: null, results: [...this.files.values()].reverse().map((f) => this.fileWire(f)) });
      case 'files.get':
        return ok(this.fileWire(this.file(at(1))));
      case 'files.delete':
        this.file(at(1));
        this.files.delete(at(1));
        return { status: 204, body: undefined };
      case 'files.download':
        return this.download(at(1), x.url.searchParams);
      case 'models.get':
        return ok(this.modelWire(this.model(`${at(1)}/${at(2)}`)));
      case 'models.versions.get': {
        const version = this.model(`${at(1)}/${at(2)}`).versions.find((v) => v.id === at(4));
        if (!version) throw notFound();
        return ok(versionWire(version));
      }
      case 'predictions.create':
        return this.createPrediction(x, String((x.body as { version?: unknown }).version));
      case 'models.predictions.create': {
        const model = this.model(`${at(1)}/${at(2)}`);
        if (!model.official || model.versions.length === 0) {
          throw new HttpError(404, { detail: `${at(1)}/${at(2)} is not an official model: create predictions with a version`, status: 404 });
        }
        return this.createPrediction(x, `${at(1)}/${at(2)}`);
      }
      case 'predictions.list':
        return ok(this.list(this.predictions, x.url.searchParams));
      case 'predictions.get':
        return ok(this.wire(this.job(this.predictions, at(1))));
      case 'predictions.cancel':
        return ok(this.cancel(this.predictions, at(1)));
      case 'trainings.create':
        return this.createTraining(x, `${at(1)}/${at(2)}`, at(4));
      case 'trainings.list':
        return ok(this.list(this.trainings, x.url.searchParams));
      case 'trainings.get':
        return ok(this.wire(this.job(this.trainings, at(1))));
      case 'trainings.cancel':
        return ok(this.cancel(this.trainings, at(1)));
      default:
        this.specErrors.push(`not emulated: ${x.record.operationId} (${x.method} ${x.path})`);
        throw new HttpError(501, { detail: `${x.record.operationId} is not emulated`, status: 501 });
    }
  }

  // ---- files -------------------------------------------------------------------------------

  private async createFile(x: Exchange): Promise<StoredFile> {
    const content = x.form?.get('content');
    if (!(content instanceof File)) {
      this.specErrors.push(`${x.method} ${x.path}: multipart part "content" (a file) is required`);
      throw new HttpError(400, { detail: 'content is required', status: 400 });
    }
    const metadata = (x.body as { metadata?: Record<string, unknown> }).metadata ?? {};
    const filename = x.form?.get('filename');
    const type = x.form?.get('type');
    const file: StoredFile = {
      id: randomId(),
      name: typeof filename === 'string' ? filename : content.name,
      contentType: typeof type === 'string' ? type : content.type || 'application/octet-stream',
      data: Buffer.from(await content.arrayBuffer()),
      metadata,
      createdAt: this.now(),
    };
    this.files.set(file.id, file);
    return file;
  }

  private file(id: string): StoredFile {
    const file = this.files.get(id);
    if (!file) throw notFound();
    return file;
  }

  private fileWire(file: StoredFile): Record<string, unknown> {
    const sha256 = createHash('sha256').update(file.data).digest('hex');
    return {
      id: file.id,
      name: file.name,
      content_type: file.contentType,
      size: file.data.length,
      etag: sha256.slice(0, 32),
      checksums: { sha256 },
      metadata: file.metadata,
      created_at: new Date(file.createdAt).toISOString(),
      expires_at: new Date(file.createdAt + FILE_TTL_MS).toISOString(),
      urls: { get: `${this.baseUrl}/files/${file.id}` },
    };
  }

  private download(id: string, params: URLSearchParams): { status: number; body: Buffer; headers: Record<string, string> } {
    const owner = params.get('owner') ?? '';
    const expiry = Number(params.get('expiry'));
    if (params.get('signature') !== this.downloadSignature(id, owner, expiry) || expiry * 1000 < this.now()) {
      throw new HttpError(403, { detail: 'Invalid or expired signature', status: 403 });
    }
    const file = this.file(id);
    return { status: 200, body: file.data, headers: { 'content-type': file.contentType } };
  }

  private downloadSignature(id: string, owner: string, expiry: number): string {
    return createHmac('sha256', this.downloadKey).update(`${id}:${owner}:${expiry}`).digest('hex');
  }

  // ---- models ------------------------------------------------------------------------------

  private model(ref: string): ModelEntry {
    const model = this.catalogue.models.get(ref);
    if (!model) throw notFound();
    return model;
  }

  private modelWire(model: ModelEntry): Record<string, unknown> {
    const ref = `${model.owner}/${model.name}`;
    const latest = model.versions.at(-1);
    return {
      url: `https://replicate.com/${ref}`,
      owner: model.owner,
      name: model.name,
      description: null,
      visibility: model.visibility,
      is_official: model.official,
      github_url: null,
      paper_url: null,
      license_url: null,
      cover_image_url: null,
      default_example: null,
      run_count: [...this.predictions.values()].filter((p) => p.model === ref).length,
      latest_version: latest ? versionWire(latest) : null,
    };
  }

  // ---- predictions and trainings -----------------------------------------------------------

  private async createPrediction(x: Exchange, ref: string): Promise<{ status: number; body: unknown }> {
    const version = this.catalogue.resolve(ref);
    if (!version) {
      throw new HttpError(422, {
        title: 'Invalid version',
        detail: 'The specified version does not exist (or perhaps you don\'t have permission to use it?)',
        status: 422,
      });
    }
    const body = x.body as { input: Record<string, unknown>; webhook?: string; webhook_events_filter?: WebhookEvent[] };
    const cancelAfter = x.headers['cancel-after'];
    const lifetime = typeof cancelAfter === 'string' ? parseDuration(cancelAfter) : undefined;
    if (typeof cancelAfter === 'string' && (lifetime === undefined || lifetime < 5)) {
      throw new HttpError(400, { detail: 'Cancel-After must be a duration of at least 5 seconds', status: 400 });
    }
    const handler = this.catalogue.handlerFor('prediction', version);
    const job = this.startJob('prediction', version, handler, body, 'Input');
    if (lifetime !== undefined) this.scheduler.later(lifetime, () => this.runs.get(job.id)?.cancel());
    const prefer = /^wait(?:=(\d+))?$/.exec(String(x.headers.prefer ?? ''));
    if (!prefer) return { status: 201, body: this.wire(job) };
    // Sync mode: hold the request until the job is terminal or the wait is over, then answer with
    // the job as it is (`starting` or `processing` when the wait ran out).
    const waitSeconds = Number(prefer[1] ?? 60);
    const run = this.runs.get(job.id) as JobRun;
    await Promise.race([run.settled, this.scheduler.sleep(waitSeconds, this.lifetime.signal).catch(() => {})]);
    return { status: TERMINAL_STATUSES.has(job.status) ? 201 : 202, body: this.wire(job) };
  }

  private createTraining(x: Exchange, model: string, versionId: string): { status: number; body: unknown } {
    const version = this.model(model).versions.find((v) => v.id === versionId);
    if (!version) throw notFound();
    const body = x.body as {
      destination: string;
      input: Record<string, unknown>;
      webhook?: string;
      webhook_events_filter?: WebhookEvent[];
    };
    const destination = this.catalogue.models.get(body.destination);
    if (!destination) {
      throw new HttpError(404, { detail: 'The specified training destination does not exist', status: 404 });
    }
    const handler = this.catalogue.handlerFor('training', version);
    if (!handler) throw new HttpError(422, { detail: 'This version does not support training', status: 422 });
    const job = this.startJob('training', version, handler, body, 'TrainingInput');
    return { status: 201, body: this.wire(job) };
  }

  private startJob(
    kind: JobKind,
    version: VersionEntry,
    handler: ModelHandler | undefined,
    body: { input: Record<string, unknown>; webhook?: string; webhook_events_filter?: WebhookEvent[]; destination?: string },
    schemaKey: InputKey,
  ): JobRecord {
    const { invalid } = checkInput(version.schema, schemaKey, body.input);
    if (invalid.length > 0) {
      throw new HttpError(422, {
        title: 'Input validation failed',
        detail: invalid.map((f) => `- ${f.field}: ${f.description}\n`).join(''),
        status: 422,
        invalid_fields: invalid,
      });
    }
    if (body.webhook !== undefined && !URL.canParse(body.webhook)) {
      throw new HttpError(422, { detail: 'webhook must be a valid URL', status: 422 });
    }
    const job: JobRecord = {
      kind,
      id: randomId(),
      model: version.model,
      version: version.id,
      input: body.input,
      ...(body.destination ? { destination: body.destination } : {}),
      ...(body.webhook ? { webhook: body.webhook } : {}),
      // Without a filter the API sends "new outputs" and "finished" only.
      webhookEventsFilter: body.webhook_events_filter ?? ['output', 'completed'],
      createdAt: this.now(),
      status: 'starting',
      output: null,
      logs: '',
      error: null,
      dataRemoved: false,
      servedUrls: [],
    };
    (kind === 'prediction' ? this.predictions : this.trainings).set(job.id, job);
    const run = new JobRun(
      job,
      this.host(),
      handler ??
        (() => {
          throw new Error(`the emulator has no behaviour for ${version.model}: register one with onPrediction()`);
        }),
      version.weights,
    );
    this.runs.set(job.id, run);
    if (kind === 'prediction') {
      this.runningPredictions++;
      this.mostRunningPredictions = Math.max(this.mostRunningPredictions, this.runningPredictions);
    }
    run.start();
    return job;
  }

  private host(): JobHost {
    return {
      scheduler: this.scheduler,
      queueSeconds: this.queueSeconds,
      notify: (job, event) => this.webhooks.notify(job, event),
      serve: (job, name, data, contentType) => {
        const path = `/output/${job.id}/${name}`;
        this.outputs.set(path, { url: `${this.origin}${path}`, jobId: job.id, name, contentType, data, removed: false });
        job.servedUrls.push(`${this.origin}${path}`);
        return `${this.origin}${path}`;
      },
      fetch: (url) => this.fetchForModel(url),
      uploadedFile: (url) => {
        const match = URL.canParse(url) ? /^\/v1\/files\/([^/]+)$/.exec(new URL(url).pathname) : null;
        return match && new URL(url).origin === this.origin ? this.files.get(match[1] ?? '') : undefined;
      },
      finished: (job) => this.finished(job),
    };
  }

  /** Platform work at the end of a job: a training's weights become a version of its destination. */
  private finished(job: JobRecord): void {
    if (job.kind === 'prediction') this.runningPredictions--;
    const output = job.output as { weights?: unknown } | null;
    if (job.kind === 'training' && job.status === 'succeeded' && job.destination && typeof output?.weights === 'string') {
      const base = this.catalogue.findVersion(job.version);
      const weights = URL.canParse(output.weights) ? this.outputs.get(new URL(output.weights).pathname)?.data : undefined;
      const id = versionIdFor(`training ${job.id}`);
      this.catalogue.models.get(job.destination)?.versions.push({
        id,
        model: job.destination,
        createdAt: job.completedAt ?? this.now(),
        ...(base?.predict ? { predict: base.predict } : {}),
        ...(base?.schema ? { schema: base.schema } : {}),
        ...(weights ? { weights } : {}),
      });
      job.output = { version: `${job.destination}:${id}`, weights: output.weights };
    }
    if (this.outputTtlSeconds !== undefined) {
      this.scheduler.later(this.outputTtlSeconds, () => this.removeData(job.id));
    }
  }

  /** What a model container gets when it downloads a URL. */
  private async fetchForModel(url: string): Promise<Buffer> {
    if (url.startsWith('data:')) {
      const comma = url.indexOf(',');
      const payload = url.slice(comma + 1);
      return url.slice(0, comma).endsWith(';base64') ? Buffer.from(payload, 'base64') : Buffer.from(decodeURIComponent(payload));
    }
    const notFoundError = new Error(`HTTPError: 404 Client Error: Not Found for url: ${url}`);
    if (URL.canParse(url) && new URL(url).origin === this.origin) {
      const path = new URL(url).pathname;
      const file = /^\/v1\/files\/([^/]+)$/.exec(path);
      if (file) {
        const stored = this.files.get(file[1] ?? '');
        if (!stored) throw notFoundError;
        return stored.data;
      }
      const output = this.outputs.get(path);
      if (!output || output.removed) throw notFoundError;
      return output.data;
    }
    const response = await fetch(url, { signal: this.lifetime.signal });
    if (!response.ok) throw new Error(`HTTPError: ${response.status} Client Error for url: ${url}`);
    return Buffer.from(await response.arrayBuffer());
  }

  private job(map: Map<string, JobRecord>, id: string): JobRecord {
    const job = map.get(id);
    if (!job) throw notFound();
    return job;
  }

  private cancel(map: Map<string, JobRecord>, id: string): Record<string, unknown> {
    const job = this.job(map, id);
    this.runs.get(id)?.cancel();
    return this.wire(job);
  }

  private list(map: Map<string, JobRecord>, params: URLSearchParams): Record<string, unknown> {
    const after = params.get('created_after');
    const before = params.get('created_before');
    const results = [...map.values()]
      .filter((job) => (after === null || job.createdAt >= Date.parse(after)) && (before === null || job.createdAt < Date.parse(before)))
      .reverse()
      .map((job) => this.wire(job));
    return { next: null, previous: null, results };
  }

  private wire(job: JobRecord): Record<string, unknown> {
    return toWire(job, this.baseUrl);
  }
}

/** Starts a Replicate emulator on 127.0.0.1 (random port). */
export async function startReplicateEmulator(options: ReplicateEmulatorOptions = {}): Promise<ReplicateEmulator> {
  const emulator = new ReplicateEmulator(options);
  await emulator.listen();
  return emulator;
}

function ok(body: unknown): { status: number; body: unknown } {
  return { status: 200, body };
}

function notFound(): HttpError {
  return new HttpError(404, { detail: 'Not found.', status: 404 });
}

function versionWire(version: VersionEntry): Record<string, unknown> {
  return {
    id: version.id,
    created_at: new Date(version.createdAt).toISOString(),
    cog_version: '0.9.6',
    openapi_schema: version.schema ?? null,
  };
}

function matches(matcher: RouteMatcher, record: RecordedRequest): boolean {
  const request = { method: record.method, url: record.url, ...(record.operationId ? { operationId: record.operationId } : {}) };
  if (typeof matcher === 'string') return matcher === record.operationId;
  if (matcher instanceof RegExp) return matcher.test(`${record.method} ${record.url}`);
  return matcher(request);
}

function send(res: ServerResponse, record: RecordedRequest, status: number, body: unknown, headers: Record<string, string> = {}): void {
  record.status = status;
  if (body === undefined) {
    res.writeHead(status, headers);
    res.end();
  } else if (Buffer.isBuffer(body)) {
    res.writeHead(status, { 'content-length': body.length, ...headers });
    res.end(body);
  } else {
    const text = JSON.stringify(body);
    const type = status >= 400 ? 'application/problem+json' : 'application/json';
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function queryObject(url: URL): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    query[key] = values.length === 1 ? (values[0] ?? '') : values;
  }
  return query;
}

/** The multipart body as the spec describes it: file parts as placeholders, `metadata` parsed as JSON. */
async function formForValidation(form: FormData): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = {};
  for (const [name, value] of form.entries()) {
    if (typeof value === 'string') {
      body[name] = name === 'metadata' ? parseJsonOr(value) : value;
    } else if (name === 'metadata') {
      body[name] = parseJsonOr(await value.text());
    } else {
      body[name] = `<${value.size} bytes>`;
    }
  }
  return body;
}

function parseJsonOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `Cancel-After` durations: `30`, `90s`, `5m`, `1h30m45s`. */
function parseDuration(text: string): number | undefined {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$/.exec(text.trim());
  if (!match || text.trim() === '') return undefined;
  return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
}

function randomId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return Array.from(randomBytes(26), (byte) => alphabet[byte % 32]).join('');
}
