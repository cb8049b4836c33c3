import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Config } from '../config.js';
import type { Store } from '../store/store.js';
import { ARCHIVE_TOKEN, checkpointArchivePath, type ServedArchive } from '../training/checkpoint-archives.js';
import type { HttpResponse, Route } from './server.js';
import { keys } from '../store/keys.js';

const NOT_FOUND: HttpResponse = { status: 404, body: { error: 'not found' } };

/**
 * `GET|HEAD /checkpoints/<token>.tar`: kmplz's kept copy of a checkpoint's archive, for Replicate
 * to draw with once it has deleted its own (src/services/replicate/generator.ts). Only archives
 * kmplz kept, each under the random token on its checkpoint record; no listing, and the same 404
 * for a wrong token and an archive retention let go. One byte range is honoured (a resumed download).
 */
export function checkpointArchiveRoute({ config, store }: { config: Config; store: Store }): Route {
  return {
    method: 'GET',
    path: '/checkpoints/*',
    async handle({ path, headers }) {
      const token = /^\/checkpoints\/([^/]+)\.tar$/.exec(path)?.[1];
      if (!token || !ARCHIVE_TOKEN.test(token)) return NOT_FOUND;
      const served = await store.get<ServedArchive>(keys.archiveToken(token));
      if (!served) return NOT_FOUND;
      const file = checkpointArchivePath(config, served.guildId, served.trainingId, served.step);
      const size = (await stat(file).catch(() => undefined))?.size;
      if (size === undefined) return NOT_FOUND;
      const type = { 'content-type': 'application/x-tar', 'accept-ranges': 'bytes', 'cache-control': 'private, no-store' };
      const range = parseRange(headers.range, size);
      if (range === 'unsatisfiable') return { status: 416, headers: { 'content-range': `bytes */${size}` } };
      if (range) {
        const { start, end } = range;
        return { status: 206, headers: { ...type, 'content-length': String(end - start + 1), 'content-range': `bytes ${start}-${end}/${size}` }, stream: createReadStream(file, { start, end }) };
      }
      return { status: 200, headers: { ...type, 'content-length': String(size) }, stream: createReadStream(file) };
    },
  };
}

/** One `bytes=a-b`, `bytes=a-` or `bytes=-n` range; anything else is answered whole (RFC 9110 lets a server ignore Range). */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  const [start, end] = match[1] === '' ? [Math.max(0, size - Number(match[2])), size - 1] : [Number(match[1]), match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1)];
  return start > end || start >= size ? 'unsatisfiable' : { start, end };
}
