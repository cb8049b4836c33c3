import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bytes, gitBlobOid, json, lfsPointer, type HubRepo, type HubRequest } from './model.js';
import { HubStore } from './storage.js';

export { gitBlobOid, type HubFile, type HubRepo, type HubRequest } from './model.js';

/**
 * The Hugging Face Hub's model-repository API, as @huggingface/hub 2.17.5 calls it to publish a
 * LoRA. Each route cites the client file it follows (package `src/lib/*.ts`, read from the
 * 2.17.5 tarball on npm):
 *
 * - `whoAmI` (who-am-i.ts): `GET /api/whoami-v2` with the token as Bearer; the answer's
 *   `auth.accessToken.role` is `read`, `write` or `fineGrained` (then `fineGrained.scoped[]`
 *   lists per-namespace permissions such as `repo.write`, as huggingface_hub documents).
 * - `createRepo` (create-repo.ts): `POST /api/repos/create` `{name, organization, type,
 *   visibility, license}`; 409 when the repo exists, 403 for a namespace the token may not write.
 * - `commit` (commit.ts), in order: `POST /api/models/{repo}/preupload/{rev}` (`files[]` with
 *   a base64 sample of the first 512 bytes → `uploadMode` lfs/regular); for the LFS ones
 *   `POST /{repo}.git/info/lfs/objects/batch` (git-lfs batch; `transfers` lists basic,
 *   multipart and xet, and the answer's `transfer` picks one: this Hub answers `basic`, so the
 *   client takes its plain-PUT path; an object without `actions` is already stored); a `PUT` of
 *   the bytes to `actions.upload.href` (no Authorization, like a presigned S3 URL; the sha256 and
 *   size are checked here), or the multipart variant (`header.chunk_size` plus one URL per part
 *   `00001`…, each answered with an ETag, then a completion POST to `href`); and last
 *   `POST /api/models/{repo}/commit/{rev}` as `application/x-ndjson`: a `header` line, then
 *   `file` (base64 content) and `lfsFile` (`{path, algo, size, oid}`) lines.
 * - `pathsInfo` (paths-info.ts): `POST /api/models/{repo}/paths-info/{rev}` `{paths, expand}`
 *   → `[{type, path, oid, size, lfs?: {oid, size, pointerSize}}]` for the paths that exist
 *   (`oid` is the git blob id; an LFS file's sha256 is `lfs.oid`).
 * - `GET /{repo}/resolve/{rev}/{path}` (rev: main or a commit id): a regular file's bytes, or for an LFS file a 302 to the
 *   storage URL (as huggingface.co redirects to its CDN); 401 for a private repo without a token.
 *
 * Awkward behaviour reproduced: a binary file sent inline in the commit is refused (the Hub keeps
 * binaries in LFS), an `lfsFile` line for an object never uploaded is refused, a stale
 * `parentCommit` is refused, and the Hub commits even when nothing changed (skipping an
 * unchanged upload is the client's job).
 */

export interface HubToken {
  /** The user the token belongs to. */
  user: string;
  role: 'read' | 'write' | 'fineGrained';
  /** Organisations the user belongs to (a write token writes there too). */
  orgs?: string[];
  /** fineGrained only: namespace → permissions, e.g. `{ alice: ['repo.content.read', 'repo.write'] }`. */
  scoped?: Record<string, string[]>;
}

export interface HubEmulatorOptions {
  /** token → who it is; default one write token of user `kmplz-class`. */
  tokens?: Record<string, HubToken>;
  /** LFS objects larger than this are uploaded in parts of this size (the multipart transfer); unset: never. */
  multipartChunkSize?: number;
}

export interface HubEmulator {
  /** What kmplz takes as `HF_HUB_URL`. */
  readonly url: string;
  /** The default write token. */
  readonly token: string;
  readonly repos: Map<string, HubRepo>;
  readonly requests: HubRequest[];
  /** Adds a repo owned by someone, as if created elsewhere. */
  addRepo(id: string, files?: Record<string, Buffer | string>, options?: { private?: boolean }): HubRepo;
  /** The next `count` API requests (not storage PUTs) get this status: 503 for "the Hub is down". */
  inject(status: number, count?: number): void;
  close(): Promise<void>;
}

const REGULAR_LIMIT = 10 * 1024 * 1024;
/** Binary files by name, as in the `.gitattributes` the Hub puts in a new model repo. */
const LFS_BY_NAME = /\.(7z|arrow|bin|bz2|ckpt|ftz|gz|h5|joblib|mlmodel|model|msgpack|npy|npz|onnx|ot|parquet|pb|pickle|pkl|pt|pth|rar|safetensors|tar|tflite|tgz|wasm|xz|zip|zst|pti|png|jpe?g|webp)$/i;

export async function startHubEmulator(options: HubEmulatorOptions = {}): Promise<HubEmulator> {
  const defaultToken = 'hf_hub_emulator_write';
  const tokens: Record<string, HubToken> = options.tokens ?? { [defaultToken]: { user: 'kmplz-class', role: 'write' } };
  const repos = new Map<string, HubRepo>();
  const requests: HubRequest[] = [];
  const store = new HubStore();
  const faults: { status: number; remaining: number }[] = [];
  let base = '';

  const whoFor = (req: IncomingMessage): HubToken | undefined => {
    const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    return match ? tokens[match[1]!] : undefined;
  };
  const canWrite = (who: HubToken | undefined, namespace: string) => {
    if (!who) return false;
    if (who.role === 'write') return namespace === who.user || (who.orgs ?? []).includes(namespace);
    if (who.role === 'fineGrained') return (who.scoped?.[namespace] ?? []).includes('repo.write');
    return false;
  };
  const canRead = (who: HubToken | undefined, repo: HubRepo) => {
    const namespace = repo.id.split('/')[0]!;
    return !repo.private || (who !== undefined && (namespace === who.user || (who.orgs ?? []).includes(namespace) || (who.scoped?.[namespace] ?? []).length > 0));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', base);
    const record: HubRequest = { method: req.method ?? 'GET', path: url.pathname, headers: req.headers, status: 0 };
    requests.push(record);
    const who = whoFor(req);

    // Storage (the presigned URLs of the batch answer): no token, the URL is the permission.
    const storage = /^\/__lfs\/([0-9a-f]{64})$/.exec(url.pathname);
    if (storage) return store.storage(req, res, record, url, storage[1]!, body);

    const fault = faults[0];
    if (fault) {
      if (--fault.remaining <= 0) faults.shift();
      return json(res, record, fault.status, { error: 'The Hub is unavailable' });
    }
    if (req.headers.authorization && !who) return json(res, record, 401, { error: 'Invalid credentials in Authorization header' });

    if (req.method === 'GET' && url.pathname === '/api/whoami-v2') {
      if (!who) return json(res, record, 401, { error: 'Invalid credentials in Authorization header' });
      const accessToken = {
        displayName: 'kmplz',
        role: who.role,
        createdAt: '2026-01-01T00:00:00.000Z',
        ...(who.role === 'fineGrained' && {
          fineGrained: {
            canReadGatedRepos: false,
            global: [],
            scoped: Object.entries(who.scoped ?? {}).map(([name, permissions]) => ({ entity: { _id: name, type: name === who.user ? 'user' : 'org', name }, permissions })),
          },
        }),
      };
      return json(res, record, 200, {
        type: 'user',
        id: `id-${who.user}`,
        name: who.user,
        fullname: who.user,
        email: `${who.user}@example.org`,
        emailVerified: true,
        isPro: false,
        canPay: false,
        periodEnd: null,
        billingMode: 'postpaid',
        avatarUrl: '',
        orgs: (who.orgs ?? []).map((org) => ({ type: 'org', id: `id-${org}`, name: org, fullname: org, email: null, canPay: false, avatarUrl: '', periodEnd: null })),
        auth: { type: 'access_token', accessToken },
      });
    }

    if (req.method === 'POST' && url.pathname === '/api/repos/create') {
      if (!who) return json(res, record, 401, { error: 'Invalid credentials in Authorization header' });
      const payload = JSON.parse(body.toString('utf8')) as { name?: string; organization?: string; type?: string; visibility?: string; license?: string };
      const namespace = payload.organization ?? who.user;
      const id = `${namespace}/${payload.name}`;
      if (payload.type !== 'model') return json(res, record, 400, { error: 'Only model repos in this emulator' });
      if (!canWrite(who, namespace)) return json(res, record, 403, { error: `You don't have the rights to create a model under the namespace "${namespace}"` });
      if (repos.has(id)) return json(res, record, 409, { error: 'You already created this model repo', url: `${base}/${id}` });
      repos.set(id, { id, private: payload.visibility === 'private', license: payload.license, files: new Map(), commits: [] });
      return json(res, record, 200, { url: `${base}/${id}`, name: id, id: `repo-${randomBytes(4).toString('hex')}` });
    }

    const api = /^\/api\/models\/([\w.-]+\/[\w.-]+)\/(preupload|commit|paths-info)\/([^/]+)$/.exec(url.pathname);
    if (api && req.method === 'POST') {
      const repo = repos.get(api[1]!);
      if (!repo || !canRead(who, repo)) return json(res, record, 404, { error: 'Repository not found' });
      if (api[2] !== 'paths-info' && !canWrite(who, repo.id.split('/')[0]!)) return json(res, record, 403, { error: 'You don\'t have the rights to write to this repository' });
      if (decodeURIComponent(api[3]!) !== 'main') return json(res, record, 404, { error: 'Revision not found' });
      if (api[2] === 'preupload') {
        const { files } = JSON.parse(body.toString('utf8')) as { files: { path: string; size: number; sample: string }[] };
        return json(res, record, 200, {
          files: files.map((file) => {
            const binary = Buffer.from(file.sample, 'base64').includes(0);
            return { path: file.path, uploadMode: file.size > REGULAR_LIMIT || LFS_BY_NAME.test(file.path) || binary ? 'lfs' : 'regular', shouldIgnore: false };
          }),
          commitOid: repo.commits.at(-1)?.oid ?? null,
        });
      }
      if (api[2] === 'paths-info') {
        const { paths } = JSON.parse(body.toString('utf8')) as { paths: string[] };
        return json(res, record, 200, paths.flatMap((path) => {
          const file = repo.files.get(path);
          if (!file) return [];
          return [{ type: 'file', path, oid: gitBlobOid(file.lfs ? lfsPointer(file) : file.data), size: file.data.length, ...(file.lfs && { lfs: { oid: file.lfs, size: file.data.length, pointerSize: lfsPointer(file).length } }) }];
        }));
      }
      return store.commit(req, res, record, repo, body, base);
    }

    const batch = /^\/([\w.-]+\/[\w.-]+)\.git\/info\/lfs\/objects\/batch$/.exec(url.pathname);
    if (batch && req.method === 'POST') {
      const repo = repos.get(batch[1]!);
      if (!repo || !canRead(who, repo)) return json(res, record, 404, { message: 'Repository not found' }, 'application/vnd.git-lfs+json');
      if (!canWrite(who, repo.id.split('/')[0]!)) return json(res, record, 403, { message: 'Forbidden' }, 'application/vnd.git-lfs+json');
      if (!(req.headers['content-type'] ?? '').startsWith('application/vnd.git-lfs+json')) return json(res, record, 415, { message: 'Unsupported media type' });
      const request = JSON.parse(body.toString('utf8')) as { operation: string; transfers?: string[]; objects: { oid: string; size: number }[] };
      if (request.operation !== 'upload' || !(request.transfers ?? ['basic']).includes('basic')) return json(res, record, 422, { message: 'Only basic uploads' }, 'application/vnd.git-lfs+json');
      return json(res, record, 200, {
        transfer: 'basic',
        objects: request.objects.map(({ oid, size }) => {
          if (store.lfs.has(oid)) return { oid, size };
          const href = `${base}/__lfs/${oid}?size=${size}`;
          const chunk = options.multipartChunkSize;
          if (chunk && size > chunk) {
            const parts = Object.fromEntries(Array.from({ length: Math.ceil(size / chunk) }, (_, i) => [String(i + 1).padStart(5, '0'), `${href}&part=${i + 1}`]));
            return { oid, size, authenticated: true, actions: { upload: { href: `${href}&complete=1`, header: { chunk_size: String(chunk), ...parts } } } };
          }
          return { oid, size, authenticated: true, actions: { upload: { href, expires_in: 86400 } } };
        }),
      }, 'application/vnd.git-lfs+json');
    }

    const resolve = /^\/([\w.-]+\/[\w.-]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (resolve && (req.method === 'GET' || req.method === 'HEAD')) {
      const repo = repos.get(resolve[1]!);
      if (repo?.private && !canRead(who, repo)) {
        record.status = 401;
        res.writeHead(401, { 'x-error-code': 'RepoNotFound' }).end();
        return;
      }
      // A revision is the branch (main) or a commit id: a commit's files stay as it left them.
      const revision = decodeURIComponent(resolve[2]!);
      const files = revision === 'main' ? repo?.files : repo?.commits.find((c) => c.oid === revision)?.files;
      const file = files?.get(decodeURIComponent(resolve[3]!));
      if (!file) {
        record.status = 404;
        res.writeHead(404, { 'content-type': 'application/json', 'x-error-code': repo ? 'EntryNotFound' : 'RepoNotFound' }).end(JSON.stringify({ error: 'Entry not found' }));
        return;
      }
      if (file.lfs) {
        record.status = 302;
        res.writeHead(302, { location: `${base}/__lfs/${file.lfs}`, 'x-linked-etag': `"${file.lfs}"`, 'x-linked-size': String(file.data.length) }).end();
        return;
      }
      return bytes(req, res, record, file.data, { etag: `"${gitBlobOid(file.data)}"` });
    }
    json(res, record, 404, { error: 'Not found' });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(error) }));
    });
  });
  // Node's 5 s default would close a connection the client keeps while it converts a large
  // archive, and undici does not retry a POST on a socket closed under it; the Hub's front end
  // keeps idle connections far longer.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    token: Object.keys(tokens)[0] ?? defaultToken,
    repos,
    requests,
    addRepo(id, files = {}, { private: isPrivate = false } = {}) {
      const repo: HubRepo = { id, private: isPrivate, files: new Map(), commits: [] };
      for (const [path, content] of Object.entries(files)) repo.files.set(path, { data: Buffer.from(content) });
      repos.set(id, repo);
      return repo;
    },
    inject(status, count = 1) {
      faults.push({ status, remaining: count });
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
