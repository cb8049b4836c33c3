import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setCaption } from '../../src/dataset/dataset.js';
import { TRAINING_TIMING } from '../../src/training/plan.js';
import type { DiscordEmulator, StoredMessage } from '../emulators/discord/index.js';
import type { ReplicateEmulator } from '../emulators/replicate/index.js';
import { startWorld, type World } from '../support/world.js';
import { buttonOf } from '../training/e2e-helpers.js';

/**
 * `/train` as cog-sdxl really trains: the ladder's rungs are separate trainings of whole epochs
 * (their GPU time counted as such, at the L40S price of stability-ai/sdxl), and a trigger word
 * that the trainer's substring replacement would find inside caption words is refused, naming them.
 */

let discord: DiscordEmulator;
let replicate: ReplicateEmulator;
let world: World;

/** 12 drawings: an epoch of cog-sdxl's batch of 4 is 3 steps, so 250 / 500 / 1000 train 252 / 501 / 1002. */
const DRAWINGS = Array.from({ length: 12 }, (_, i) => ({ name: `cat-${String(i).padStart(2, '0')}`, colour: `#${(0x203040 + i * 0x0a0a0a).toString(16)}`, caption: 'ART, a drawing of a cat on a chair' }));

beforeAll(async () => {
  world = await startWorld({ dataset: DRAWINGS, env: { TRIGGER_WORD: 'ART' } });
  ({ discord, replicate } = world);
});
afterAll(() => world?.stop());
afterEach(() => world.expectCleanRequests());

const confirmationOf = async (): Promise<StoredMessage> => (await discord.slash({ name: 'train', options: { steps: 1000, checkpoint_every: 250 } })).waitForOriginal((m) => !m.loading, 10_000);
const fieldsOf = (message: StoredMessage) => Object.fromEntries((message.embeds[0]?.fields ?? []).map((f) => [f.name, f.value]));

describe('/train with the ladder, as cog-sdxl trains', () => {
  it('says each rung is a separate training of whole epochs, and counts their real GPU time at the L40S price', async () => {
    const confirmation = await confirmationOf();
    const fields = fieldsOf(confirmation);
    expect(fields.strategy).toMatch(/4 separate trainings of 250 \/ 500 \/ 750 \/ 1000 steps .*not a point of one run/);
    expect(fields.strategy).toMatch(/whole epochs \(12 drawings at batch 4 = 3 steps each\), so they really train 252 \/ 501 \/ 750 \/ 1002 steps/);
    // Setup (30 s + 2 s a drawing) per run, and the whole-epoch steps, at $0.000975 a second.
    const trainingSeconds = 4 * (TRAINING_TIMING.secondsPerRun + 12 * TRAINING_TIMING.secondsPerImage) + (252 + 501 + 750 + 1002) * TRAINING_TIMING.secondsPerStep;
    expect(fields['estimated GPU time and cost']).toContain(`(training $${(trainingSeconds * 0.000975).toFixed(2)},`);
    expect(replicate.trainings.size).toBe(0);
  });

  it('refuses a trigger word that the trainer would find inside caption words, naming them and the drawings', async () => {
    const ctx = world.bot.app.context;
    const guildId = discord.guild().id;
    await setCaption(ctx, guildId, 'cat-03', 'ART, a drawing of a cat at a party', 'edited');
    await setCaption(ctx, guildId, 'cat-07', 'ART, a drawing of a Martian cat', 'edited');
    const refusal = await (await discord.slash({ name: 'train' })).waitForOriginal((m) => !m.loading, 10_000);
    expect(refusal.ephemeral).toBe(true);
    expect(refusal.content).toMatch(/ART occurs inside ordinary words of the captions: “party”, “martian”/);
    expect(refusal.content).toMatch(/cat-03, cat-07\.$/);
    expect(replicate.trainings.size).toBe(0);
    expect(replicate.files.size).toBe(0);
  });

  it('checks again on Start: a caption edited after the confirmation is refused before anything is uploaded', async () => {
    const ctx = world.bot.app.context;
    const guildId = discord.guild().id;
    await setCaption(ctx, guildId, 'cat-03', 'ART, a drawing of a cat', 'edited');
    await setCaption(ctx, guildId, 'cat-07', 'ART, a drawing of a cat', 'edited');
    const confirmation = await confirmationOf();
    await setCaption(ctx, guildId, 'cat-05', 'ART, a drawing of a cat on a cart', 'edited');
    const start = await discord.button({ customId: buttonOf(confirmation, 'train:start:'), message: confirmation });
    const refusal = await start.waitForFollowUp();
    expect(refusal.content).toMatch(/“cart”.*cat-05\.$/s);
    expect(replicate.trainings.size).toBe(0);
    expect(replicate.files.size).toBe(0);
  });
});
