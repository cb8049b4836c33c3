import type { Config } from '../config.js';
import type { Services } from '../context.js';
import type { BotEventBus } from '../events.js';
import type { Logger } from '../log.js';
import type { Route } from '../http/server.js';
import { buildCogServices } from '../services/cog/index.js';
import { createHfCaptioner } from '../services/hf/captioner.js';
import { createHfHub } from '../services/hf/hub.js';
import { createReplicateCaptioner } from '../services/replicate/captioner.js';
import { createReplicateClient } from '../services/replicate/client.js';
import { createReplicateGenerator } from '../services/replicate/generator.js';
import { checkedModels, ModelChecks } from '../services/replicate/model-checks.js';
import type { PredictionWebhooks } from '../services/replicate/prediction.js';
import { createReplicateTrainer } from '../services/replicate/trainer.js';
import { VersionResolver } from '../services/replicate/versions.js';
import { webhookSecretSource } from '../services/replicate/webhook-secret.js';
import type { Store } from '../store/store.js';

/**
 * Without webhooks a picture is seen done only at its next poll, so the polls of a picture stay
 * about a second apart (a 10-s picture used to wait up to 4 s more): with jittered delays of
 * half to all of `maxMs`, `concurrency` pictures read about concurrency × 80 000 ÷ maxMs times a
 * minute, held under half of Replicate's 3000 reads a minute — 1 s up to 18 at once, more beyond.
 */
function generatorPollPace(concurrency: number): { baseMs: number; maxMs: number } {
  return { baseMs: 500, maxMs: Math.max(1000, Math.ceil((concurrency * 80_000) / 1500)) };
}

export function buildServices(
  config: Config,
  log: Logger,
  fetchImpl: typeof fetch | undefined,
  poll: { baseMs: number; maxMs: number } | undefined,
  webhooks: PredictionWebhooks | undefined,
  store: Store,
  events: Pick<BotEventBus, 'emit'>,
  cogWatchEveryMs?: number,
): { services: Services; webhookSecret: () => Promise<string>; modelChecks: ModelChecks; replicate: ReturnType<typeof createReplicateClient>; routes: Route[]; cogGenerators?: number } {
  const replicate = createReplicateClient({ token: config.REPLICATE_API_TOKEN ?? '', baseUrl: config.REPLICATE_BASE_URL, fetch: fetchImpl });
  const servicesLog = log.child({ component: 'services' });
  const versions = new VersionResolver(replicate);
  const generator = createReplicateGenerator({ client: replicate, model: config.REPLICATE_GENERATOR, versions, log: servicesLog, fetch: fetchImpl, poll: poll ?? generatorPollPace(config.GENERATION_CONCURRENCY), webhooks });
  const captioner =
    config.CAPTION_BACKEND === 'hf'
      ? createHfCaptioner({ token: config.HF_TOKEN ?? '', endpointUrl: config.HF_CAPTION_ENDPOINT, model: config.HF_CAPTION_MODEL, fetch: fetchImpl, log: servicesLog })
      : createReplicateCaptioner({ client: replicate, model: config.REPLICATE_CAPTIONER, versions, log: servicesLog });
  const trainer = createReplicateTrainer({
    token: config.REPLICATE_API_TOKEN ?? '',
    baseUrl: config.REPLICATE_BASE_URL,
    fetch: fetchImpl,
    model: config.REPLICATE_TRAINER,
    versions,
    destination: config.REPLICATE_TRAINING_DESTINATION,
    strategy: config.REPLICATE_TRAINER_MODE,
    log: servicesLog,
  });
  const hub = config.HF_TOKEN ? createHfHub({ token: config.HF_TOKEN, hubUrl: config.HF_HUB_URL, fetch: fetchImpl, log: servicesLog }) : undefined;
  const webhookSecret = webhookSecretSource(replicate, config.REPLICATE_WEBHOOK_SECRET);
  if (config.GPU_BACKEND === 'cog') {
    const cog = buildCogServices(config, { store, log: servicesLog.child({ backend: 'cog' }), events, fetch: fetchImpl, watchEveryMs: cogWatchEveryMs });
    return {
      services: { generator: cog.generator, captioner: cog.captioner ?? captioner, trainer: cog.trainer, models: cog.modelChecks, hub },
      webhookSecret,
      modelChecks: cog.modelChecks,
      replicate,
      routes: cog.routes,
      cogGenerators: cog.generatorServers,
    };
  }
  const modelChecks = new ModelChecks({ versions, models: checkedModels(config), log: servicesLog.child({ component: 'model-checks' }), events });
  return { services: { generator, captioner, trainer, models: modelChecks, hub }, webhookSecret, modelChecks, replicate, routes: [] };
}
