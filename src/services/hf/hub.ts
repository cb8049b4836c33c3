import { HubApiError, commit, createRepo, pathsInfo, whoAmI } from '@huggingface/hub';
import type { Logger } from '../../log.js';
import { HubError, type HubAccount, type ModelHub } from '../types.js';

export interface HfHubOptions {
  token: string;
  /** `HF_HUB_URL`: https://huggingface.co, or an emulator. */
  hubUrl: string;
  fetch?: typeof fetch;
  log: Logger;
}

/**
 * The Hugging Face Hub through @huggingface/hub 2.17.5: `whoAmI`, `createRepo`, `pathsInfo`
 * and `commit` (preupload → LFS batch → PUTs → NDJSON commit, in that order: one commit per
 * call, so a failure leaves the repository as it was).
 */
export function createHfHub({ token, hubUrl, fetch, log }: HfHubOptions): ModelHub {
  const credentials = { accessToken: token, hubUrl, fetch };
  return {
    async account() {
      const who = await call(() => whoAmI(credentials));
      // `fineGrained` is not in the client's AccessTokenRole type, but the Hub answers it for
      // fine-grained tokens, with the namespaces and permissions in `fineGrained.scoped`.
      const accessToken = who.auth.accessToken as { role?: string; fineGrained?: { scoped?: { entity?: { name?: string }; permissions?: string[] }[] } } | undefined;
      const scoped: HubAccount['scoped'] = {};
      for (const entry of accessToken?.fineGrained?.scoped ?? []) if (entry.entity?.name) scoped[entry.entity.name] = entry.permissions ?? [];
      return { name: who.name, orgs: 'orgs' in who ? who.orgs.map((org) => org.name) : [], role: accessToken?.role ?? 'read', scoped };
    },
    async createRepo(repo, options) {
      try {
        await call(() => createRepo({ ...credentials, repo: { type: 'model', name: repo }, visibility: options.private ? 'private' : 'public', license: options.license }));
        log.info({ repo }, 'model repository created on the Hub');
        return true;
      } catch (error) {
        // 409: it exists (ours, or one this token may write: the commit will tell).
        if (error instanceof HubError && error.failure === 'conflict') return false;
        throw error;
      }
    },
    async fileIds(repo, paths) {
      const infos = await call(() => pathsInfo({ ...credentials, repo: { type: 'model', name: repo }, paths: [...paths] }));
      return new Map(infos.filter((info) => info.oid).map((info) => [info.path, { gitOid: info.oid!, ...(info.lfs && { sha256: info.lfs.oid }) }]));
    },
    async commit(repo, files, title) {
      const output = await call(() =>
        commit({
          ...credentials,
          repo: { type: 'model', name: repo },
          title,
          // The plain LFS upload (batch + PUT), which the Hub still accepts, instead of Xet's
          // chunked protocol: the path kmplz's tests exercise is the one it uses.
          useXet: false,
          operations: files.map((file) => ({ operation: 'addOrUpdate' as const, path: file.path, content: file.content })),
        }),
      );
      if (!output) throw new HubError('failed', 'the Hub answered the commit without a commit id');
      return { oid: output.commit.oid };
    },
    repoUrl: (repo) => `${hubUrl}/${repo}`,
    fileUrl: (repo, path, revision) => `${hubUrl}/${repo}/resolve/${encodeURIComponent(revision)}/${path.split('/').map(encodeURIComponent).join('/')}`,
  };
}

/** The client's errors, sorted by what the person publishing should be told. */
async function call<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    if (!(error instanceof HubApiError)) {
      // fetch failed: the Hub cannot be reached at all.
      const cause = (error as Error).cause instanceof Error ? ` (${((error as Error).cause as Error).message})` : '';
      throw new HubError('unavailable', `the Hub cannot be reached: ${(error as Error).message}${cause}`);
    }
    const status = error.statusCode;
    const text = `${status} ${error.message}`;
    if (status === 401) throw new HubError('unauthorized', text);
    if (status === 403) throw new HubError('forbidden', text);
    if (status === 404) throw new HubError('not-found', text);
    if (status === 409) throw new HubError('conflict', text);
    if (status === 429 || status >= 500) throw new HubError('unavailable', text);
    throw new HubError('failed', text);
  }
}
