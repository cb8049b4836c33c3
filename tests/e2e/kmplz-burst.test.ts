import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DiscordEmulator, InteractionHandle } from '../emulators/discord/index.js';
import type { ReplicateEmulator } from '../emulators/replicate/index.js';
import { startWorld, type World } from '../support/world.js';

let discord: DiscordEmulator;
let replicate: ReplicateEmulator;
let world: World;

const CONCURRENCY = 4;
/** The production default of the edit throttle (GenerationServiceOptions.progressEditIntervalMs). */
const EDIT_INTERVAL_MS = 1500;

beforeAll(async () => {
  world = await startWorld({
    checkpointSteps: [250],
    // A picture takes about 0.4 s at the service, so a burst keeps every slot busy and the last
    // ones wait a few seconds, moving up a place at a time.
    replicate: { timing: { sdxlOverheadSeconds: 400 } },
    // The concurrency comes from the configuration, as a teacher sets it.
    env: { GENERATION_CONCURRENCY: String(CONCURRENCY) },
    deps: { generation: { perUserCap: 5 } },
  });
  ({ discord, replicate } = world);
  // The first /kmplz of a process compiles its code paths: not what the burst is about.
  await (await discord.slash({ name: 'kmplz', options: { prompt: 'warm up', steps: 2 } })).waitForOriginal((m) => m.attachments.length > 0, 30_000);
});
afterAll(() => world?.stop());
afterEach(() => world.expectCleanRequests());

/** The edits the bot made to a reply (PATCH @original), in order. */
function editsOf(handle: InteractionHandle): string[] {
  return discord.requests
    .filter((r) => r.method === 'PATCH' && r.path.endsWith(`/${handle.token}/messages/@original`))
    .map((r) => String((r.body as { content?: unknown } | undefined)?.content ?? ''));
}

describe('a burst of /kmplz', () => {
  it('is drawn GENERATION_CONCURRENCY at a time, and each reply shows its place without being edited for every move', { timeout: 90_000 }, async () => {
    replicate.resetConcurrency();
    const people = Array.from({ length: 5 }, (_, i) => discord.makeUser(`student${i}`));
    const handles = await Promise.all(
      Array.from({ length: 20 }, (_, n) => discord.slash({ name: 'kmplz', user: people[n % people.length], options: { prompt: `a bird, take ${n}`, steps: 2 } })),
    );
    await Promise.all(handles.map((h) => h.ack(3000)));
    const answered = await Promise.all(handles.map((h) => h.waitForOriginal((m) => m.attachments.length > 0, 60_000).then(() => Date.now())));

    // Every slot was used, and never more than the setting allows.
    expect(replicate.maxConcurrentPredictions).toBe(CONCURRENCY);
    expect(replicate.predictions.size).toBeGreaterThanOrEqual(20);

    for (const [n, handle] of handles.entries()) {
      const edits = editsOf(handle);
      const elapsedMs = answered[n]! - handle.dispatchedAt;
      // Queue places and progress only inform: at most one per interval per reply, so beside the
      // changes of state (first place, drawing, the answer) a reply gets at most one such edit
      // per interval it lived. Every move up the queue was one edit before.
      expect(edits.length, `reply ${n}: ${edits.length} edits in ${elapsedMs} ms`).toBeLessThanOrEqual(3 + 1 + Math.floor(elapsedMs / EDIT_INTERVAL_MS));
    }
    // The last ones waited behind most of the burst: they were told their place, and it changed.
    const waited = handles.slice(-5).map((h) => editsOf(h).filter((c) => /in the queue/.test(c)));
    for (const places of waited) expect(places.length).toBeGreaterThanOrEqual(1);
    expect(waited.some((places) => new Set(places).size >= 2)).toBe(true);
  });
});
