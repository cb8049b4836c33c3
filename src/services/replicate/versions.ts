import type Replicate from 'replicate';
import { httpStatusOf } from './client.js';

/** `owner/name` or `owner/name:version`, as the REPLICATE_* keys name a model. */
export interface ModelRef {
  owner: string;
  name: string;
  version?: string;
}

export function parseModelRef(ref: string): ModelRef {
  const [model = '', version] = ref.split(':');
  const [owner = '', name = ''] = model.split('/');
  return { owner, name, ...(version ? { version } : {}) };
}

/** A model version as the API describes it: its id and its own statement of inputs and outputs. */
export interface ResolvedVersion {
  owner: string;
  name: string;
  id: string;
  /** `openapi_schema` of the version (null when the API has none). */
  schema: unknown;
}

/** Why a configured model has no version to run: told to people in the words of the key that names it. */
export class VersionUnavailable extends Error {
  constructor(
    readonly reason: 'not-found' | 'no-version',
    readonly ref: string,
  ) {
    super(reason === 'not-found' ? `${ref} was not found on Replicate` : `${ref} has no version to run`);
    this.name = 'VersionUnavailable';
  }
}

/**
 * Finds the version a configured model runs. Predictions are always created with a version:
 * `POST /models/{owner}/{name}/predictions` serves official models only, and neither
 * `stability-ai/sdxl` nor `salesforce/blip` is one. An unversioned name is
 * resolved once to its latest version (`GET /models/{o}/{n}` → `latest_version`) and kept for
 * the process's life, so every call of one run of the bot uses the same version and schema.
 * No failure is kept, a definite one (a 404: no such model) included: the next call asks again, so a model
 * created or made public after the bot started is found without a restart.
 */
export class VersionResolver {
  private readonly known = new Map<string, Promise<ResolvedVersion>>();

  constructor(private readonly client: Replicate) {}

  /** The version id to create with: the pinned one as it is, else the latest one. */
  async id(ref: string): Promise<string> {
    return parseModelRef(ref).version ?? (await this.resolve(ref)).id;
  }

  resolve(ref: string): Promise<ResolvedVersion> {
    let found = this.known.get(ref);
    if (!found) {
      found = this.lookUp(ref);
      this.known.set(ref, found);
      found.catch(() => this.known.delete(ref));
    }
    return found;
  }

  private async lookUp(ref: string): Promise<ResolvedVersion> {
    const { owner, name, version } = parseModelRef(ref);
    try {
      if (version) {
        const found = await this.client.models.versions.get(owner, name, version);
        return { owner, name, id: found.id, schema: found.openapi_schema ?? null };
      }
      const model = await this.client.models.get(owner, name);
      const latest = model.latest_version;
      if (!latest?.id) throw new VersionUnavailable('no-version', ref);
      return { owner, name, id: latest.id, schema: latest.openapi_schema ?? null };
    } catch (error) {
      if (httpStatusOf(error) === 404) throw new VersionUnavailable('not-found', ref);
      throw error;
    }
  }
}
