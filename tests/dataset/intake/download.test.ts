import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { downloadAttachment, type DownloadOptions } from '../../../src/dataset/intake/download.js';
import { IntakeError } from '../../../src/dataset/intake/refusal.js';

const BODY = Buffer.from('a small drawing');
let server: http.Server;
let base: string;
let host: string;
const requests: string[] = [];

beforeAll(async () => {
  server = http.createServer((request, response) => {
    requests.push(request.url ?? '');
    switch (request.url) {
      case '/ok':
        response.writeHead(200, { 'content-length': BODY.length }).end(BODY);
        return;
      case '/declared-big':
        response.writeHead(200, { 'content-length': 50_000_000 });
        response.write(Buffer.alloc(1000));
        return;
      case '/endless': {
        // No Content-Length: chunks until the client hangs up.
        response.writeHead(200);
        const chunk = Buffer.alloc(64 * 1024, 1);
        const pump = () => {
          while (response.write(chunk)) if (response.destroyed) return;
          response.once('drain', pump);
        };
        response.on('close', () => response.removeAllListeners('drain'));
        pump();
        return;
      }
      case '/gzip-bomb': {
        const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024));
        response.writeHead(200, { 'content-encoding': 'gzip', 'content-length': bomb.length }).end(bomb);
        return;
      }
      case '/stall-headers':
        return; // never answers
      case '/stall-body':
        response.writeHead(200, { 'content-length': 1000 });
        response.write(Buffer.alloc(10));
        return;
      case '/to-ok':
        response.writeHead(302, { location: '/ok' }).end();
        return;
      case '/to-evil':
        response.writeHead(301, { location: 'http://evil.example/steal' }).end();
        return;
      case '/to-metadata':
        response.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
        return;
      case '/loop':
        response.writeHead(302, { location: '/loop' }).end();
        return;
      default:
        response.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  base = `http://${host}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function options(overrides: Partial<DownloadOptions> = {}): DownloadOptions {
  return { allowedHosts: [host], maxBytes: 1024 * 1024, timeoutMs: 2000, ...overrides };
}

async function failure(promise: Promise<unknown>): Promise<IntakeError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(IntakeError);
  return error as IntakeError;
}

describe('downloadAttachment: before any request', () => {
  it.each([
    { url: 'https://evil.example/a.png', code: 'host_not_allowed' },
    { url: 'https://cdn.discordapp.com.evil.example/a.png', code: 'host_not_allowed' },
    { url: 'https://cdn.discordapp.com:8443/a.png', code: 'host_not_allowed' },
    { url: 'http://169.254.169.254/latest/meta-data/', code: 'host_not_allowed' },
    { url: 'ftp://cdn.discordapp.com/a.png', code: 'unsupported_protocol' },
    { url: 'file:///etc/passwd', code: 'unsupported_protocol' },
    { url: 'https://user:secret@cdn.discordapp.com/a.png', code: 'credentials_in_url' },
    { url: 'not a url', code: 'invalid_url' },
  ])('refuses $url ($code) without calling fetch', async ({ url, code }) => {
    const spy = vi.fn<typeof fetch>();
    const error = await failure(
      downloadAttachment(url, { allowedHosts: ['cdn.discordapp.com', 'media.discordapp.net'], maxBytes: 1000, timeoutMs: 1000, fetch: spy }),
    );
    expect(error.code).toBe(code);
    expect(spy).not.toHaveBeenCalled();
  });

  it('takes a host without port for the default port, case-insensitively', async () => {
    const spy = vi.fn<typeof fetch>(async () => new Response(BODY));
    const allowed = { allowedHosts: [' CDN.discordapp.com '], maxBytes: 1000, timeoutMs: 1000, fetch: spy };
    expect(await downloadAttachment('https://cdn.discordapp.com/attachments/1/2/a.png', allowed)).toEqual(BODY);
    expect(await downloadAttachment('https://cdn.discordapp.com:443/a.png', allowed)).toEqual(BODY);
    expect(spy).toHaveBeenCalledTimes(2);
    expect(spy.mock.calls[0]?.[1]).toMatchObject({ redirect: 'manual' });
  });
});

describe('downloadAttachment: against a local server', () => {
  it('downloads an allowed file', async () => {
    expect(await downloadAttachment(`${base}/ok`, options())).toEqual(BODY);
  });

  it('refuses a declared Content-Length over the cap before reading the body', async () => {
    expect((await failure(downloadAttachment(`${base}/declared-big`, options()))).code).toBe('too_large');
  });

  it('stops a body without Content-Length once it passes the cap', async () => {
    const started = performance.now();
    expect((await failure(downloadAttachment(`${base}/endless`, options({ maxBytes: 256 * 1024 })))).code).toBe('too_large');
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it('counts the decoded bytes of a compressed body', async () => {
    expect((await failure(downloadAttachment(`${base}/gzip-bomb`, options()))).code).toBe('too_large');
  });

  it.each(['/stall-headers', '/stall-body'])('times out on %s', async (path) => {
    const started = performance.now();
    const error = await failure(downloadAttachment(`${base}${path}`, options({ timeoutMs: 300 })));
    expect(error.code).toBe('timeout');
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it('follows a redirect that stays on an allowed host', async () => {
    expect(await downloadAttachment(`${base}/to-ok`, options())).toEqual(BODY);
  });

  it.each(['/to-evil', '/to-metadata'])('refuses a redirect off the allow-list (%s) without following it', async (path) => {
    const seen: string[] = [];
    const spy: typeof fetch = (input, init) => {
      seen.push(String(input));
      return fetch(input, init);
    };
    const error = await failure(downloadAttachment(`${base}${path}`, options({ fetch: spy })));
    expect(error.code).toBe('host_not_allowed');
    expect(seen).toEqual([`${base}${path}`]);
  });

  it('gives up on a redirect loop', async () => {
    expect((await failure(downloadAttachment(`${base}/loop`, options()))).code).toBe('too_many_redirects');
  });

  it('reports an HTTP error', async () => {
    const error = await failure(downloadAttachment(`${base}/missing`, options()));
    expect(error.code).toBe('http_error');
    expect(error.message).toContain('404');
  });

  it('reports a refused connection', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failure(downloadAttachment(`http://127.0.0.1:${port}/a.png`, options({ allowedHosts: [`127.0.0.1:${port}`] })));
    expect(error.code).toBe('network_error');
  });
});
