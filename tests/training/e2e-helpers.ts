import type { TrainingTiming } from '../../src/training/timing.js';
import type { DiscordEmulator, InteractionHandle, StoredMessage } from '../emulators/discord/index.js';
import { CLASS_DRAWINGS } from '../support/fixtures.js';
import type { WorldOptions } from '../support/world.js';

/** Helpers shared by the /train end-to-end tests (in-process bots and the restarted child process). */

export function customIdsOf(message: StoredMessage): string[] {
  return message.components.flatMap((row) => ('components' in row ? (row.components as { custom_id?: string }[]) : [])).flatMap((c) => (c.custom_id ? [c.custom_id] : []));
}

export function buttonOf(message: StoredMessage, prefix: string): string {
  const id = customIdsOf(message).find((customId) => customId.startsWith(prefix));
  if (!id) throw new Error(`message ${message.id} has no button starting with ${prefix}: ${customIdsOf(message).join(', ')}`);
  return id;
}

/** The checkpoint previews in a thread, by the step of their vote button. */
export function previewsIn(discord: DiscordEmulator, threadId: string): { step: number; message: StoredMessage }[] {
  return discord.messagesIn(threadId).flatMap((message) => {
    const vote = customIdsOf(message).find((id) => id.startsWith('train:vote:'));
    return vote ? [{ step: Number(vote.split(':')[3]), message }] : [];
  });
}

/** `/train` as a trainer (in the server's first channel unless told), then Start; resolves with the training's id and thread. */
export async function startTraining(
  discord: DiscordEmulator,
  options: Record<string, number | boolean> = {},
  { channelId }: { channelId?: string } = {},
): Promise<{ trainingId: string; threadId: string; confirmation: StoredMessage; started: InteractionHandle }> {
  const slash = await discord.slash({ name: 'train', user: discord.users.bob, options, ...(channelId ? { channelId } : {}) });
  const confirmation = await slash.waitForOriginal((m) => !m.loading && m.components.length > 0, 10_000);
  const start = buttonOf(confirmation, 'train:start:');
  const started = await discord.button({ customId: start, message: confirmation, user: discord.users.bob });
  const reply = await started.waitForOriginal((m) => /Training started/.test(m.content), 10_000);
  const threadId = /<#(\d+)>/.exec(reply.content)?.[1];
  if (!threadId) throw new Error(`no thread in ${reply.content}`);
  return { trainingId: start.split(':')[2]!, threadId, confirmation, started };
}

export const isFinal = (m: StoredMessage) => customIdsOf(m).some((id) => id.endsWith(':final'));

/** Polls an async check until it holds (things the bot stores just after the message a test waited for). */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A port nobody listens on right now (for HTTP_PORT, which PUBLIC_URL must name before the bot starts). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A fixed id for the emulated server's Trainer role, so the bot's TRAINER_ROLE_ID can name it up front. */
export const TRAINER_ROLE = '1300000000000000042';

/**
 * A server with a Trainer role and two captioned drawings, and a bot that follows trainings at
 * the accelerated emulator's pace: the setup of the voting end-to-end files.
 */
export function classTrainingWorld(training: Partial<TrainingTiming> = {}): WorldOptions {
  return {
    discord: { guilds: [{ roles: [{ id: TRAINER_ROLE, name: 'Trainer' }] }] },
    dataset: CLASS_DRAWINGS,
    env: { TRAINER_ROLE_ID: TRAINER_ROLE },
    deps: { training: { poll: { baseMs: 20, maxMs: 100 }, statusEditIntervalMs: 20, ...training } },
  };
}
