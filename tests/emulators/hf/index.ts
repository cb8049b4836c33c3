import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeImage } from '../replicate/images.js';

export interface HfEmulatorOptions {
  /** Token the endpoint accepts as `Authorization: Bearer …`. */
  token?: string;
  /** Model named in "is currently loading" errors. */
  model?: string;
  /**
   * Shape of a successful answer. `object` (`{"generated_text": …}`) is the only one
   * @huggingface/inference 4.13.30 accepts; `array` (`[{"generated_text": …}]`, what the
   * transformers pipeline returns and clients before 4.13.15 expected) makes it throw.
   */
  responseShape?: 'object' | 'array';
}

/** A request as the endpoint saw it (the image bytes themselves are not kept). */
export interface HfRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Size of the raw body (the image). */
  bytes: number;
  status: number;
}

export type HfFault =
  /** A cold or scaled-to-zero model: `{"error":"Model … is currently loading","estimated_time":…}`. */
  | { status: 503; estimatedTime?: number; body?: unknown }
  | { status: 429; body?: unknown }
  | { status: 500 | 502; body?: unknown };

export interface HfEmulator {
  /** What kmplz takes as `HF_CAPTION_ENDPOINT` (a dedicated image-to-text endpoint). */
  readonly endpointUrl: string;
  readonly token: string;
  readonly requests: HfRequest[];
  /** The next `count` requests get `fault` instead of a caption. */
  inject(fault: HfFault, count?: number): void;
  close(): Promise<void>;
}

/**
 * A Hugging Face dedicated endpoint serving BLIP image-to-text: POST raw image bytes with a
 * Bearer token, get a caption naming the image's colour (`a drawing of a red square`), so tests
 * can tell which image a caption belongs to.
 */
export async function startHfEmulator(options: HfEmulatorOptions = {}): Promise<HfEmulator> {
  const token = options.token ?? 'hf_emulator_token';
  const model = options.model ?? 'Salesforce/blip-image-captioning-large';
  const requests: HfRequest[] = [];
  const faults: { fault: HfFault; remaining: number }[] = [];

  const reply = (res: ServerResponse, record: HfRequest, status: number, body: unknown) => {
    record.status = status;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const record: HfRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, bytes: body.length, status: 0 };
    requests.push(record);

    if (req.headers.authorization !== `Bearer ${token}`) {
      reply(res, record, 401, { error: 'Invalid credentials in Authorization header' });
      return;
    }
    const next = faults[0];
    if (next) {
      next.remaining -= 1;
      if (next.remaining <= 0) faults.shift();
      const { fault } = next;
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
    let caption: string;
    try {
      caption = (await describeImage(body)).caption;
    } catch {
      reply(res, record, 400, { error: 'cannot identify image file' });
      return;
    }
    reply(res, record, 200, options.responseShape === 'array' ? [{ generated_text: caption }] : { generated_text: caption });
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpointUrl: `http://127.0.0.1:${port}/`,
    token,
    requests,
    inject(fault, count = 1) {
      faults.push({ fault, remaining: count });
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
