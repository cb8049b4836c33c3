import type { Config } from '../../config.js';
import type { BotEventBus } from '../../events.js';
import { UserError } from '../../errors.js';
import { msg, render, type Message } from '../../i18n/index.js';
import type { Logger } from '../../log.js';
import { checkSchema, type ModelRole, type SchemaProblem } from './schema-check.js';
import { VersionUnavailable, type VersionResolver } from './versions.js';

/** What people use the configured models for; a model that cannot serve turns its features off. */
export type ModelFeature = 'generation' | 'training' | 'captioning';

export interface CheckedModel {
  /** The configuration key that names the model: people are told which one to fix. */
  key: 'REPLICATE_GENERATOR' | 'REPLICATE_TRAINER' | 'REPLICATE_CAPTIONER' | 'COG_GENERATOR_URL' | 'COG_TRAINER_URL' | 'COG_CAPTIONER_URL';
  model: string;
  role: ModelRole;
  /** The features that need it (previews make training need the generator too). */
  features: readonly ModelFeature[];
}

/** The Replicate models the configuration uses, and what for; none without a token (that refusal comes first). */
export function checkedModels(config: Config): CheckedModel[] {
  if (!config.REPLICATE_API_TOKEN) return [];
  return [
    { key: 'REPLICATE_GENERATOR', model: config.REPLICATE_GENERATOR, role: 'generator', features: ['generation', 'training'] },
    {
      key: 'REPLICATE_TRAINER',
      model: config.REPLICATE_TRAINER,
      role: config.REPLICATE_TRAINER_MODE === 'streaming' ? 'streaming-trainer' : 'ladder-trainer',
      features: ['training'],
    },
    ...(config.CAPTION_BACKEND === 'replicate'
      ? [{ key: 'REPLICATE_CAPTIONER', model: config.REPLICATE_CAPTIONER, role: 'captioner', features: ['captioning'] } as const]
      : []),
  ];
}

/** Lets a feature through, or refuses it with why its model cannot serve. */
export interface ModelGate {
  require(feature: ModelFeature): Promise<void>;
}

/**
 * Checks each configured model's own schema (its version's `openapi_schema`) against what kmplz
 * sends and reads, once per process: started in the background at start, and awaited before
 * the first paid call of a feature. A model that does not fit turns off the features that need
 * it, with one message naming the key, the model and the input, logged once and shown to whoever
 * tries them; the other features go on. A check that could not be made (network, an outage)
 * lets the feature through and is tried again on the next use: the call itself will tell.
 */
export class ModelChecks implements ModelGate {
  private readonly results = new Map<CheckedModel, Promise<Message | undefined>>();

  /** `versions`: where a model's schema is read (Replicate's version, or a Cog server's `/openapi.json`). */
  constructor(
    private readonly o: {
      versions: Pick<VersionResolver, 'resolve'> | { resolve(model: string): Promise<{ schema: unknown }> };
      models: readonly CheckedModel[];
      log: Logger;
      events: Pick<BotEventBus, 'emit'>;
    },
  ) {}

  /** Starts every check without waiting for any (the gateway login does not wait on Replicate). */
  checkAll(): void {
    for (const model of this.o.models) void this.result(model);
  }

  async require(feature: ModelFeature): Promise<void> {
    for (const model of this.o.models.filter((m) => m.features.includes(feature))) {
      const problem = await this.result(model);
      if (problem) throw new UserError('model-mismatch', msg('error.model-mismatch', { feature: msg(`model-check.feature.${feature}`), problem }));
    }
  }

  private result(model: CheckedModel): Promise<Message | undefined> {
    let result = this.results.get(model);
    if (!result) {
      result = this.check(model);
      this.results.set(model, result);
    }
    return result;
  }

  private async check(model: CheckedModel): Promise<Message | undefined> {
    const { key } = model;
    const log = this.o.log.child({ key, model: model.model });
    let problem: Message | undefined;
    try {
      const version = await this.o.versions.resolve(model.model);
      problem = describe(model, checkSchema(version.schema, model.role));
    } catch (error) {
      if (!(error instanceof VersionUnavailable)) {
        this.results.delete(model);
        log.warn({ err: error }, 'could not read the model’s schema; checking again on its next use');
        return undefined;
      }
      problem = msg(error.reason === 'not-found' ? 'model-check.not-found' : 'model-check.no-version', { key, model: model.model });
    }
    if (problem) {
      log.error({ features: model.features }, `${render('en', problem)} — turned off: ${model.features.join(', ')}`);
      this.o.events.emit('model-check.refused', { key, model: model.model, features: model.features, problem: render('en', problem) });
    }
    return problem;
  }
}

function describe({ key, model, role }: CheckedModel, problem: SchemaProblem | undefined): Message | undefined {
  switch (problem?.kind) {
    case undefined:
      return undefined;
    case 'no-schema':
      return msg('model-check.no-schema', { key, model });
    case 'output':
      return msg(`model-check.output.${role}`, { key, model });
    case 'no-input':
      return msg('model-check.no-input', { key, model, input: problem.input });
    case 'required-input':
      return msg('model-check.required-input', { key, model, input: problem.input });
    case 'bad-input':
      return msg('model-check.bad-input', { key, model, input: problem.input, detail: problem.detail });
  }
}
