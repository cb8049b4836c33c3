import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ActiveCheckpoint, type TrainingRecord } from '../../src/training/records.js';
import type { DiscordEmulator, StoredMessage } from '../emulators/discord/index.js';
import type { ReplicateEmulator } from '../emulators/replicate/index.js';
import type { TestBot } from '../support/bot.js';
import { startWorld, type World } from '../support/world.js';
import { classTrainingWorld, eventually, isFinal, previewsIn, startTraining } from '../training/e2e-helpers.js';
import { keys } from '../../src/store/keys.js';

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

const RETRY_AFTER_S = 0.2;
const contentOf = (r: { body?: unknown }) => String((r.body as { content?: unknown } | undefined)?.content ?? '');
const isTrainingPoll = (r: { method: string; url: string }) => r.method === 'GET' && /\/trainings\/[^/]+$/.test(r.url.split('?')[0]!);

describe('a training under faults', () => {
  it('Discord 429s on the thread, Replicate 5xx and 429 on the training polls, a dropped gateway: each preview is still posted exactly once', async () => {
    const { trainingId, threadId } = await startTraining(discord);
    const guildId = discord.guild().id;
    const training = () => bot.app.context.store.get<TrainingRecord>(keys.training(guildId, trainingId));
    const threadPost = (r: { method: string; path: string }) => r.method === 'POST' && r.path.endsWith(`/channels/${threadId}/messages`);
    // Discord throttles the first preview twice (previews are the thread posts with a file), the last one
    // once, and the closing message once; Discord says how long to wait, the bot waits that long.
    discord.inject429((r) => threadPost(r) && r.files.length > 0, { retryAfter: RETRY_AFTER_S }, 2);
    discord.inject429((r) => threadPost(r) && /step 1000\*\*/.test(contentOf(r)), { retryAfter: RETRY_AFTER_S }, 1);
    discord.inject429((r) => threadPost(r) && /Training finished/.test(contentOf(r)), { retryAfter: RETRY_AFTER_S }, 1);
    // Replicate fails the training polls for a while, both ways.
    replicate.inject(isTrainingPoll, { status: 503 }, 6);
    replicate.inject(isTrainingPoll, { status: 429, body: { detail: 'Request was throttled.' } }, 6);
    // And the gateway drops once the first preview is out.
    await discord.waitFor(() => (previewsIn(discord, threadId).length > 0 ? true : undefined), 20_000, 'the first preview');
    discord.dropConnection();

    await discord.waitForMessage(threadId, isFinal, 30_000);
    const record = (await training())!;

    // The faults really happened, where they were meant to.
    const posts = discord.requests.filter(threadPost);
    const throttled = posts.filter((r) => r.status === 429);
    const postKind = (r: { body?: unknown }) => (/Training finished/.test(contentOf(r)) ? 'final' : (/^\*\*Checkpoint: step (\d+)\*\*/.exec(contentOf(r))?.[1] ?? '?'));
    expect(throttled.map(postKind)).toEqual(['250', '250', '1000', 'final']);
    // Each throttled post was sent again no sooner than retry_after.
    for (const refused of throttled) {
      const next = posts.find((r) => r.at > refused.at && contentOf(r) === contentOf(refused));
      expect(next, `a retry of "${contentOf(refused).slice(0, 40)}"`).toBeDefined();
      expect(next!.at - refused.at).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000 - 5);
    }
    const failedPolls = replicate.requests.filter((r) => isTrainingPoll(r) && (r.status === 503 || r.status === 429));
    expect(failedPolls.map((r) => r.status)).toEqual([...Array(6).fill(503), ...Array(6).fill(429)]);
    expect(discord.gatewayFrames.some((f) => f.op === 6)).toBe(true);

    // Every preview once, in Discord and as the bot sent it: one accepted post per checkpoint.
    const previews = previewsIn(discord, threadId);
    expect(previews.map((p) => p.step).sort((a, b) => a - b)).toEqual([250, 500, 750, 1000]);
    for (const { message } of previews) expect(message.attachments).toHaveLength(1);
    const accepted = posts.filter((r) => r.status === 200 && r.files.length > 0).map(postKind);
    expect(accepted.sort((a, b) => Number(a) - Number(b))).toEqual(['250', '500', '750', '1000']);
    // The thread holds the status message, the four previews and the closing message: nothing twice, nothing else.
    const kindOf = (m: StoredMessage) => (m.id === record.statusMessageId ? 'status' : isFinal(m) ? 'final' : previews.some((p) => p.message.id === m.id) ? 'preview' : `other: ${m.content.slice(0, 60)}`);
    expect(discord.messagesIn(threadId).map(kindOf)).toEqual(['status', 'preview', 'preview', 'preview', 'preview', 'final']);

    // One status message, edited to the end; the last checkpoint is the one /kmplz uses.
    expect(discord.message(record.statusMessageId!)!.content).toMatch(/Finished: KMPLZ.*\n▰{20} 1000 \/ 1000/);
    expect(discord.message(record.statusMessageId!)!.content).toMatch(/Checkpoints: ✅ \[250\].*✅ \[500\].*✅ \[750\].*✅ \[1000\]/);
    expect(record.checkpoints.map((c) => [c.step, Boolean(c.previewUrl)])).toEqual([250, 500, 750, 1000].map((step) => [step, true]));
    expect(await bot.app.context.store.get<ActiveCheckpoint>(keys.activeCheckpoint(guildId))).toEqual({ trainingId, step: 1000, chosenBy: 'last' });
    expect(record.status).not.toBe('failed');
    await eventually(async () => ((await bot.app.context.store.get(keys.running(guildId))) === undefined ? true : undefined), 'the running marker to be cleared');
  });
});
