import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DiscordEmulator } from '../emulators/discord/index.js';
import { startHubEmulator, type HubEmulator } from '../emulators/hub/index.js';
import { CLASS_DRAWINGS } from '../support/fixtures.js';
import { startWorld, type World } from '../support/world.js';
import { buttonOf, isFinal, previewsIn, startTraining, TRAINER_ROLE } from '../training/e2e-helpers.js';

const TOKEN = 'hf_class_write_token';
const REPO = 'teacher/kmplz-art-class-7b';

let hub: HubEmulator;
let world: World;
let discord: DiscordEmulator;

beforeAll(async () => {
  hub = await startHubEmulator({ tokens: { [TOKEN]: { user: 'teacher', role: 'write' } } });
  world = await startWorld({
    discord: { guilds: [{ name: 'Art Class 7B', roles: [{ id: TRAINER_ROLE, name: 'Trainer' }], channels: [{ name: 'general' }] }] },
    dataset: CLASS_DRAWINGS,
    env: { TRAINER_ROLE_ID: TRAINER_ROLE, HF_TOKEN: TOKEN, HF_HUB_URL: hub.url },
    deps: { training: { poll: { baseMs: 20, maxMs: 100 }, statusEditIntervalMs: 20, tallyEditIntervalMs: 50 } },
  });
  ({ discord } = world);
});
afterAll(async () => {
  await world?.stop();
  await hub?.close();
});
afterEach(() => world.expectCleanRequests());

describe('/publish while the vote is open after the training', () => {
  it('publishes the live leader /kmplz draws with, not the choice stored when the training settled', async () => {
    const started = await startTraining(discord, { steps: 750, checkpoint_every: 250, vote_minutes: 60 });
    await discord.waitForMessage(started.threadId, isFinal, 30_000);
    // The training settled with no votes (the last step stored); now the class votes for 250.
    const p250 = previewsIn(discord, started.threadId).find((p) => p.step === 250)!.message;
    for (const user of ['alice', 'carol'] as const) await (await discord.button({ customId: buttonOf(p250, 'train:vote:'), message: p250, user: discord.users[user] })).waitForOriginal();

    const picture = await (await discord.slash({ name: 'kmplz', user: discord.users.carol, options: { prompt: 'a cat on a roof', steps: 3, seed: 5 } })).waitForOriginal((m) => m.attachments.length > 0, 15_000);
    expect(picture.embeds[0]?.fields?.find((f) => f.name === 'checkpoint')?.value).toBe('step 250');

    const answer = await (await discord.slash({ name: 'publish', user: discord.users.bob })).waitForOriginal((m) => !m.loading, 20_000);
    expect(answer.content).toContain(`Published step 250 to **${REPO}**`);
    const card = Buffer.from(await (await fetch(`${hub.url}/${REPO}/resolve/main/README.md`)).arrayBuffer()).toString('utf8');
    expect(card).toContain('Step 250 is the one the class uses (leading an open vote).');
  });
});
