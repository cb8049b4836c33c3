import { createHash } from 'node:crypto';
import { HubApiError, commit, createRepo, downloadFile, pathsInfo, whoAmI } from '@huggingface/hub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitBlobOid, startHubEmulator, type HubEmulator } from './hub/index.js';

/** These drive the real @huggingface/hub 2.17.5 against the emulator, as /publish does. */
let hub: HubEmulator;
const READ = 'hf_read_only';
const FINE = 'hf_fine_grained';
const WRITE = 'hf_write';

beforeAll(async () => {
  hub = await startHubEmulator({
    tokens: {
      [WRITE]: { user: 'teacher', role: 'write', orgs: ['school'] },
      [READ]: { user: 'teacher', role: 'read' },
      [FINE]: { user: 'teacher', role: 'fineGrained', scoped: { teacher: ['repo.content.read'], school: ['repo.content.read', 'repo.write'] } },
    },
    multipartChunkSize: 64 * 1024,
  });
});
afterAll(() => hub.close());

const at = (token: string) => ({ accessToken: token, hubUrl: hub.url });
const statusOf = (error: unknown) => (error instanceof HubApiError ? error.statusCode : error);

describe('Hub emulator', () => {
  it('whoami tells the token role, and for a fine-grained token the namespaces it may write', async () => {
    const write = await whoAmI(at(WRITE));
    expect(write).toMatchObject({ type: 'user', name: 'teacher', auth: { type: 'access_token', accessToken: { role: 'write' } } });
    expect(write.auth.accessToken?.createdAt).toBeInstanceOf(Date);
    expect((await whoAmI(at(READ))).auth.accessToken?.role).toBe('read');
    const fine = (await whoAmI(at(FINE))).auth.accessToken as unknown as { role: string; fineGrained: { scoped: { entity: { name: string }; permissions: string[] }[] } };
    expect(fine.role).toBe('fineGrained');
    expect(fine.fineGrained.scoped.find((s) => s.entity.name === 'school')?.permissions).toContain('repo.write');
    expect(await whoAmI(at('hf_unknown')).catch(statusOf)).toBe(401);
  });

  it('creates a repo once (409 after), and refuses a namespace the token may not write (403)', async () => {
    const created = await createRepo({ ...at(WRITE), repo: { type: 'model', name: 'teacher/style' }, license: 'other' });
    expect(created.repoUrl).toBe(`${hub.url}/teacher/style`);
    expect(await createRepo({ ...at(WRITE), repo: 'teacher/style' }).catch(statusOf)).toBe(409);
    expect(await createRepo({ ...at(WRITE), repo: 'someone-else/style' }).catch(statusOf)).toBe(403);
    expect(await createRepo({ ...at(READ), repo: 'teacher/other' }).catch(statusOf)).toBe(403);
    // A fine-grained token writes only where it was scoped to.
    expect(await createRepo({ ...at(FINE), repo: 'teacher/other' }).catch(statusOf)).toBe(403);
    await createRepo({ ...at(FINE), repo: 'school/style', visibility: 'private' });
    expect(hub.repos.get('school/style')?.private).toBe(true);
  });

  it('commits text inline and binaries through LFS (basic PUT and multipart), in one commit, and reads them back', async () => {
    await createRepo({ ...at(WRITE), repo: 'teacher/upload' });
    const weights = Buffer.alloc(200 * 1024, 7); // past the 64 KiB part size: multipart
    const picture = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]); // a NUL byte: binary, LFS
    const before = hub.requests.length;
    const out = await commit({
      ...at(WRITE),
      repo: 'teacher/upload',
      title: 'Upload',
      useXet: false,
      operations: [
        { operation: 'addOrUpdate', path: 'README.md', content: new Blob(['# hello\n']) },
        { operation: 'addOrUpdate', path: 'pytorch_lora_weights.safetensors', content: new Blob([weights]) },
        { operation: 'addOrUpdate', path: 'images/a.png', content: new Blob([picture]) },
      ],
    });
    expect(out?.commit.oid).toMatch(/^[0-9a-f]{40}$/);
    const calls = hub.requests.slice(before).map((r) => `${r.method} ${r.path.replace(/[0-9a-f]{64}/, '<oid>')} ${r.status}`);
    expect(calls[0]).toBe('POST /api/models/teacher/upload/preupload/main 200');
    expect(calls[1]).toBe('POST /teacher/upload.git/info/lfs/objects/batch 200');
    expect(calls.filter((c) => c.startsWith('PUT /__lfs/<oid> 200'))).toHaveLength(5); // 1 basic + 4 parts of 64 KiB
    expect(calls).toContain('POST /__lfs/<oid> 200'); // multipart completion
    expect(calls.at(-1)).toBe('POST /api/models/teacher/upload/commit/main 200');
    const repo = hub.repos.get('teacher/upload')!;
    expect(repo.commits).toHaveLength(1);
    expect(repo.files.get('README.md')?.lfs).toBeUndefined();
    expect(repo.files.get('pytorch_lora_weights.safetensors')?.lfs).toBe(createHash('sha256').update(weights).digest('hex'));

    const info = await pathsInfo({ ...at(WRITE), repo: 'teacher/upload', paths: ['README.md', 'images/a.png', 'missing.txt'] });
    expect(info.map((i) => i.path)).toEqual(['README.md', 'images/a.png']);
    expect(info[0]?.oid).toBe(gitBlobOid(Buffer.from('# hello\n')));
    expect(info[1]?.lfs?.oid).toBe(createHash('sha256').update(picture).digest('hex'));

    const back = await downloadFile({ ...at(WRITE), repo: 'teacher/upload', path: 'pytorch_lora_weights.safetensors' });
    expect(Buffer.from(await back!.arrayBuffer()).equals(weights)).toBe(true);
    // Public: the resolve URL works without a token (what a generator fetching the archive needs).
    const plain = await fetch(`${hub.url}/teacher/upload/resolve/main/images/a.png`);
    expect(Buffer.from(await plain.arrayBuffer()).equals(picture)).toBe(true);
  });

  it('stores an LFS object once: the second batch answers without actions and nothing is PUT again', async () => {
    await createRepo({ ...at(WRITE), repo: 'teacher/again' });
    const data = Buffer.from([0, 1, 2, 3, 4]);
    const upload = () => commit({ ...at(WRITE), repo: 'teacher/again', title: 'x', useXet: false, operations: [{ operation: 'addOrUpdate', path: 'w.bin', content: new Blob([data]) }] });
    await upload();
    const before = hub.requests.length;
    await upload();
    expect(hub.requests.slice(before).some((r) => r.method === 'PUT')).toBe(false);
    // The Hub itself commits even when nothing changed: skipping is the client's job.
    expect(hub.repos.get('teacher/again')?.commits).toHaveLength(2);
  });

  it('checks the sha256 of an upload, refuses binaries inline and LFS files never uploaded, and a read token cannot commit', async () => {
    await createRepo({ ...at(WRITE), repo: 'teacher/strict' });
    const oid = createHash('sha256').update('right').digest('hex');
    const wrong = await fetch(`${hub.url}/__lfs/${oid}?size=5`, { method: 'PUT', body: 'wrong' });
    expect(wrong.status).toBe(400);
    const ndjson = (lines: unknown[]) =>
      fetch(`${hub.url}/api/models/teacher/strict/commit/main`, {
        method: 'POST',
        headers: { authorization: `Bearer ${WRITE}`, 'content-type': 'application/x-ndjson' },
        body: lines.map((l) => JSON.stringify(l)).join('\n'),
      });
    const header = { key: 'header', value: { summary: 's' } };
    expect((await ndjson([header, { key: 'file', value: { path: 'x.bin', content: Buffer.from([1, 0, 2]).toString('base64'), encoding: 'base64' } }])).status).toBe(400);
    expect((await ndjson([header, { key: 'lfsFile', value: { path: 'x.bin', algo: 'sha256', size: 5, oid } }])).status).toBe(422);
    const denied = await commit({ ...at(READ), repo: 'teacher/strict', title: 'x', useXet: false, operations: [{ operation: 'addOrUpdate', path: 'a.txt', content: new Blob(['a']) }] }).catch(statusOf);
    expect(denied).toBe(403);
    expect(hub.repos.get('teacher/strict')?.commits).toHaveLength(0);
  });

  it('keeps private files from anonymous readers and can play the Hub being down', async () => {
    const repo = hub.addRepo('teacher/secret', { 'a.txt': 'a' }, { private: true });
    expect((await fetch(`${hub.url}/${repo.id}/resolve/main/a.txt`)).status).toBe(401);
    expect((await fetch(`${hub.url}/${repo.id}/resolve/main/a.txt`, { headers: { authorization: `Bearer ${WRITE}` } })).status).toBe(200);
    hub.inject(503);
    expect(await whoAmI(at(WRITE)).catch(statusOf)).toBe(503);
    expect((await whoAmI(at(WRITE))).name).toBe('teacher');
  });
});
