import { createHash } from 'node:crypto';
import type { ModelHandler } from './jobs.js';
import { blipCaptioner, type ModelTiming, sdxlGenerator } from './models.js';
import { BLIP_SCHEMA, COG_SDXL_SCHEMA, type OpenApiSchema, STREAMING_TRAINER_SCHEMA } from './schemas.js';
import { sdxlTrainer, streamingTrainer } from './trainers.js';

/** One model version and what it does when run or trained. */
export interface VersionEntry {
  readonly id: string;
  /** `owner/name`. */
  readonly model: string;
  readonly createdAt: number;
  readonly predict?: ModelHandler;
  readonly train?: ModelHandler;
  /** The version's `openapi_schema`: inputs are validated against its `Input` / `TrainingInput`. */
  readonly schema?: OpenApiSchema;
  /** Weights baked into a version a training created; they outlive the training's weights URL. */
  readonly weights?: Buffer;
}

export interface ModelEntry {
  readonly owner: string;
  readonly name: string;
  /** Official models run by `owner/name` alone; every other model needs a version. */
  readonly official: boolean;
  readonly visibility: 'public' | 'private';
  /** Oldest first. */
  readonly versions: VersionEntry[];
}

/** Real version ids of the models kmplz uses by default (cog-sdxl, BLIP). */
export const SDXL_MODEL = 'stability-ai/sdxl';
export const SDXL_VERSION = '7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc';
export const BLIP_MODEL = 'salesforce/blip';
export const BLIP_VERSION = '2e1dddc8621f72155f24cf2e0adbde548458d3cab9f00c0139eea840d0ac4746';
/** kmplz's own trainer (a prediction that yields a checkpoint every `checkpointing_steps`), pushed by a user. */
export const STREAMING_TRAINER_MODEL = 'kmplz-emulator/sdxl-lora-streaming';

export function versionIdFor(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

type Registration = 'prediction' | 'training';

/** Models, versions, and the handlers tests put in front of them. */
export class Catalogue {
  readonly models = new Map<string, ModelEntry>();
  private readonly persistent = new Map<string, ModelHandler>();
  private readonly once = new Map<string, ModelHandler[]>();

  constructor(timing: ModelTiming, nsfwWord: string, now: number) {
    const generate = sdxlGenerator(timing, nsfwWord);
    this.addModel(SDXL_MODEL, { official: false, visibility: 'public' }).versions.push({
      id: SDXL_VERSION,
      model: SDXL_MODEL,
      createdAt: now,
      predict: generate,
      train: sdxlTrainer(timing),
      schema: COG_SDXL_SCHEMA,
    });
    this.addModel(BLIP_MODEL, { official: false, visibility: 'public' }).versions.push({
      id: BLIP_VERSION,
      model: BLIP_MODEL,
      createdAt: now,
      predict: blipCaptioner(timing),
      schema: BLIP_SCHEMA,
    });
    this.addModel(STREAMING_TRAINER_MODEL, { official: false, visibility: 'public' }).versions.push({
      id: versionIdFor(STREAMING_TRAINER_MODEL),
      model: STREAMING_TRAINER_MODEL,
      createdAt: now,
      predict: streamingTrainer(timing),
      schema: STREAMING_TRAINER_SCHEMA,
    });
  }

  /** Creates `owner/name` if missing and returns it. */
  addModel(model: string, options: { official: boolean; visibility: 'public' | 'private' }): ModelEntry {
    const existing = this.models.get(model);
    if (existing) return existing;
    const [owner = '', name = ''] = model.split('/');
    if (!owner || !name || model.split('/').length !== 2) throw new Error(`model must be owner/name, got ${model}`);
    const entry: ModelEntry = { owner, name, official: options.official, visibility: options.visibility, versions: [] };
    this.models.set(model, entry);
    return entry;
  }

  findVersion(id: string): VersionEntry | undefined {
    for (const model of this.models.values()) {
      const version = model.versions.find((v) => v.id === id);
      if (version) return version;
    }
    return undefined;
  }

  /**
   * The version a `version` field names: a 64-hex id, `owner/name:id`, or `owner/name` for an
   * official model (its latest version), as `POST /predictions` accepts them.
   */
  resolve(ref: string): VersionEntry | undefined {
    const [model, id] = ref.includes(':') ? ref.split(':', 2) : ref.includes('/') ? [ref, undefined] : [undefined, ref];
    if (id !== undefined) {
      const version = this.findVersion(id);
      return version && (model === undefined || version.model === model) ? version : undefined;
    }
    const entry = model ? this.models.get(model) : undefined;
    return entry?.official ? entry.versions.at(-1) : undefined;
  }

  /** `ref` is `owner/name`, `owner/name:version` or a version id; the handler replaces the built-in one. */
  on(kind: Registration, ref: string, handler: ModelHandler): void {
    this.persistent.set(`${kind} ${registrationKey(ref)}`, handler);
  }

  /** Like {@link on} for the next job only; queued one-shot handlers run in order before any other. */
  onceFor(kind: Registration, ref: string, handler: ModelHandler): void {
    const key = `${kind} ${registrationKey(ref)}`;
    this.once.set(key, [...(this.once.get(key) ?? []), handler]);
  }

  /** The handler a new job on `version` runs: one-shot, then registered, then built-in. */
  handlerFor(kind: Registration, version: VersionEntry): ModelHandler | undefined {
    const keys = [`${kind} ${version.id}`, `${kind} ${version.model}`];
    for (const key of keys) {
      const queued = this.once.get(key);
      const next = queued?.shift();
      if (next) return next;
    }
    for (const key of keys) {
      const handler = this.persistent.get(key);
      if (handler) return handler;
    }
    return kind === 'prediction' ? version.predict : version.train;
  }
}

function registrationKey(ref: string): string {
  return ref.includes(':') ? (ref.split(':')[1] ?? ref) : ref;
}
