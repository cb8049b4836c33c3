import path from 'node:path';
import type { Config } from '../../config.js';
import type { BotEventBus } from '../../events.js';
import { cogFilesRoute, cogUploadRoute, cogWebhookRoute, COG_WEBHOOK_PATH } from '../../http/cog-routes.js';
import type { Route } from '../../http/server.js';
import type { Logger } from '../../log.js';
import type { Store } from '../../store/store.js';
import { ModelChecks, type CheckedModel } from '../replicate/model-checks.js';
import type { Captioner, Generator, Trainer } from '../types.js';
import { createCogCaptioner, createCogGenerator } from './adapters.js';
import { CogFiles } from './files.js';
import { CogPool } from './pool.js';
import { CogPredictions } from './predictions.js';
import { createCogTrainer } from './trainer.js';

export interface CogServices {
  generator: Generator;
  /** Undefined with CAPTION_BACKEND=hf. */
  captioner?: Captioner;
  trainer: Trainer;
  modelChecks: ModelChecks;
  /** The routes the Cog servers call on HTTP_PORT. */
  routes: Route[];
  /** How many pictures can be drawn at once: one per generator server. */
  generatorServers: number;
}

/** Where the Cog servers reach kmplz back (webhooks, uploads, files). */
export function cogCallbackUrl(config: Config): string {
  return config.COG_CALLBACK_URL ?? `http://127.0.0.1:${config.HTTP_PORT ?? 0}`;
}

/** GPU_BACKEND=cog: the generator, captioner and trainer on the class's own Cog servers. */
export function buildCogServices(
  config: Config,
  { store, log, events, fetch: fetchImpl = fetch, watchEveryMs }: { store: Store; log: Logger; events: Pick<BotEventBus, 'emit'>; fetch?: typeof fetch; watchEveryMs?: number },
): CogServices {
  const callback = cogCallbackUrl(config);
  const pool = new CogPool({ store, log, fetch: fetchImpl });
  const predictions = new CogPredictions(store);
  const files = new CogFiles(path.join(config.DATA_DIR, 'cog-files'), callback);
  const ctx = { pool, predictions, webhookUrl: `${callback}${COG_WEBHOOK_PATH}`, log, watchEveryMs };
  const generatorUrls = config.COG_GENERATOR_URL ?? [];
  const trainerUrls = config.COG_TRAINER_URL ?? [];
  const captionerUrls = config.CAPTION_BACKEND === 'hf' ? [] : (config.COG_CAPTIONER_URL ?? []);
  const models: CheckedModel[] = [
    ...generatorUrls.map((url) => ({ key: 'COG_GENERATOR_URL' as const, model: url, role: 'generator' as const, features: ['generation', 'training'] as const })),
    ...trainerUrls.map((url) => ({ key: 'COG_TRAINER_URL' as const, model: url, role: 'streaming-trainer' as const, features: ['training'] as const })),
    ...captionerUrls.map((url) => ({ key: 'COG_CAPTIONER_URL' as const, model: url, role: 'captioner' as const, features: ['captioning'] as const })),
  ];
  // The same check as on Replicate, against what each server says it is (GET /openapi.json).
  const schemas = { resolve: async (url: string) => ({ schema: await pool.server(url).schema() }) };
  const token = config.COG_WEBHOOK_TOKEN ?? '';
  return {
    generator: createCogGenerator(ctx, generatorUrls, fetchImpl),
    captioner: captionerUrls.length ? createCogCaptioner(ctx, captionerUrls) : undefined,
    trainer: createCogTrainer(ctx, trainerUrls, files),
    modelChecks: new ModelChecks({ versions: schemas, models, log: log.child({ component: 'model-checks' }), events }),
    routes: [cogWebhookRoute({ predictions, token, log }), cogUploadRoute({ files, token, log }), cogFilesRoute({ files })],
    generatorServers: Math.max(1, generatorUrls.length),
  };
}
