import { Client, Events, GatewayIntentBits, RESTEvents, type Interaction } from 'discord.js';
import { allCommands } from '../commands/index.js';
import { hasChanges, registerCommands } from '../deploy/registration.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { configWarnings } from './config-warnings.js';
import { redisCluster, soloCluster, type Cluster } from './cluster/cluster.js';
import type { BotContext, Services } from './context.js';
import { definitionsOf, type SlashCommand } from './interactions/command.js';
import { inviteUrl } from './interactions/bot-permissions.js';
import { Dispatcher, type DispatcherEvents } from './interactions/dispatcher.js';
import { createLogger, type Logger } from './log.js';
import type { JobRef } from './generation/repository.js';
import type { JobEnd } from './generation/runner.js';
import { GenerationService, type GenerationServiceOptions } from './generation/service.js';
import { Replier } from './interactions/reply-target.js';
import { createHfCaptioner } from './services/hf/captioner.js';
import { reportCaptionModel } from './services/hf/model-check.js';
import { createHfHub } from './services/hf/hub.js';
import { createReplicateCaptioner } from './services/replicate/captioner.js';
import { createReplicateClient } from './services/replicate/client.js';
import { createReplicateGenerator } from './services/replicate/generator.js';
import type { PredictionWebhooks } from './services/replicate/prediction.js';
import { compactRun, PredictionDeliveries } from './services/replicate/prediction-webhooks.js';
import { createReplicateTrainer } from './services/replicate/trainer.js';
import { checkedModels, ModelChecks } from './services/replicate/model-checks.js';
import { VersionResolver } from './services/replicate/versions.js';
import { webhookSecretSource } from './services/replicate/webhook-secret.js';
import { checkReplicateSetup, type SetupProblem } from './services/replicate/setup-check.js';
import type { Generator } from './services/types.js';
import { checkpointArchiveRoute } from './http/checkpoint-archive.js';
import { healthRoute } from './http/health.js';
import { Metrics, metricsRoute } from './http/metrics.js';
import { HttpServer, type Route } from './http/server.js';
import { buildCogServices } from './services/cog/index.js';
import { PREDICTION_WEBHOOK_QUERY, REPLICATE_WEBHOOK_PATH, replicateWebhookRoute } from './http/replicate-webhook.js';
import { BullJobQueue } from './queue/bull-queue.js';
import { BullTasks, LocalTasks, type TaskRunner } from './queue/tasks.js';
import { openStore, type Store } from './store/store.js';
import { CheckpointArchives } from './training/checkpoint-archives.js';
import { TrainingSupervisor, type TrainingTiming } from './training/supervisor.js';
import { jobRepliesVia } from './views/generation-reply.js';

/**
 * With webhooks, how long a prediction goes without a delivery before it is polled anyway. A lost
 * delivery costs at most this much; 30 s keeps 50 running predictions at 100 reads a minute of
 * Replicate's 3000.
 */
const PREDICTION_SAFETY_NET_MS = 30_000;

/**
 * Without webhooks a picture is seen done only at its next poll, so the polls of a picture stay
 * about a second apart (a 10-s picture used to wait up to 4 s more): with jittered delays of
 * half to all of `maxMs`, `concurrency` pictures read about concurrency × 80 000 ÷ maxMs times a
 * minute, held under half of Replicate's 3000 reads a minute — 1 s up to 18 at once, more beyond.
 */
function generatorPollPace(concurrency: number): { baseMs: number; maxMs: number } {
  return { baseMs: 500, maxMs: Math.max(1000, Math.ceil((concurrency * 80_000) / 1500)) };
}

/** See the client's `rest` options below. */
const INTERACTION_BURST_REQUESTS_PER_SECOND = 500;

/** What the app tells its owner (src/main.ts prints it for people; tests wait on it). */
export interface AppEvents extends DispatcherEvents {
  /** Once, after the start: what is wrong with the Replicate setup (empty when nothing is). */
  onSetupChecked?(problems: readonly SetupProblem[]): void;
}

export interface AppDependencies {
  log?: Logger;
  clock?: Clock;
  commands?: readonly SlashCommand[];
  events?: AppEvents;
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
  for (const warning of configWarnings(config)) log.warn({ key: warning.key, value: warning.value }, warning.message);
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
      log.info({ method: request.method, route: request.route, retryAfterS: Number(response.headers.get('retry-after')) }, 'Discord rate limit (429): waiting before sending again');
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
  const built = buildServices(config, log, deps.fetch, deps.replicatePoll, predictionWebhooks, store, deps.cogWatchEveryMs);
  const services: Services = { ...built.services, generator: deps.decorateGenerator?.(built.services.generator) ?? built.services.generator };
  const { webhookSecret, modelChecks, replicate } = built;
  const replier = new Replier(client, clock);
  const generation = new GenerationService({
    store,
    config,
    clock,
    log: log.child({ component: 'generation' }),
    generator: services.generator,
    models: services.models,
    replies: jobRepliesVia(replier),
    ...deps.generation,
    // One picture per Cog server at a time: the queue's positions then count what really waits.
    ...(built.cogGenerators ? { concurrency: built.cogGenerators } : {}),
    queue: shared.generationQueue,
  });
  await shared.opened();
  const archives = new CheckpointArchives({ config, store, log: log.child({ component: 'archives' }), fetch: deps.fetch });
  const training = new TrainingSupervisor({
    store,
    config,
    clock,
    client,
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
            ...(config.PUBLIC_URL ? [checkpointArchiveRoute({ config, store })] : []),
            ...built.routes,
          ],
          log.child({ component: 'http' }),
        );
  const commands = deps.commands ?? allCommands;
  const context: BotContext = { config, log, store, clock, client, generation, training, archives, services, tasks, replier };
  for (const command of commands) {
    for (const [kind, task] of Object.entries(command.tasks ?? {})) {
      tasks.register(kind, (data, run) => task(data, run, { ...context, log: log.child({ task: kind }) }));
    }
  }
  const dispatcher = new Dispatcher(commands, context, cluster, {
    onAcknowledged(kind, ms) {
      metrics.observeAck(kind, ms);
      deps.events?.onAcknowledged?.(kind, ms);
    },
  });
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
        void reportCaptionModel({ model: config.HF_CAPTION_MODEL, token: config.HF_TOKEN ?? '', hubUrl: config.HF_HUB_URL, fetch: deps.fetch }, log.child({ component: 'services' }));
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
        deps.events?.onSetupChecked?.(problems);
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

const COMMAND_SYNC_TIMEOUT_MS = 15_000;

/**
 * Registers the slash commands when Discord's set differs from the bot's, so that a first
 * `npm start` is enough to see them (`npm run deploy` does the same on demand, with a dry run).
 * Guild commands with DISCORD_GUILD_ID, else global ones. A refusal is logged, not fatal: the
 * bot still answers the commands registered before.
 */
async function syncCommands(client: Client, commands: readonly SlashCommand[], config: Config, log: Logger): Promise<void> {
  try {
    const plan = await registerCommands({
      rest: client.rest,
      applicationId: client.application!.id,
      guildId: config.DISCORD_GUILD_ID,
      commands: definitionsOf(commands),
      onlyIfChanged: true,
      // The start (webhooks, unfinished jobs) does not wait long on it: the next start tries again.
      signal: AbortSignal.timeout(COMMAND_SYNC_TIMEOUT_MS),
    });
    if (hasChanges(plan)) {
      log.info({ scope: plan.scope, added: plan.added, changed: plan.changed, removed: plan.removed }, 'registered the slash commands with Discord');
    }
  } catch (error) {
    log.warn({ err: error }, 'could not register the slash commands (was the bot invited with the applications.commands scope?); `npm run deploy` says more');
  }
}

/**
 * What the processes of one bot share. Without `REDIS_URL` the bot is one process: the fair
 * queue and the trainings' followers live in it. With it, jobs and followers are BullMQ jobs in
 * Redis that any of the processes runs, and the processes agree on who answers what.
 */
async function openShared(config: Config, log: Logger) {
  if (!config.REDIS_URL) {
    return { cluster: soloCluster(), tasks: new LocalTasks(log.child({ component: 'tasks' })) as TaskRunner, generationQueue: undefined, opened: async () => undefined };
  }
  const url = config.REDIS_URL;
  const lockDurationMs = config.JOB_LOCK_SECONDS * 1000;
  const stalledIntervalMs = Math.max(1000, lockDurationMs / 2);
  const cluster: Cluster = await redisCluster({ url, log: log.child({ component: 'cluster' }) });
  const tasks = new BullTasks({ url, log: log.child({ component: 'tasks' }), lockDurationMs, stalledIntervalMs });
  let queue: BullJobQueue<JobRef, JobEnd> | undefined;
  const generationQueue: GenerationServiceOptions['queue'] = (worker, limits) =>
    (queue = new BullJobQueue<JobRef, JobEnd>({ name: 'generation', url, worker, ...limits, cluster, log: log.child({ component: 'queue' }), lockDurationMs, stalledIntervalMs }));
  if (config.STORE_URL.startsWith('sqlite:')) {
    log.warn('REDIS_URL is set but STORE_URL is SQLite: processes on other machines will not see this store; use redis:// or postgres://');
  }
  log.info({ redis: url.replace(/\/\/[^@]*@/, '//***@') }, 'sharing jobs through Redis');
  return {
    cluster,
    tasks: tasks as TaskRunner,
    generationQueue,
    // Called once the generation service made its queue.
    opened: async () => {
      await Promise.all([tasks.open(), queue?.open()]);
    },
  };
}

function buildServices(
  config: Config,
  log: Logger,
  fetchImpl: typeof fetch | undefined,
  poll: AppDependencies['replicatePoll'],
  webhooks: PredictionWebhooks | undefined,
  store: Store,
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
    const cog = buildCogServices(config, { store, log: servicesLog.child({ backend: 'cog' }), fetch: fetchImpl, watchEveryMs: cogWatchEveryMs });
    return {
      services: { generator: cog.generator, captioner: cog.captioner ?? captioner, trainer: cog.trainer, models: cog.modelChecks, hub },
      webhookSecret,
      modelChecks: cog.modelChecks,
      replicate,
      routes: cog.routes,
      cogGenerators: cog.generatorServers,
    };
  }
  const modelChecks = new ModelChecks({ versions, models: checkedModels(config), log: servicesLog.child({ component: 'model-checks' }) });
  return { services: { generator, captioner, trainer, models: modelChecks, hub }, webhookSecret, modelChecks, replicate, routes: [] };
}
