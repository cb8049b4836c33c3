import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

/** What the Hub emulator stores, and how it answers with JSON or file bytes (see index.ts for the routes). */

export interface HubFile {
  data: Buffer;
  /** Stored in LFS (its sha256) rather than in git. */
  lfs?: string;
}

export interface HubRepo {
  id: string;
  private: boolean;
  license?: string;
  files: Map<string, HubFile>;
  /** Oldest first; each with the repository's files as that commit left them. */
  commits: { oid: string; title: string; description?: string; paths: string[]; files: Map<string, HubFile> }[];
}

export interface HubRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  status: number;
}

export function gitBlobOid(data: Buffer): string {
  return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
}

/** The git-lfs pointer the repo's git tree holds for an LFS file; its blob id is the file's `oid`. */
export function lfsPointer(file: HubFile): Buffer {
  return Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${file.lfs}\nsize ${file.data.length}\n`);
}

export function json(res: ServerResponse, record: HubRequest, status: number, body: unknown, type = 'application/json'): void {
  record.status = status;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'content-length': Buffer.byteLength(text), 'x-request-id': `Root=1-${randomBytes(6).toString('hex')}` });
  res.end(text);
}

/** File bytes, honouring `Range: bytes=a-b` (fileDownloadInfo asks for `bytes=0-0` to learn the size from Content-Range). */
export function bytes(req: IncomingMessage, res: ServerResponse, record: HubRequest, data: Buffer, headers: Record<string, string> = {}): void {
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const start = range ? Number(range[1]) : 0;
  const end = range ? Math.min(data.length - 1, range[2] ? Number(range[2]) : data.length - 1) : data.length - 1;
  const part = data.subarray(start, end + 1);
  record.status = range ? 206 : 200;
  res.writeHead(record.status, {
    'content-type': 'application/octet-stream',
    'content-length': part.length,
    'accept-ranges': 'bytes',
    ...(range && { 'content-range': `bytes ${start}-${end}/${data.length}` }),
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : part);
}
