import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DiscordEmulator } from '../emulators/discord/index.js';
import type { ReplicateEmulator } from '../emulators/replicate/index.js';
import { drawing } from '../support/fixtures.js';
import { startWorld, type World } from '../support/world.js';

let discord: DiscordEmulator;
let replicate: ReplicateEmulator;
let world: World;

beforeAll(async () => {
  // One picture at a time, and progress edits throttled as in production (1.5 s per job).
  world = await startWorld({ checkpointSteps: [250], deps: { generation: { perUserCap: 5, concurrency: 1 } } });
  ({ discord, replicate } = world);
});
afterAll(() => world?.stop());
afterEach(() => world.expectCleanRequests());

describe('/kmplz queue places', () => {
  it('shows every move up the queue, even one right after the first place was shown', async () => {
    const gates: Array<() => void> = [];
    const held = async (_input: unknown, ctl: { serve(name: string, data: Buffer, type: string): unknown }) => {
      await new Promise<void>((resolve) => gates.push(resolve));
      return [ctl.serve('held.png', await drawing(1024, 1024, '#447788'), 'image/png')];
    };
    replicate.oncePrediction(replicate.refs.sdxl, held);
    replicate.oncePrediction(replicate.refs.sdxl, held);
    const releaseNext = async () => (await discord.waitFor(() => gates.shift(), 15_000, 'a held picture'))();
    const first = await discord.slash({ name: 'kmplz', user: discord.users.alice, options: { prompt: 'first', steps: 2 } });
    await first.waitForOriginal((m) => /Drawing/.test(m.content), 15_000);
    const second = await discord.slash({ name: 'kmplz', user: discord.users.bob, options: { prompt: 'second', steps: 2 } });
    await second.waitForOriginal((m) => /You’re next/.test(m.content), 15_000);
    const third = await discord.slash({ name: 'kmplz', user: discord.users.carol, options: { prompt: 'third', steps: 2 } });
    await third.waitForOriginal((m) => /You’re #2 in the queue/.test(m.content), 15_000);

    // The first picture is done at once: the second starts and the third moves up, well within 1.5 s of its first place.
    await releaseNext();
    await second.waitForOriginal((m) => /Drawing/.test(m.content), 15_000);
    expect((await third.waitForOriginal((m) => /You’re next/.test(m.content), 15_000)).content).toMatch(/You’re next in the queue/);

    await releaseNext();
    await third.waitForOriginal((m) => m.attachments.length > 0, 15_000);
  });
});
