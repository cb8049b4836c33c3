import { PermissionFlagsBits, REST } from 'discord.js';
import { commandDefinitions } from '../../commands/index.js';
import { registerCommands } from '../../deploy/registration.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadActiveCheckpoint, loadLastTraining, type TrainingRecord } from '../../src/training/records.js';
import type { DiscordEmulator, StoredMessage } from '../emulators/discord/index.js';
import type { ReplicateEmulator } from '../emulators/replicate/index.js';
import { DEFAULT_TIMING } from '../emulators/replicate/models.js';
import { sdxlTrainer } from '../emulators/replicate/trainers.js';
import type { TestBot } from '../support/bot.js';
import { CLASS_DRAWINGS, seedDataset } from '../support/fixtures.js';
import { startWorld, type World } from '../support/world.js';
import { customIdsOf, eventually, startTraining, TRAINER_ROLE } from '../training/e2e-helpers.js';
import { keys } from '../../src/store/keys.js';

let discord: DiscordEmulator;
let replicate: ReplicateEmulator;
let bot: TestBot;
let checkpoints: World['checkpoints'];
let world: World;

beforeAll(async () => {
  world = await startWorld({
    // A second server whose 'Admin' members manage it: trainers there, strangers here.
    discord: { guilds: [{ roles: [{ id: TRAINER_ROLE, name: 'Trainer' }] }, { roles: [{ name: 'Trainer' }, { name: 'Admin', permissions: PermissionFlagsBits.ManageGuild }] }] },
    checkpointSteps: [250, 500, 750],
    env: { TRAINER_ROLE_ID: TRAINER_ROLE },
  });
  ({ discord, replicate, bot, checkpoints } = world);
  // Registered commands tell the emulator each option's type, as Discord's client knows them.
  const rest = new REST({ api: discord.apiUrl }).setToken(discord.token);
  await registerCommands({ rest, applicationId: discord.applicationId, guildId: discord.guild().id, commands: commandDefinitions });
});
afterAll(() => world?.stop());
afterEach(() => world.expectCleanRequests());

const done = (m: StoredMessage) => m.attachments.length > 0;

describe('/vote and /checkpoints', () => {
  it('records one vote per person, moves it on a second vote, and /checkpoints shows the tallies', async () => {
    const votes: [keyof DiscordEmulator['users'], number][] = [['alice', 500], ['bob', 500], ['carol', 250], ['carol', 500]];
    const answers = [];
    for (const [user, step] of votes) answers.push(await (await discord.slash({ name: 'vote', user: discord.users[user], options: { checkpoint: step } })).waitForOriginal());
    expect(answers[0]!.ephemeral).toBe(true);
    expect(answers[3]!.content).toMatch(/step 500\*\* \(moved from step 250\)/);
    const training = await loadLastTraining(bot.app.context.store, discord.guild().id);
    expect(Object.values(training!.votes).sort()).toEqual([500, 500, 500]);

    const shown = await (await discord.slash({ name: 'checkpoints' })).waitForOriginal();
    const text = shown.embeds[0]?.description ?? '';
    expect(text).toMatch(/step 250\*\* — 0 votes/);
    expect(text).toMatch(/step 500\*\* — 3 votes/);
    expect(text).toMatch(/step 750\*\* — 0 votes.*← `\/kmplz` uses this/);
    expect(shown.embeds[0]?.footer?.text).toMatch(/step 500 wins with 3 votes/);
  });

  it('refuses a vote for a step that has no checkpoint', async () => {
    const answer = await (await discord.slash({ name: 'vote', options: { checkpoint: 300 } })).waitForOriginal();
    expect(answer.content).toMatch(/no checkpoint at step 300. You can vote for: 250, 500, 750/);
  });

  it('lets a trainer override the vote with /checkpoints use:, and /kmplz then draws with that checkpoint', async () => {
    const student = await (await discord.slash({ name: 'checkpoints', user: discord.users.carol, options: { use: 250 } })).waitForOriginal();
    expect(student.content).toMatch(/Only trainers/);
    const trainer = await (await discord.slash({ name: 'checkpoints', user: discord.users.bob, options: { use: 250 } })).waitForOriginal();
    expect(trainer.content).toMatch(/now uses the checkpoint at step 250/);
    expect((await loadActiveCheckpoint(bot.app.context.store, discord.guild().id))?.active).toMatchObject({ step: 250, chosenBy: 'trainer' });
    await (await discord.slash({ name: 'kmplz', options: { prompt: 'a cat', steps: 2 } })).waitForOriginal(done, 15_000);
    expect([...replicate.predictions.values()].at(-1)!.input.replicate_weights).toBe(checkpoints[0]!.weightsUrl);
  });

  it('/help shows the workflow and where this server stands', async () => {
    const answer = await (await discord.slash({ name: 'help' })).waitForOriginal();
    expect(answer.ephemeral).toBe(true);
    const state = answer.embeds[0]?.fields?.find((f) => f.name === 'this server')?.value ?? '';
    expect(state).toMatch(/\*\*0\*\* drawings/);
    expect(state).toMatch(/last training: \*\*succeeded\*\*, 3 checkpoints/);
    expect(state).toMatch(/draws with \*\*step 250\*\*/);
    expect(answer.embeds[0]?.description).toMatch(/1\. `\/dataset add`[\s\S]*6\. ⭐/);
  });

  it('autocompletes the steps of the last training', async () => {
    const typing = await discord.autocomplete({ name: 'vote', focused: 'checkpoint', options: { checkpoint: '5' } });
    expect(await typing.choices()).toEqual([{ name: 'step 500', value: 500 }]);
  });

  it('vote, stop and cancel buttons forged in another server by its trainer, with this server’s training id, change nothing', async () => {
    const { store } = bot.app.context;
    const before = await loadLastTraining(store, discord.guild().id);
    const otherGuildId = discord.guilds()[1]!.id;
    const admin = discord.makeUser('other-admin', { guildIds: [otherGuildId], roles: ['Admin'] });
    const channelId = discord.textChannels(otherGuildId)[0]!.id;
    const theirMessage = await (await discord.slash({ name: 'help', guildId: otherGuildId, channelId, user: admin })).waitForOriginal();
    const cancelsBefore = replicate.requests.filter((r) => /cancel/.test(r.operationId ?? '')).length;
    for (const customId of [`train:vote:${before!.id}:250`, `train:stop:${before!.id}:250`, `train:cancel:${before!.id}`]) {
      const forged = await discord.button({ customId, message: theirMessage, user: admin, forged: true });
      const answer = await discord.waitFor(() => forged.followUps()[0] ?? (forged.response?.type === 5 && forged.original()?.loading === false ? forged.original() : undefined), 5000, `an answer to ${customId}`);
      expect(answer.content, customId).toMatch(/not known here/);
    }
    expect(await loadLastTraining(store, discord.guild().id)).toEqual(before);
    expect(replicate.requests.filter((r) => /cancel/.test(r.operationId ?? '')).length).toBe(cancelsBefore);
  });

  it('while a training runs, its buttons forged in another server cancel nothing at Replicate; the same cancel from this server’s trainer does', async () => {
    const { store } = bot.app.context;
    const guildId = discord.guild().id;
    await seedDataset(bot.app.context, guildId, CLASS_DRAWINGS);
    // Slow runs: still going while the buttons are pressed.
    replicate.onTraining(replicate.refs.sdxl, sdxlTrainer({ ...DEFAULT_TIMING, trainerSecondsPerStep: 100 }));
    const trainingsBefore = replicate.trainings.size;
    const runs = () => [...replicate.trainings.values()].slice(trainingsBefore);
    const { trainingId, threadId } = await startTraining(discord, { steps: 500, checkpoint_every: 250 });
    await eventually(async () => (runs().length === 2 && runs().every((r) => r.status === 'processing') ? true : undefined), 'both runs to be processing', 10_000);
    const cancelsBefore = replicate.requests.filter((r) => /cancel/.test(r.operationId ?? '')).length;

    const otherGuildId = discord.guilds()[1]!.id;
    const admin = discord.makeUser('other-admin-2', { guildIds: [otherGuildId], roles: ['Admin'] });
    const theirMessage = await (await discord.slash({ name: 'help', guildId: otherGuildId, channelId: discord.textChannels(otherGuildId)[0]!.id, user: admin })).waitForOriginal();
    for (const customId of [`train:vote:${trainingId}:250`, `train:stop:${trainingId}:250`, `train:cancel:${trainingId}`]) {
      const forged = await discord.button({ customId, message: theirMessage, user: admin, forged: true });
      const answer = await discord.waitFor(() => forged.followUps()[0] ?? (forged.response?.type === 5 && forged.original()?.loading === false ? forged.original() : undefined), 5000, `an answer to ${customId}`);
      expect(answer.content, customId).toMatch(/not known here/);
    }
    const record = (await store.get<TrainingRecord>(keys.training(guildId, trainingId)))!;
    expect(record).toMatchObject({ status: 'running', votes: {} });
    expect(record.canceled).toBeUndefined();
    expect(record.stopAfter).toBeUndefined();
    expect(runs().map((r) => r.status)).toEqual(['processing', 'processing']);
    expect(replicate.requests.filter((r) => /cancel/.test(r.operationId ?? '')).length).toBe(cancelsBefore);

    // The same custom_id, pressed by this server's trainer on the status message, does cancel.
    const status = await discord.waitFor(() => discord.messagesIn(threadId).find((m) => customIdsOf(m).includes(`train:cancel:${trainingId}`)), 10_000, 'the status message');
    const cancel = await discord.button({ customId: `train:cancel:${trainingId}`, message: status, user: discord.users.bob });
    expect((await cancel.waitForOriginal((m) => !m.loading, 10_000)).content).toMatch(/Canceled: every run is being stopped/);
    await eventually(async () => (runs().every((r) => r.status === 'canceled') ? true : undefined), 'the runs to be canceled at Replicate', 10_000);
  });
});
