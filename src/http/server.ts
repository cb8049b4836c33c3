import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../log.js';

export interface HttpRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The body exactly as received: signatures are computed over these bytes. */
  body: Buffer;
}

export interface HttpResponse {
  status: number;
  body?: string | Buffer | Record<string, unknown>;
  headers?: Record<string, string>;
  /** A large body (a checkpoint archive) sent as it is read; `headers` must carry its length. */
  stream?: Readable;
  /** Work done once the answer is sent: senders that want a prompt 2xx (webhooks) get it. */
  afterResponse?: () => Promise<void>;
}

export interface Route {
  /** A GET route answers HEAD too (Node sends no body for a HEAD). */
  method: 'GET' | 'POST' | 'PUT';
  /** Exact, or ending in `/*` for every path under it (`request.path` keeps the whole path); exact routes are looked up first. */
  path: string;
  /** Bodies above this are refused with 413 without being read further (default 1 MiB). */
  maxBodyBytes?: number;
  handle(request: HttpRequest): Promise<HttpResponse>;
}

const DEFAULT_MAX_BODY = 1024 * 1024;

/**
 * The bot's small HTTP server, started only when `HTTP_PORT` is set: a table of exact routes
 * over `node:http`, raw bodies, JSON or text answers. Routes are added by what needs them
 * (Replicate webhooks now; health and metrics later).
 */
export class HttpServer {
  private readonly server: Server;
  private readonly routes = new Map<string, Route>();
  private readonly pending = new Set<Promise<void>>();

  constructor(
    routes: readonly Route[],
    private readonly log: Logger,
  ) {
    for (const route of routes) this.routes.set(`${route.method} ${route.path}`, route);
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  /** Resolves with the port listened on (`0` picks a free one). */
  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const actual = (this.server.address() as AddressInfo).port;
    this.log.info({ port: actual }, 'http server listening');
    return actual;
  }

  /** Stops listening, ends idle connections, and waits for work started after answers. Safe to call twice. */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
    await Promise.allSettled([...this.pending]);
  }

  private prefixRoute(method: string, path: string): Route | undefined {
    return [...this.routes.values()].find((r) => r.method === method && r.path.endsWith('/*') && path.startsWith(r.path.slice(0, -1)));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const routeMethod = method === 'HEAD' ? 'GET' : method;
    const route = this.routes.get(`${routeMethod} ${url.pathname}`) ?? this.prefixRoute(routeMethod, url.pathname);
    try {
      if (!route) {
        const known = [...this.routes.values()].some((r) => r.path === url.pathname || (r.path.endsWith('/*') && url.pathname.startsWith(r.path.slice(0, -1))));
        send(res, known ? { status: 405, body: { error: 'method not allowed' } } : { status: 404, body: { error: 'not found' } });
        req.resume();
        return;
      }
      const body = await readBody(req, route.maxBodyBytes ?? DEFAULT_MAX_BODY);
      if (!body) {
        send(res, { status: 413, body: { error: 'body too large' } });
        return;
      }
      const response = await route.handle({ method, path: url.pathname, query: url.searchParams, headers: req.headers, body });
      if (response.stream) {
        res.writeHead(response.status, response.headers);
        if (method === 'HEAD') {
          response.stream.destroy();
          res.end();
        } else {
          await pipeline(response.stream, res).catch((error: unknown) => this.log.debug({ err: error, path: url.pathname }, 'a streamed answer ended early'));
        }
        return;
      }
      send(res, response);
      if (response.afterResponse) {
        const work = response.afterResponse()
          .catch((error: unknown) => this.log.error({ err: error, path: url.pathname }, 'work after an http answer failed'))
          .finally(() => this.pending.delete(work));
        this.pending.add(work);
      }
    } catch (error) {
      this.log.error({ err: error, method, path: url.pathname }, 'http request failed');
      if (!res.headersSent) send(res, { status: 500, body: { error: 'internal error' } });
    }
  }
}

function send(res: ServerResponse, { status, body, headers = {} }: HttpResponse): void {
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const json = typeof body === 'object' && !Buffer.isBuffer(body);
  const data = json ? JSON.stringify(body) : body;
  res
    .writeHead(status, { 'content-type': json ? 'application/json' : 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(data), ...headers })
    .end(data);
}

/** The whole body, or undefined once it passes `limit` (the rest is not read). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    req.resume();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
