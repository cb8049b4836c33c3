import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TrainingRecord } from '../../src/training/records.js';
import type { DiscordEmulator, StoredMessage } from '../emulators/discord/index.js';
import { STREAMING_TRAINER_MODEL, versionIdFor } from '../emulators/replicate/catalogue.js';
import { CLASS_DRAWINGS } from '../support/fixtures.js';
import { startWorld, type World } from '../support/world.js';
import { eventually, freePort, isFinal, startTraining, TRAINER_ROLE } from '../training/e2e-helpers.js';
import { keys } from '../../src/store/keys.js';

let world: World;
let discord: DiscordEmulator;
let publicUrl = '';

beforeAll(async () => {
  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}`;
  world = await startWorld({
    discord: { guilds: [{ name: 'Art Class 7B', roles: [{ id: TRAINER_ROLE, name: 'Trainer' }], channels: [{ name: 'general' }] }] },
    dataset: CLASS_DRAWINGS,
    // kmplz's streaming trainer: no trained version to fall back on once Replicate deletes the weights.
    env: {
      TRAINER_ROLE_ID: TRAINER_ROLE,
      PUBLIC_URL: publicUrl,
      HTTP_PORT: String(port),
      REPLICATE_TRAINER: `${STREAMING_TRAINER_MODEL}:${versionIdFor(STREAMING_TRAINER_MODEL)}`,
      REPLICATE_TRAINER_MODE: 'streaming',
    },
    deps: { training: { poll: { baseMs: 20, maxMs: 100 }, statusEditIntervalMs: 20, tallyEditIntervalMs: 50 } },
  });
  ({ discord } = world);
});
afterAll(() => world?.stop());
afterEach(() => world.expectCleanRequests());

describe('kept checkpoint archives served at PUBLIC_URL', () => {
  it('after Replicate deleted the weights, /kmplz draws with kmplz’s own copy, which the emulated cog-sdxl downloads', async () => {
    const started = await startTraining(discord, { steps: 500, checkpoint_every: 250, vote_minutes: 60 });
    await discord.waitForMessage(started.threadId, isFinal, 30_000);
    const store = world.bot.app.context.store;
    const load = async () => (await store.get<TrainingRecord>(keys.training(discord.guild().id, started.trainingId)))!;
    const record = await eventually(async () => {
      const current = await load();
      return current.checkpoints.length === 2 && current.checkpoints.every((c) => c.archiveToken) ? current : undefined;
    }, 'both archives kept and named');
    const last = record.checkpoints.find((c) => c.step === 500)!;
    const served = `${publicUrl}/checkpoints/${last.archiveToken}.tar`;
    const file = path.join(world.bot.dataDir, 'guilds', discord.guild().id, 'trainings', started.trainingId, 'checkpoints', '500.tar');
    const kept = await readFile(file);

    // The copy, whole, its head, and a byte range; nothing for a wrong token or the folder.
    const whole = await fetch(served);
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.arrayBuffer()).equals(kept)).toBe(true);
    const head = await fetch(served, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-length')]).toEqual([200, String(kept.length)]);
    const part = await fetch(served, { headers: { range: 'bytes=10-19' } });
    expect([part.status, part.headers.get('content-range')]).toEqual([206, `bytes 10-19/${kept.length}`]);
    expect(Buffer.from(await part.arrayBuffer()).equals(kept.subarray(10, 20))).toBe(true);
    expect((await fetch(`${publicUrl}/checkpoints/${'A'.repeat(43)}.tar`)).status).toBe(404);
    expect((await fetch(`${publicUrl}/checkpoints/`)).status).toBe(404);

    // A trainer's pick closes the vote: retention lets 250 go, and its URL with it.
    const pick = async (step: number) => (await (await discord.slash({ name: 'checkpoints', user: discord.users.bob, options: { use: step } })).waitForOriginal((m) => !m.loading, 15_000)).content;
    const served250 = `${publicUrl}/checkpoints/${record.checkpoints.find((c) => c.step === 250)!.archiveToken}.tar`;
    await pick(500);
    await eventually(async () => ((await fetch(served250, { method: 'HEAD' })).status === 404 ? true : undefined), 'step 250 let go');
    // Picked back while Replicate still has its weights: kept again, and served under its name again.
    await pick(250);
    expect((await fetch(served250, { method: 'HEAD' })).status).toBe(200);

    for (const run of record.runs ?? []) world.replicate.removeData(run.id!);
    expect((await fetch(last.weightsUrl!, { method: 'HEAD' })).status).toBe(404);
    const picture = await (await discord.slash({ name: 'kmplz', options: { prompt: 'a tree by a lake', steps: 3, seed: 9 } })).waitForOriginal((m: StoredMessage) => m.attachments.length > 0, 15_000);
    expect(picture.embeds[0]?.fields?.find((f) => f.name === 'checkpoint')?.value).toBe('step 250');
    expect([...world.replicate.predictions.values()].at(-1)!.input.replicate_weights).toBe(served250);

    // Once kmplz's copy is gone too, /kmplz refuses before creating a prediction.
    await rm(file.replace(/500\.tar$/, '250.tar'));
    const predictions = world.replicate.predictions.size;
    const refused = await (await discord.slash({ name: 'kmplz', options: { prompt: 'a tree by a lake', steps: 3, seed: 10 } })).waitForOriginal((m) => /expired at Replicate/.test(m.content), 15_000);
    expect(refused.content).toMatch(/step 250/i);
    expect(world.replicate.predictions.size).toBe(predictions);
  });
});
