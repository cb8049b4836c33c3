import { expect } from 'vitest';
import type { AppDependencies } from '../../src/app.js';
import { startDiscordEmulator, type DiscordEmulator, type DiscordEmulatorOptions } from '../emulators/discord/index.js';
import { startReplicateEmulator, type ReplicateEmulator, type ReplicateEmulatorOptions } from '../emulators/replicate/index.js';
import { startTestBot, type TestBot } from './bot.js';
import { seedDataset, seedTraining } from './fixtures.js';
import { TEST_DESTINATION, trainCheckpoint } from './replicate-training.js';

export interface WorldOptions {
  discord?: DiscordEmulatorOptions;
  replicate?: Omit<ReplicateEmulatorOptions, 'destinations'>;
  /** Checkpoints trained on the emulator and stored as the last training (none: nothing trained). */
  checkpointSteps?: number[];
  /** The checkpoint `/kmplz` uses; default the last one. */
  activeStep?: number;
  /** Reference drawings put into the first server's dataset. */
  dataset?: Parameters<typeof seedDataset>[2];
  env?: Record<string, string>;
  deps?: AppDependencies;
}

/** The emulators and a bot, started together and stopped together: the setup of most end-to-end files. */
export interface World {
  discord: DiscordEmulator;
  replicate: ReplicateEmulator;
  bot: TestBot;
  checkpoints: { step: number; weightsUrl: string; version: string }[];
  /** Every request the bot made was one the vendors' specs accept. */
  expectCleanRequests(): void;
  stop(): Promise<void>;
}

export async function startWorld({ discord: discordOptions, replicate: replicateOptions, checkpointSteps = [], activeStep, dataset, env, deps }: WorldOptions = {}): Promise<World> {
  const discord = await startDiscordEmulator(discordOptions);
  const replicate = await startReplicateEmulator({ ...replicateOptions, destinations: [TEST_DESTINATION] });
  const checkpoints = [];
  for (const step of checkpointSteps) checkpoints.push({ step, ...(await trainCheckpoint(replicate, step)) });
  const bot = await startTestBot({ discord, replicate }, { env, deps });
  const guildId = discord.guild().id;
  if (dataset) await seedDataset(bot.app.context, guildId, dataset);
  if (checkpoints.length) await seedTraining(bot.app.context, guildId, discord.textChannels()[0]!.id, checkpoints, activeStep);
  return {
    discord,
    replicate,
    bot,
    checkpoints,
    expectCleanRequests() {
      discord.assertNoSpecErrors();
      expect(replicate.specErrors).toEqual([]);
    },
    async stop() {
      await bot.stop();
      await replicate.close();
      await discord.close();
    },
  };
}
