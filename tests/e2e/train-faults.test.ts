import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keys, type ActiveCheckpoint, type TrainingRecord } from '../../src/training/records.js';
import type { DiscordEmulator } from '../emulators/discord/index.js';
import type { ReplicateEmulator } from '../emulators/replicate/index.js';
import type { TestBot } from '../support/bot.js';
import { startWorld, type World } from '../support/world.js';
import { classTrainingWorld, isFinal, previewsIn, startTraining } from '../training/e2e-helpers.js';

let discord: DiscordEmulator;
let replicate: ReplicateEmulator;
let bot: TestBot;
let world: World;

beforeAll(async () => {
  world = await startWorld(classTrainingWorld());
  ({ discord, replicate, bot } = world);
});
afterAll(() => world?.stop());
afterEach(() => world.expectCleanRequests());

describe('a training under faults', () => {
  it('Discord 429s on the thread, Replicate 5xx and 429 on the training polls, a dropped gateway: each preview is still posted exactly once', async () => {
    const { trainingId, threadId } = await startTraining(discord);
    // Discord throttles the bot's posts in the thread (previews included) twice.
    discord.inject429((r) => r.method === 'POST' && r.path.endsWith(`/channels/${threadId}/messages`), { retryAfter: 0.2 }, 2);
    // Replicate fails the training polls for a while, both ways.
    replicate.inject((r) => r.method === 'GET' && /\/trainings\/[^/]+$/.test(r.url.split('?')[0]!), { status: 503 }, 6);
    replicate.inject((r) => r.method === 'GET' && /\/trainings\/[^/]+$/.test(r.url.split('?')[0]!), { status: 429, body: { detail: 'Request was throttled.' } }, 6);
    // And the gateway drops once the first preview is out.
    await discord.waitFor(() => (previewsIn(discord, threadId).length > 0 ? true : undefined), 20_000, 'the first preview');
    discord.dropConnection();

    await discord.waitForMessage(threadId, isFinal, 30_000);
    const previews = previewsIn(discord, threadId);
    expect(previews.map((p) => p.step).sort((a, b) => a - b)).toEqual([250, 500, 750, 1000]);
    for (const { message } of previews) expect(message.attachments).toHaveLength(1);
    // The faults really happened.
    const posts = discord.requests.filter((r) => r.method === 'POST' && r.path.endsWith(`/channels/${threadId}/messages`));
    expect(posts.filter((r) => r.status === 429)).toHaveLength(2);
    expect(replicate.requests.filter((r) => r.method === 'GET' && /\/trainings\//.test(r.url) && (r.status === 503 || r.status === 429)).length).toBe(12);
    expect(discord.gatewayFrames.some((f) => f.op === 6)).toBe(true);
    // One status message, edited to the end; the last checkpoint is the one /kmplz uses.
    const training = (await bot.app.context.store.get<TrainingRecord>(keys.training(discord.guild().id, trainingId)))!;
    expect(discord.message(training.statusMessageId!)!.content).toMatch(/Finished: KMPLZ.*\n▰{20} 1000 \/ 1000/);
    expect(discord.messagesIn(threadId).filter((m) => /^Finished: KMPLZ|Training/.test(m.content) && m.id !== training.statusMessageId && !isFinal(m) && !previews.some((p) => p.message.id === m.id))).toEqual([]);
    expect(await bot.app.context.store.get<ActiveCheckpoint>(keys.activeCheckpoint(discord.guild().id))).toEqual({ trainingId, step: 1000, chosenBy: 'last' });
  });
});
