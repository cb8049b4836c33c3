import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeImage } from '../replicate/images.js';
import { chatCompletion, HUB_MODELS, hubModel, type HubModel } from './providers.js';

export interface HfEmulatorOptions {
  /** Token the endpoint and the router accept as `Authorization: Bearer …` (the router wants `hf_…`). */
  token?: string;
  /** Model the dedicated endpoint runs, named in its "is currently loading" errors. */
  model?: string;
  /**
   * How the dedicated endpoint answers. `list` (the default): `[{"generated_text": …}]`, what
   * transformers' image-to-text pipeline returns (`pipelines/image_to_text.py`, `postprocess`
   * builds a list of records) and so what a standard Inference Endpoint serves;
   * @huggingface/inference 4.13.30's `imageToText` throws on it. `object`:
   * `{"generated_text": …}`, what a custom handler may answer and the only shape that client takes.
   */
  endpointShape?: 'list' | 'object';
  /** The Hub's provider mappings (default: HUB_MODELS, where no provider serves BLIP). */
  hubModels?: Record<string, HubModel>;
}

export type HfService = 'endpoint' | 'hub' | 'router';

/** A request as the emulator saw it (image bytes are not kept). */
export interface HfRequest {
  service: HfService;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Size of the raw body. */
  bytes: number;
  /** The parsed JSON body (router requests). */
  json?: unknown;
  status: number;
}

export type HfFault =
  /** A cold or scaled-to-zero model: `{"error":"Model … is currently loading","estimated_time":…}`. */
  | { status: 503; estimatedTime?: number; body?: unknown }
  | { status: 429; body?: unknown }
  | { status: 500 | 502; body?: unknown }
  /** No answer at all for `ms` (a stalled endpoint or provider); the connection is then dropped. */
  | { stallMs: number };

export interface HfEmulator {
  /** What kmplz takes as `HF_CAPTION_ENDPOINT` (a dedicated image-to-text endpoint). */
  readonly endpointUrl: string;
  readonly token: string;
  readonly requests: HfRequest[];
  /**
   * A fetch that sends `https://huggingface.co/…` (the Hub) and `https://router.huggingface.co/…`
   * (Inference Providers), which @huggingface/inference hard-codes, to this emulator; any other
   * URL goes out unchanged.
   */
  readonly fetch: typeof fetch;
  /** The next `count` inference requests (endpoint or router, never the Hub) get `fault`. */
  inject(fault: HfFault, count?: number): void;
  close(): Promise<void>;
}

const HOSTS: Record<string, HfService> = { 'huggingface.co': 'hub', 'router.huggingface.co': 'router' };

/**
 * Hugging Face as kmplz meets it: a dedicated endpoint serving BLIP image-to-text (POST raw image
 * bytes, a caption naming the image's colour, `a drawing of a red square`, so tests can tell
 * which image a caption belongs to), the Hub's model pages, and the Inference Providers router.
 */
export async function startHfEmulator(options: HfEmulatorOptions = {}): Promise<HfEmulator> {
  const token = options.token ?? 'hf_emulator_token';
  const model = options.model ?? 'Salesforce/blip-image-captioning-large';
  const hubModels = options.hubModels ?? HUB_MODELS;
  const requests: HfRequest[] = [];
  const faults: { fault: HfFault; remaining: number }[] = [];

  const reply = (res: ServerResponse, record: HfRequest, status: number, body: unknown) => {
    record.status = status;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const nextFault = (): HfFault | undefined => {
    const next = faults[0];
    if (!next) return undefined;
    next.remaining -= 1;
    if (next.remaining <= 0) faults.shift();
    return next.fault;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://emulator');
    const service: HfService = url.pathname.startsWith('/api/') ? 'hub' : url.pathname.startsWith('/v1/') ? 'router' : 'endpoint';
    const record: HfRequest = { service, method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, bytes: body.length, status: 0 };
    requests.push(record);

    if (service === 'hub') {
      // Model pages are public: the client asks without a token.
      const id = decodeURIComponent(url.pathname.slice('/api/models/'.length));
      const { status, body: answer } = req.method === 'GET' ? hubModel(hubModels, id) : { status: 405, body: { error: 'Method Not Allowed' } };
      reply(res, record, status, answer);
      return;
    }
    if (req.headers.authorization !== `Bearer ${token}`) {
      reply(res, record, 401, { error: 'Invalid credentials in Authorization header' });
      return;
    }
    const fault = nextFault();
    if (fault && 'stallMs' in fault) {
      await new Promise((resolve) => setTimeout(resolve, fault.stallMs));
      record.status = -1;
      res.destroy();
      return;
    }
    if (fault) {
      const defaults: Record<number, unknown> = {
        503: { error: `Model ${model} is currently loading`, estimated_time: 'estimatedTime' in fault ? (fault.estimatedTime ?? 20) : 20 },
        429: { error: 'Rate limit reached. Please log in or use a HF access token' },
      };
      reply(res, record, fault.status, fault.body ?? defaults[fault.status] ?? { error: 'Internal Server Error' });
      return;
    }
    if (req.method !== 'POST') {
      reply(res, record, 405, { error: 'Method Not Allowed' });
      return;
    }
    if (service === 'router') {
      if (url.pathname !== '/v1/chat/completions') {
        reply(res, record, 404, { error: 'Not Found' });
        return;
      }
      record.json = parseJson(body);
      const { status, body: answer } = await chatCompletion(hubModels, record.json);
      reply(res, record, status, answer);
      return;
    }
    let caption: string;
    try {
      caption = (await describeImage(body)).caption;
    } catch {
      reply(res, record, 400, { error: 'cannot identify image file' });
      return;
    }
    reply(res, record, 200, options.endpointShape === 'object' ? { generated_text: caption } : [{ generated_text: caption }]);
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const routed: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (!(url.hostname in HOSTS) || url.protocol !== 'https:') return globalThis.fetch(input, init);
    const target = `${base}${url.pathname}${url.search}`;
    return globalThis.fetch(input instanceof Request ? new Request(target, input) : target, init);
  };

  return {
    endpointUrl: `${base}/`,
    token,
    requests,
    fetch: routed,
    inject(fault, count = 1) {
      faults.push({ fault, remaining: count });
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
