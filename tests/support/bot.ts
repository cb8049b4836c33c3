import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApp, type App, type AppDependencies } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import type { BotEvent, BotEventName, BotEvents } from '../../src/events.js';
import type { DiscordEmulator } from '../emulators/discord/index.js';
import type { HfEmulator } from '../emulators/hf/index.js';
import type { ReplicateEmulator } from '../emulators/replicate/index.js';
import { captureLogger } from './log.js';

export interface TestBot {
  app: App;
  dataDir: string;
  /** Every log line the bot wrote, as parsed JSON. */
  logs: () => Record<string, unknown>[];
  logLines: string[];
  /** Every typed event the bot emitted since it was built (src/events.ts), in order. */
  events: () => readonly BotEvent[];
  /** The payloads of one kind of event, in order. */
  eventsOf: <K extends BotEventName>(name: K) => BotEvents[K][];
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * The emulator-facing configuration of a bot: everything a real `.env` would hold, pointed at the
 * emulators, with a fresh data folder. Used for in-process bots and for `npm start` in a child.
 */
export function emulatorEnv(
  { discord, replicate, hf }: { discord: DiscordEmulator; replicate?: ReplicateEmulator; hf?: HfEmulator },
  dataDir: string,
): Record<string, string> {
  return {
    DISCORD_TOKEN: discord.token,
    DISCORD_API_URL: discord.apiUrl,
    ALLOWED_ATTACHMENT_HOSTS: discord.cdnHost,
    STORE_URL: `sqlite://${path.join(dataDir, 'kmplz.sqlite')}`,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'debug',
    ...(replicate && {
      REPLICATE_API_TOKEN: replicate.token,
      REPLICATE_BASE_URL: replicate.baseUrl,
      REPLICATE_GENERATOR: replicate.refs.sdxl,
      REPLICATE_TRAINER: replicate.refs.sdxl,
      REPLICATE_CAPTIONER: replicate.refs.blip,
      REPLICATE_TRAINING_DESTINATION: 'kmplz-tests/style',
    }),
    ...(hf && { HF_TOKEN: hf.token, HF_CAPTION_ENDPOINT: hf.endpointUrl }),
  };
}

/** Builds and starts the real bot (composition root, discord.js, services) against the emulators. */
export async function startTestBot(
  emulators: { discord: DiscordEmulator; replicate?: ReplicateEmulator; hf?: HfEmulator },
  { env = {}, dataDir, deps = {} }: { env?: Record<string, string>; dataDir?: string; deps?: AppDependencies } = {},
): Promise<TestBot> {
  const folder = dataDir ?? (await mkdtemp(path.join(tmpdir(), 'kmplz-test-')));
  const fullEnv = { ...emulatorEnv(emulators, folder), ...env };
  const config = parseConfig(fullEnv);
  const captured = captureLogger([emulators.discord.token, emulators.replicate?.token ?? '', emulators.hf?.token ?? ''].filter(Boolean));
  const events: BotEvent[] = [];
  const app = await createApp(config, {
    log: captured.log,
    generation: { progressEditIntervalMs: 50 },
    replicatePoll: { baseMs: 20, maxMs: 100 },
    ...deps,
    onEvent: (event) => {
      events.push(event);
      deps.onEvent?.(event);
    },
  });
  await app.start();
  return {
    app,
    dataDir: folder,
    logs: captured.records,
    logLines: captured.lines,
    events: () => events,
    eventsOf: (name) => events.filter((event) => event.name === name).map((event) => event.payload as BotEvents[typeof name]),
    env: fullEnv,
    async stop() {
      await app.stop();
      if (!dataDir) await rm(folder, { recursive: true, force: true });
    },
  };
}
