import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DiscordEmulator, EmulatedUser } from '../emulators/discord/index.js';
import { startWorld, type World } from '../support/world.js';
import { buttonOf, classTrainingWorld, isFinal, previewsIn, startTraining } from '../training/e2e-helpers.js';

/** Tally edits of one preview message are at most one per this many ms. */
const TALLY_INTERVAL_MS = 300;

let discord: DiscordEmulator;
let world: World;

beforeAll(async () => {
  world = await startWorld(classTrainingWorld({ tallyEditIntervalMs: TALLY_INTERVAL_MS }));
  ({ discord } = world);
});
afterAll(() => world?.stop());
afterEach(() => world.expectCleanRequests());

const tallyOf = (content: string) => /🗳️ (\d+) votes?/.exec(content)?.[1];

describe('live tallies on the previews', () => {
  it('shows each preview’s votes as people vote and move their vote, by button or /vote, and coalesces a burst into a few edits', async () => {
    const { threadId } = await startTraining(discord, { steps: 500, checkpoint_every: 250 });
    await discord.waitForMessage(threadId, isFinal, 20_000);
    const previews = previewsIn(discord, threadId);
    expect(previews.map((p) => p.step)).toEqual([250, 500]);
    for (const { message } of previews) expect(tallyOf(message.content)).toBe('0');
    const [p250, p500] = previews.map((p) => p.message);
    const shows = (expected: [string, string]) => () => {
      const now = [tallyOf(discord.message(p250!.id)!.content), tallyOf(discord.message(p500!.id)!.content)];
      return now[0] === expected[0] && now[1] === expected[1] ? now : undefined;
    };

    // Alice and Bob vote 500 with the buttons; Carol votes 250, then moves to 500 with /vote.
    const click = async (user: EmulatedUser, message: typeof p250) => (await discord.button({ customId: buttonOf(message!, 'train:vote:'), message: message!, user })).waitForOriginal();
    await click(discord.users.alice, p500);
    await click(discord.users.bob, p500);
    await click(discord.users.carol, p250);
    await discord.waitFor(shows(['1', '2']), 5000, 'tallies 1 / 2');
    const moved = await (await discord.slash({ name: 'vote', user: discord.users.carol, options: { checkpoint: 500 } })).waitForOriginal();
    expect(moved.content).toMatch(/step 500\*\* \(moved from step 250\)/);
    await discord.waitFor(shows(['0', '3']), 5000, 'tallies 0 / 3');
    // The rest of the message is left as it was.
    expect(discord.message(p500!.id)!.content).toMatch(/^\*\*Checkpoint: step 500\*\* of 500/);

    // A burst of 20 clicks on the 250 preview, from 20 people, at once.
    const edits = (messageId: string) => discord.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(`/messages/${messageId}`)).length;
    const before = { p250: edits(p250!.id), p500: edits(p500!.id) };
    const people = Array.from({ length: 20 }, (_, i) => discord.makeUser(`student${i}`, { guildIds: [discord.guild().id] }));
    await Promise.all(people.map((user) => click(user, p250)));
    await discord.waitFor(shows(['20', '3']), 5000, 'tallies 20 / 3');
    await new Promise((resolve) => setTimeout(resolve, 2 * TALLY_INTERVAL_MS));
    expect(tallyOf(discord.message(p250!.id)!.content)).toBe('20');
    expect(edits(p250!.id) - before.p250).toBeGreaterThan(0);
    expect(edits(p250!.id) - before.p250).toBeLessThanOrEqual(4);
    // The 500 preview's count did not change: it is not edited.
    expect(edits(p500!.id) - before.p500).toBe(0);
  });
});
