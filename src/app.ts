import { Client, Events, GatewayIntentBits, RESTEvents, type Interaction } from 'discord.js';
import { allCommands } from '../commands/index.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { configWarnings } from './config-warnings.js';
import { EventBus, type BotEvent } from './events.js';
import type { BotContext, Services } from './context.js';
import type { SlashCommand } from './interactions/command.js';
import { inviteUrl } from './interactions/bot-permissions.js';
import { Dispatcher } from './interactions/dispatcher.js';
import { createLogger, type Logger } from './log.js';
import { GenerationService, type GenerationServiceOptions } from './generation/service.js';
import { Replier } from './interactions/reply-target.js';
import { reportCaptionModel } from './services/hf/model-check.js';
import type { PredictionWebhooks } from './services/replicate/prediction.js';
import { compactRun, PredictionDeliveries } from './services/replicate/prediction-webhooks.js';
import { checkReplicateSetup } from './services/replicate/setup-check.js';
import type { Generator } from './services/types.js';
import { checkpointArchiveRoute } from './http/checkpoint-archive.js';
import { healthRoute } from './http/health.js';
import { Metrics, metricsRoute } from './http/metrics.js';
import { HttpServer } from './http/server.js';
import { PREDICTION_WEBHOOK_QUERY, REPLICATE_WEBHOOK_PATH, replicateWebhookRoute } from './http/replicate-webhook.js';
import { openStore } from './store/store.js';
import { syncCommands } from './app/commands-sync.js';
import { buildServices } from './app/services.js';
import { openShared } from './app/shared.js';
import { CheckpointArchives } from './training/checkpoint-archives.js';
import { DiscordThreadChannel } from './training/discord-thread.js';
import { trainingPrices } from './training/estimate.js';
import { StoreTrainingRepository } from './training/repository.js';
import { TrainingSupervisor } from './training/supervisor.js';
import type { TrainingTiming } from './training/timing.js';
import { trainingViews } from './views/training.js';
import { jobRepliesVia } from './views/generation-reply.js';

/**
 * With webhooks, how long a prediction goes without a delivery before it is polled anyway. A lost
 * delivery costs at most this much; 30 s keeps 50 running predictions at 100 reads a minute of
 * Replicate's 3000.
 */
const PREDICTION_SAFETY_NET_MS = 30_000;

/** See the client's `rest` options below. */
const INTERACTION_BURST_REQUESTS_PER_SECOND = 500;

export interface AppDependencies {
  log?: Logger;
  clock?: Clock;
  commands?: readonly SlashCommand[];
  /** Hears every typed event from the start (src/events.ts): before `createApp` returns, config warnings included. */
  onEvent?: (event: BotEvent) => void;
  /** The fetch every service adapter uses (tests may wrap it). */
  fetch?: typeof fetch;
  generation?: Pick<GenerationServiceOptions, 'concurrency' | 'perUserCap' | 'progressEditIntervalMs'>;
  /** Wraps the generator, e.g. to time the GPU service apart from the bot's own work (bench/). */
  decorateGenerator?: (generator: Generator) => Generator;
  /** How often predictions are polled (tests against an accelerated emulator poll faster). */
  replicatePoll?: { baseMs: number; maxMs: number };
  /** With webhooks (`PUBLIC_URL`): how long a prediction waits for a delivery before it is polled anyway. */
  predictionSafetyNetMs?: number;
  /** How trainings are polled and their status edited (tests against an accelerated emulator go faster). */
  training?: Partial<TrainingTiming>;
  /** GPU_BACKEND=cog: how often a running prediction's server is checked for a restart. */
  cogWatchEveryMs?: number;
}

export interface App {
  readonly context: BotContext;
  readonly client: Client;
  /** Logs in and resolves once the gateway is ready. */
  start(): Promise<void>;
  /** Stops taking work, lets running handlers finish, closes the store and the gateway. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * The composition root: every dependency of the bot is built here and nowhere else, so tests
 * build the same bot against emulators by changing the configuration (URLs, tokens) alone.
 */
export async function createApp(config: Config, deps: AppDependencies = {}): Promise<App> {
  const log =
    deps.log ??
    createLogger({
      level: config.LOG_LEVEL,
      secrets: [config.DISCORD_TOKEN, config.REPLICATE_API_TOKEN, config.HF_TOKEN, config.REPLICATE_WEBHOOK_SECRET, config.COG_WEBHOOK_TOKEN],
    });
  const events = new EventBus((error, name) => log.warn({ err: error, event: name }, 'an event listener failed'));
  if (deps.onEvent) events.onAny(deps.onEvent);
  for (const warning of configWarnings(config)) {
    log.warn({ key: warning.key, value: warning.value }, warning.message);
    events.emit('config.warning', warning);
  }
  const store = await openStore(config.STORE_URL, { dataDir: config.DATA_DIR, log: log.child({ component: 'store' }) });

  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    rest: {
      api: config.DISCORD_API_URL,
      // @discordjs/rest counts every request against its own 50-per-second global limiter, but
      // Discord exempts interaction callbacks and interaction webhooks from the global limit — and
      // those are nearly all of this bot's traffic. At 50 the 51st acknowledgement of a burst would
      // wait for the next second (past Discord's 3-second window for a burst of a few hundred).
      // Bot-authenticated requests stay far below 50/s here; a real global 429 is still honoured.
      globalRequestsPerSecond: INTERACTION_BURST_REQUESTS_PER_SECOND,
    },
    // Prompts are user text: nothing the bot posts may ping @everyone, roles or people
    // unless a message opts in explicitly.
    allowedMentions: { parse: [], repliedUser: false },
  });
  client.on(Events.Error, (error) => log.error({ err: error }, 'discord client error'));
  client.on(Events.Warn, (message) => log.warn({ component: 'discord' }, message));
  client.on(Events.ShardResume, (shardId, replayed) => log.info({ shardId, replayed }, 'gateway resumed'));
  client.on(Events.ShardDisconnect, (event, shardId) => log.warn({ shardId, code: event.code }, 'gateway disconnected'));
  // discord.js waits out a 429 and sends again on its own; the log says so, because 429s (all but
  // those of a shared-scope limit) count towards Discord's limit of invalid requests (10,000 per
  // 10 minutes, then a temporary ban).
  client.rest.on(RESTEvents.Response, (request, response) => {
    if (response.status === 429) {
      const wait = { method: request.method, route: request.route, retryAfterS: Number(response.headers.get('retry-after')) };
      log.info(wait, 'Discord rate limit (429): waiting before sending again');
      events.emit('discord.rate-limited', wait);
    }
  });

  const clock = deps.clock ?? systemClock;
  const shared = await openShared(config, log);
  const { cluster, tasks } = shared;
  // With a public URL Replicate reports predictions by webhook, as it does trainings; the
  // deliveries reach the process that follows the prediction through the cluster.
  const deliveries = config.PUBLIC_URL && config.HTTP_PORT !== undefined ? new PredictionDeliveries() : undefined;
  if (deliveries) {
    cluster.onSignal((signal) => {
      if (signal.type === 'prediction-update') deliveries.deliver(signal.prediction);
    });
  }
  const predictionWebhooks: PredictionWebhooks | undefined = deliveries && {
    url: `${new URL(REPLICATE_WEBHOOK_PATH, `${config.PUBLIC_URL}/`).toString()}?${PREDICTION_WEBHOOK_QUERY}`,
    deliveries,
    safetyNetMs: deps.predictionSafetyNetMs ?? PREDICTION_SAFETY_NET_MS,
  };
  const built = buildServices(config, log, deps.fetch, deps.replicatePoll, predictionWebhooks, store, events, deps.cogWatchEveryMs);
  const services: Services = { ...built.services, generator: deps.decorateGenerator?.(built.services.generator) ?? built.services.generator };
  const { webhookSecret, modelChecks, replicate } = built;
  const replier = new Replier(client, clock, events);
  // Training records are read and written only through this (src/training/repository.ts).
  const trainings = new StoreTrainingRepository(store);
  const generation = new GenerationService({
    store,
    config,
    clock,
    log: log.child({ component: 'generation' }),
    events,
    generator: services.generator,
    trainings,
    models: services.models,
    replies: jobRepliesVia(replier),
    ...deps.generation,
    // One picture per Cog server at a time: the queue's positions then count what really waits.
    ...(built.cogGenerators ? { concurrency: built.cogGenerators } : {}),
    queue: shared.generationQueue,
  });
  await shared.opened();
  const archives = new CheckpointArchives({ config, repository: trainings, log: log.child({ component: 'archives' }), fetch: deps.fetch });
  const training = new TrainingSupervisor({
    repository: trainings,
    store,
    events,
    channel: new DiscordThreadChannel({
      client,
      store,
      clock,
      log: log.child({ component: 'training' }),
      cluster,
      views: trainingViews({ triggerWord: config.TRIGGER_WORD, prices: trainingPrices(config) }),
    }),
    config,
    clock,
    log: log.child({ component: 'training' }),
    trainer: services.trainer,
    generator: services.generator,
    archives,
    timing: deps.training,
    tasks,
    cluster,
  });
  const metrics = new Metrics();
  generation.queue.onSettled((_job, outcome) => {
    // A job the worker ran ends as the asker saw it end; the queue's own outcomes are the rest
    // (canceled while waiting, lost with every process that took it).
    const end = outcome.status === 'succeeded' ? outcome.result : outcome.status;
    if (end !== 'already-answered') metrics.observeJob(end);
  });
  let stopping: Promise<void> | undefined;
  // Only with HTTP_PORT: a bot that is not reachable has nothing to listen for.
  const http =
    config.HTTP_PORT === undefined
      ? undefined
      : new HttpServer(
          [
            replicateWebhookRoute({
              store,
              clock,
              log: log.child({ component: 'webhooks' }),
              events,
              secret: webhookSecret,
              onTraining: (ref, body) => training.onWebhook(ref, body),
              onPrediction: async (body) => {
                const prediction = compactRun(body);
                if (prediction) await cluster.publish({ type: 'prediction-update', prediction });
              },
            }),
            healthRoute({ client, store, queue: generation.queue, shared: config.REDIS_URL ? cluster : undefined, stopping: () => stopping !== undefined }),
            metricsRoute({ metrics, client, store, clock, queue: generation.queue }),
            // Replicate reaches kmplz's kept archives only through PUBLIC_URL: without it, nothing to serve.
            ...(config.PUBLIC_URL ? [checkpointArchiveRoute({ config, trainings })] : []),
            ...built.routes,
          ],
          log.child({ component: 'http' }),
        );
  const commands = deps.commands ?? allCommands;
  const context: BotContext = { config, log, store, clock, client, events, generation, training, archives, services, tasks, replier };
  for (const command of commands) {
    for (const [kind, task] of Object.entries(command.tasks ?? {})) {
      tasks.register(kind, (data, run) => task(data, run, { ...context, log: log.child({ task: kind }) }));
    }
  }
  events.on('interaction.acknowledged', ({ kind, ms }) => metrics.observeAck(kind, ms));
  const dispatcher = new Dispatcher(commands, context, cluster);
  const onInteraction = (interaction: Interaction) => dispatcher.handle(interaction);

  return {
    context,
    client,
    async start() {
      const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
      client.on(Events.InteractionCreate, onInteraction);
      await client.login(config.DISCORD_TOKEN);
      await ready;
      // In the background, once logged in: a slow Replicate holds up neither the login nor the
      // rest of the start, and the validators' compiling (a one-off ~50 ms) happens before the
      // bot says it is online, while interactions are still few.
      modelChecks.checkAll();
      if (config.CAPTION_BACKEND === 'hf' && !config.HF_CAPTION_ENDPOINT) {
        // Beside the rest of the start, never before it: the Hub may be slow or away.
        void reportCaptionModel({ model: config.HF_CAPTION_MODEL, token: config.HF_TOKEN ?? '', hubUrl: config.HF_HUB_URL, fetch: deps.fetch }, log.child({ component: 'services' }), events);
      }
      await syncCommands(client, commands, config, log);
      if (http && config.HTTP_PORT !== undefined) await http.listen(config.HTTP_PORT);
      await generation.resumeUnfinished();
      await training.resume();
      // Said once everything listens and unfinished work is taken up: tests and operators wait for it.
      log.info({ user: client.user?.tag, guilds: client.guilds.cache.size, invite: inviteUrl(client.application!.id) }, 'kmplz is online');
      // Not awaited: everything that works is usable while Replicate is asked about the rest.
      void checkReplicateSetup(replicate, config).then((problems) => {
        for (const { key, problem, message } of problems) log.warn({ key, problem }, message);
        events.emit('setup.checked', { problems });
      });
    },
    stop() {
      stopping ??= (async () => {
        log.info('shutting down: finishing running interactions');
        await http?.close();
        await dispatcher.drain(10_000);
        // Jobs still waiting stay recorded as unfinished; the next start (or, with Redis,
        // another process) takes them up again.
        await generation.close(20_000);
        // Trainings go on at the service; another process or the next start follows them again.
        await tasks.close(10_000);
        training.close();
        await archives.idle(10_000);
        await cluster.close();
        client.off(Events.InteractionCreate, onInteraction);
        await client.destroy();
        await store.close();
        log.info('stopped');
      })();
      return stopping;
    },
  };
}
