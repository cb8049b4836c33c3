import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DiscordEmulator } from '../emulators/discord/index.js';
import type { ReplicateEmulator } from '../emulators/replicate/index.js';
import { startWorld, type World } from '../support/world.js';

let discord: DiscordEmulator;
let replicate: ReplicateEmulator;
let world: World;

beforeAll(async () => {
  // Two pictures at a time: the two slow ones below fill both slots, so the third waits.
  world = await startWorld({ checkpointSteps: [250], deps: { generation: { perUserCap: 5, concurrency: 2, progressEditIntervalMs: 20 } } });
  ({ discord, replicate } = world);
});
afterAll(() => world?.stop());
afterEach(() => world.expectCleanRequests());

describe('/kmplz in a busy chat', () => {
  it('lets the owner cancel a waiting picture, and nobody else', async () => {
    // A model that only stops when canceled keeps both prediction slots busy, so the third
    // request waits — however slowly a loaded machine runs this test.
    const slow = async (_input: unknown, ctl: { sleep(seconds: number): Promise<void> }) => {
      await ctl.sleep(1e9);
      throw new Error('not expected to finish');
    };
    replicate.oncePrediction(replicate.refs.sdxl, slow);
    replicate.oncePrediction(replicate.refs.sdxl, slow);
    const blockers = [
      await discord.slash({ name: 'kmplz', user: discord.users.alice, options: { prompt: 'slow one', steps: 2 } }),
      await discord.slash({ name: 'kmplz', user: discord.users.bob, options: { prompt: 'slow two', steps: 2 } }),
    ];
    const waiting = await discord.slash({ name: 'kmplz', user: discord.users.carol, options: { prompt: 'a waiting cat', steps: 2 } });
    const queued = await waiting.waitForOriginal((m) => /in the queue/.test(m.content), 15_000);
    const cancelId = (queued.components.flatMap((row) => ('components' in row ? (row.components as unknown[]) : [])) as { custom_id?: string }[])[0]!.custom_id!;
    const stranger = await discord.button({ customId: cancelId, message: queued, user: discord.users.dave });
    expect((await stranger.waitForOriginal(undefined, 15_000)).content).toMatch(/Only the person who asked/);
    const owner = await discord.button({ customId: cancelId, message: queued, user: discord.users.carol });
    expect((await owner.waitForOriginal(undefined, 15_000)).content).toBe('Canceled.');
    expect((await waiting.waitForOriginal((m) => /Canceled/.test(m.content), 15_000)).content).toMatch(/Nothing was drawn/);
    expect([...replicate.predictions.values()].some((p) => p.input.prompt === 'KMPLZ, a waiting cat')).toBe(false);
    for (const blocker of blockers) {
      const running = await blocker.waitForOriginal((m) => /Drawing/.test(m.content), 15_000);
      const id = (running.components.flatMap((row) => ('components' in row ? (row.components as unknown[]) : [])) as { custom_id?: string }[])[0]!.custom_id!;
      const user = blocker === blockers[0] ? discord.users.alice : discord.users.bob;
      await (await discord.button({ customId: id, message: running, user })).waitForOriginal(undefined, 15_000);
      await blocker.waitForOriginal((m) => /^Canceled/.test(m.content), 15_000);
    }
  });
});
