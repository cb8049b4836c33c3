import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bytes, json, type HubFile, type HubRepo, type HubRequest } from './model.js';

/** The Hub's LFS storage and its commit endpoint: where uploaded bytes land and become files of a repository. */
export class HubStore {
  /** sha256 → the object's bytes. */
  readonly lfs = new Map<string, Buffer>();
  private readonly multipart = new Map<string, Map<number, Buffer>>();

  /** The presigned storage URLs of the batch answer: GET/HEAD the object, PUT it whole or in parts, complete a multipart upload. */
  storage(req: IncomingMessage, res: ServerResponse, record: HubRequest, url: URL, oid: string, body: Buffer): void {
    if (req.method === 'GET' || req.method === 'HEAD') {
      const data = this.lfs.get(oid);
      if (!data) return json(res, record, 404, { error: 'NoSuchKey' });
      return bytes(req, res, record, data, { etag: `"${oid}"` });
    }
    const size = Number(url.searchParams.get('size'));
    const part = url.searchParams.get('part');
    if (req.method === 'PUT' && part) {
      const parts = this.multipart.get(oid) ?? new Map<number, Buffer>();
      this.multipart.set(oid, parts.set(Number(part), body));
      record.status = 200;
      res.writeHead(200, { etag: `"${createHash('md5').update(body).digest('hex')}"` }).end();
      return;
    }
    let data = body;
    if (req.method === 'POST' && url.searchParams.get('complete')) {
      const { parts } = JSON.parse(body.toString('utf8')) as { parts: { partNumber: number; etag: string }[] };
      const stored = this.multipart.get(oid);
      if (!stored || parts.some((p) => !p.etag || !stored.has(p.partNumber))) return json(res, record, 400, { error: 'InvalidPart' });
      data = Buffer.concat(parts.sort((a, b) => a.partNumber - b.partNumber).map((p) => stored.get(p.partNumber)!));
      this.multipart.delete(oid);
    } else if (req.method !== 'PUT') {
      return json(res, record, 405, { error: 'MethodNotAllowed' });
    }
    // What makes the upload trustworthy: the bytes must be the object the batch call named.
    if (data.length !== size || createHash('sha256').update(data).digest('hex') !== oid) return json(res, record, 400, { error: 'BadDigest: the content does not match the sha256 and size it was announced with' });
    this.lfs.set(oid, data);
    record.status = 200;
    res.writeHead(200, { etag: `"${oid}"` }).end();
  }

  /** `POST /api/models/{repo}/commit/{rev}`: the NDJSON commit. */
  commit(req: IncomingMessage, res: ServerResponse, record: HubRequest, repo: HubRepo, body: Buffer, base: string): void {
    if (!(req.headers['content-type'] ?? '').startsWith('application/x-ndjson')) return json(res, record, 400, { error: 'Expected application/x-ndjson' });
    const lines = body.toString('utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { key: string; value: Record<string, unknown> });
    const [header, ...operations] = lines;
    if (header?.key !== 'header' || typeof header.value.summary !== 'string') return json(res, record, 400, { error: 'The first line must be the commit header with a summary' });
    const parent = header.value.parentCommit;
    if (typeof parent === 'string' && parent !== repo.commits.at(-1)?.oid) return json(res, record, 412, { error: 'A commit has happened since. Please refresh and try again.' });
    const changes = new Map<string, HubFile | undefined>();
    for (const { key, value } of operations) {
      const path = String(value.path);
      if (key === 'file') {
        const data = Buffer.from(String(value.content), value.encoding === 'base64' ? 'base64' : 'utf8');
        if (data.includes(0)) return json(res, record, 400, { error: `Your push was rejected because it contains binary files (${path}). Please use LFS to store binary files.` });
        changes.set(path, { data });
      } else if (key === 'lfsFile') {
        const oid = String(value.oid);
        const data = this.lfs.get(oid);
        if (!data || data.length !== value.size) return json(res, record, 422, { error: `LFS object ${oid} for ${path} was never uploaded` });
        changes.set(path, { data, lfs: oid });
      } else if (key === 'deletedFile') {
        changes.set(path, undefined);
      } else {
        return json(res, record, 400, { error: `Unknown operation ${key}` });
      }
    }
    for (const [path, file] of changes) {
      if (file) repo.files.set(path, file);
      else repo.files.delete(path);
    }
    const oid = createHash('sha1').update(`${repo.id}:${repo.commits.length}:${randomBytes(8).toString('hex')}`).digest('hex');
    repo.commits.push({ oid, title: header.value.summary, description: header.value.description as string | undefined, paths: [...changes.keys()], files: new Map(repo.files) });
    json(res, record, 200, { success: true, commitOid: oid, commitUrl: `${base}/${repo.id}/commit/${oid}`, hookOutput: '' });
  }
}
