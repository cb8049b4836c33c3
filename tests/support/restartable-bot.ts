import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { startDiscordEmulator, type DiscordEmulator } from '../emulators/discord/index.js';
import { startReplicateEmulator, type ReplicateEmulator } from '../emulators/replicate/index.js';
import { startTestBot, type TestBot } from './bot.js';
import { CLASS_DRAWINGS, seedDataset } from './fixtures.js';
import { TEST_DESTINATION } from './replicate-training.js';

/** What a test file sees of its restartable bot; handed to it again after every start and stop. */
export interface RestartableBot {
  discord: DiscordEmulator;
  replicate: ReplicateEmulator;
  /** Undefined while the bot is down (a restart that failed to start leaves it so). */
  bot: TestBot | undefined;
  /** The bot's clock: the real one, plus however far `restart` moved it ahead. */
  clock: Clock;
}

export interface RestartableBotHandle {
  readonly clock: Clock;
  /**
   * Stops the bot and starts a new one on the same data folder and store: what a deploy or a
   * crash does. `aheadMs` moves the bot's clock that far ahead of the real one first, so a
   * deadline can pass while the bot is down.
   */
  restart(options?: { aheadMs?: number }): Promise<void>;
}

/**
 * A bot for the voting-deadline files, set up in the file's hooks: the Discord and Replicate
 * emulators, one data folder kept across restarts, the class's drawings in the dataset, a
 * trainer role, fast training timings and a clock a test can move ahead. After each test no
 * request broke either service's spec.
 *
 * `bind` is called with the emulators and the current bot whenever they change, so the file keeps
 * plain `discord`, `replicate` and `bot` variables for its tests to use.
 */
export function useRestartableBot(name: string, bind: (current: RestartableBot) => void): RestartableBotHandle {
  let discord: DiscordEmulator;
  let replicate: ReplicateEmulator;
  let bot: TestBot | undefined;
  let dataDir: string;
  let ahead = 0;
  const clock: Clock = { now: () => Date.now() + ahead };
  const publish = () => bind({ discord, replicate, bot, clock });

  const start = () =>
    startTestBot(
      { discord, replicate },
      {
        dataDir,
        env: { TRAINER_ROLE_ID: discord.guild().roles.find((r) => r.name === 'Trainer')!.id },
        deps: { clock, training: { poll: { baseMs: 20, maxMs: 100 }, statusEditIntervalMs: 20, tallyEditIntervalMs: 50, deadlineSweepMs: 50 } },
      },
    );

  beforeAll(async () => {
    discord = await startDiscordEmulator();
    replicate = await startReplicateEmulator({ destinations: [TEST_DESTINATION] });
    dataDir = await mkdtemp(path.join(tmpdir(), `kmplz-${name}-`));
    bot = await start();
    publish();
    await seedDataset(bot.app.context, discord.guild().id, CLASS_DRAWINGS);
  });
  afterAll(async () => {
    await bot?.stop();
    await replicate?.close();
    await discord?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });
  afterEach(() => {
    discord.assertNoSpecErrors();
    expect(replicate.specErrors).toEqual([]);
  });

  return {
    clock,
    async restart({ aheadMs } = {}) {
      await bot?.stop();
      bot = undefined;
      publish();
      if (aheadMs !== undefined) ahead = aheadMs;
      bot = await start();
      publish();
    },
  };
}
