import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ActiveCheckpoint, type TrainingRecord } from '../../src/training/records.js';
import type { DiscordEmulator } from '../emulators/discord/index.js';
import { startHubEmulator, type HubEmulator } from '../emulators/hub/index.js';
import { STREAMING_TRAINER_MODEL, versionIdFor } from '../emulators/replicate/catalogue.js';
import { CLASS_DRAWINGS } from '../support/fixtures.js';
import { startWorld, type World } from '../support/world.js';
import { buttonOf, isFinal, previewsIn, startTraining, TRAINER_ROLE } from '../training/e2e-helpers.js';
import { keys } from '../../src/store/keys.js';

const TOKEN = 'hf_class_write_token';
const REPO = 'teacher/kmplz-art-class-7b';

let hub: HubEmulator;
let world: World;
let discord: DiscordEmulator;
let trainingId = '';

beforeAll(async () => {
  hub = await startHubEmulator({ tokens: { [TOKEN]: { user: 'teacher', role: 'write' } } });
  world = await startWorld({
    discord: { guilds: [{ name: 'Art Class 7B', roles: [{ id: TRAINER_ROLE, name: 'Trainer' }], channels: [{ name: 'general' }] }] },
    dataset: CLASS_DRAWINGS,
    // kmplz's streaming trainer: its checkpoints have no trained version to fall back on once Replicate deletes the weights.
    env: {
      TRAINER_ROLE_ID: TRAINER_ROLE,
      HF_TOKEN: TOKEN,
      HF_HUB_URL: hub.url,
      REPLICATE_TRAINER: `${STREAMING_TRAINER_MODEL}:${versionIdFor(STREAMING_TRAINER_MODEL)}`,
      REPLICATE_TRAINER_MODE: 'streaming',
    },
    deps: { training: { poll: { baseMs: 20, maxMs: 100 }, statusEditIntervalMs: 20, tallyEditIntervalMs: 50 } },
  });
  ({ discord } = world);
});
afterAll(async () => {
  await world?.stop();
  await hub?.close();
});
afterEach(() => world.expectCleanRequests());

describe('after the training, while its vote is open and once it closed', () => {
  it('publishes the live leader /kmplz draws with, not the choice stored when the training settled', async () => {
    const started = await startTraining(discord, { steps: 750, checkpoint_every: 250, vote_minutes: 60 });
    trainingId = started.trainingId;
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

  it('every /checkpoints pick re-applies retention, and a pick of a step whose weights are gone says so', async () => {
    const kept = async () => (await readdir(path.join(world.bot.dataDir, 'guilds', discord.guild().id, 'trainings', trainingId, 'checkpoints')).catch(() => [] as string[])).filter((f) => f.endsWith('.tar')).sort();
    const pick = async (step: number) => (await (await discord.slash({ name: 'checkpoints', user: discord.users.bob, options: { use: step } })).waitForOriginal((m) => !m.loading, 15_000)).content;
    expect(await kept()).toEqual(['250.tar', '500.tar', '750.tar']);
    // The first pick closes the vote (and its close syncs): 250 in use, 750 the last.
    expect(await pick(250)).toMatch(/step 250/);
    // A pick after the vote closed: retention follows it at once, 250 is let go.
    expect(await pick(750)).toMatch(/step 750/);
    expect(await kept()).toEqual(['750.tar']);
    // Replicate deletes the outputs; step 500's archive went with the vote's close.
    const record = (await world.bot.app.context.store.get<TrainingRecord>(keys.training(discord.guild().id, trainingId)))!;
    for (const run of record.runs ?? []) world.replicate.removeData(run.id!);
    const answer = await pick(500);
    expect(answer).toMatch(/step 500/);
    expect(answer).toContain('step 500 can no longer be drawn with');
    // Without PUBLIC_URL kmplz cannot hand Replicate its copy: /kmplz refuses before creating (and paying for) a prediction.
    const predictions = world.replicate.predictions.size;
    const refused = await (await discord.slash({ name: 'kmplz', user: discord.users.carol, options: { prompt: 'a cat on a roof', steps: 3, seed: 6 } })).waitForOriginal((m) => /expired at Replicate/.test(m.content), 15_000);
    expect(refused.content).toContain('set `PUBLIC_URL`');
    expect(world.replicate.predictions.size).toBe(predictions);
    // The last step is still kept: picking it back says nothing of the kind.
    expect(await pick(750)).not.toContain('can no longer be drawn');
  });

  it('a new training closes the open vote before it becomes the last training: the vote’s choice is stored first', async () => {
    const store = world.bot.app.context.store;
    const guildId = discord.guild().id;
    // The first training's vote open again, led by 250 (alice's and carol's votes), while 750 is stored.
    await store.update<TrainingRecord>(keys.training(guildId, trainingId), (current) => {
      const { votingClosedAt: _closed, override: _override, ...rest } = current!;
      return { ...rest, votingClosesAt: Date.now() + 3_600_000 };
    });
    expect((await store.get<ActiveCheckpoint>(keys.activeCheckpoint(guildId)))?.step).toBe(750);
    const writes: string[] = [];
    const original = store.set.bind(store);
    const set = vi.spyOn(store, 'set').mockImplementation((key, value, ttlMs) => {
      writes.push(key);
      return original(key, value, ttlMs);
    });
    let next: Awaited<ReturnType<typeof startTraining>>;
    try {
      next = await startTraining(discord, { steps: 500, checkpoint_every: 250 });
    } finally {
      set.mockRestore();
    }
    const chosen = writes.indexOf(keys.activeCheckpoint(guildId));
    expect(chosen).toBeGreaterThanOrEqual(0);
    expect(chosen).toBeLessThan(writes.indexOf(keys.lastTraining(guildId)));
    expect(await store.get<ActiveCheckpoint>(keys.activeCheckpoint(guildId))).toMatchObject({ trainingId, step: 250 });
    await discord.waitForMessage(next.threadId, isFinal, 30_000);
  });
});
