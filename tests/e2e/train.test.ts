import { GENERATION_DEFAULTS } from '../../src/generation/prompt.js';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addToDataset, removeFromDataset } from '../../src/dataset/dataset.js';
import { monthOf, spentThisMonth } from '../../src/money/budget.js';
import { type ActiveCheckpoint, type TrainingRecord } from '../../src/training/records.js';
import { startDiscordEmulator, type DiscordEmulator } from '../emulators/discord/index.js';
import { readZip } from '../emulators/replicate/archive.js';
import { startReplicateEmulator, type JobRecord, type ReplicateEmulator } from '../emulators/replicate/index.js';
import { DEFAULT_TIMING } from '../emulators/replicate/models.js';
import { sdxlTrainer } from '../emulators/replicate/trainers.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { drawing, seedDataset } from '../support/fixtures.js';
import { TEST_DESTINATION } from '../support/replicate-training.js';
import { buttonOf, customIdsOf, eventually, isFinal, previewsIn, startTraining } from '../training/e2e-helpers.js';
import { keys } from '../../src/store/keys.js';

let discord: DiscordEmulator;
let replicate: ReplicateEmulator;
let bot: TestBot;
/** Runs longer than this many steps train 100× slower: long enough to be stopped or canceled. */
let slowAbove = Infinity;

const guildId = () => discord.guild().id;
const ctx = () => bot.app.context;
const trainingsSince = (before: number): JobRecord[] => [...replicate.trainings.values()].slice(before);
const record = (trainingId: string) => ctx().store.get<TrainingRecord>(keys.training(guildId(), trainingId));

beforeAll(async () => {
  discord = await startDiscordEmulator();
  replicate = await startReplicateEmulator({ destinations: [TEST_DESTINATION], timeScale: 0.003 });
  const fast = sdxlTrainer(DEFAULT_TIMING);
  const slow = sdxlTrainer({ ...DEFAULT_TIMING, trainerSecondsPerStep: 100 });
  replicate.onTraining(replicate.refs.sdxl, (input, ctl) => (Number(input.max_train_steps) > slowAbove ? slow : fast)(input, ctl));
  bot = await startTestBot(
    { discord, replicate },
    { env: { BUDGET_USD: '50', TRAINER_ROLE_ID: discord.guild().roles.find((r) => r.name === 'Trainer')!.id }, deps: { training: { poll: { baseMs: 20, maxMs: 100 }, statusEditIntervalMs: 20 } } },
  );
  await seedDataset(ctx(), guildId(), [
    { name: 'hoodie-girl', colour: '#3050e0', caption: 'KMPLZ, a drawing of a sad girl in a hoodie' },
    { name: 'cat', colour: '#e0a030', caption: 'KMPLZ, a drawing of a cat on a chair' },
    { name: 'tree', colour: '#30a050', caption: 'KMPLZ, a drawing of a tree by a lake' },
  ]);
});
afterAll(async () => {
  await bot?.stop();
  await replicate?.close();
  await discord?.close();
});
afterEach(() => {
  slowAbove = Infinity;
  discord.assertNoSpecErrors();
  expect(replicate.specErrors).toEqual([]);
});

describe('/train confirmation', () => {
  it('shows images, missing captions, checkpoints, estimate and strategy to the trainer alone, and pays for nothing', async () => {
    const extra = await addToDataset(ctx(), guildId(), 'seed', [{ name: 'uncaptioned.png', data: await drawing(640, 640, '#a03030') }]);
    const uploadsBefore = replicate.files.size;
    const slash = await discord.slash({ name: 'train', user: discord.users.bob });
    const reply = await slash.waitForOriginal((m) => !m.loading, 10_000);
    expect(reply.ephemeral).toBe(true);
    const fields = Object.fromEntries((reply.embeds[0]?.fields ?? []).map((f) => [f.name, f.value]));
    expect(fields.drawings).toBe('4');
    expect(fields['captions missing']).toMatch(/^1 — /);
    expect(fields.checkpoints).toMatch(/^250, 500, 750, 1000 /);
    expect(fields['estimated GPU time and cost']).toMatch(/≈ \$\d+\.\d+ \(training \$\d+\.\d+, previews \$\d+\.\d+\)/);
    expect(fields.strategy).toMatch(/ladder: 4 separate trainings of 250 \/ 500 \/ 750 \/ 1000 steps .*not a point of one run.* \(2\.5× one training\)/);
    expect(fields.budget).toMatch(/\$0\.000 of \$50\.00 spent this month/);
    expect(customIdsOf(reply).map((id) => id.split(':')[1])).toEqual(['start', 'discard', 'caption']);
    expect(replicate.trainings.size).toBe(0);
    expect(replicate.files.size).toBe(uploadsBefore);

    // "Caption the 1 first" runs BLIP on it and shows the confirmation again, nothing missing.
    const caption = await discord.button({ customId: buttonOf(reply, 'train:caption:'), message: reply, user: discord.users.bob });
    await caption.ack();
    const again = await discord.waitFor(() => {
      const message = discord.message(reply.id);
      return message?.embeds[0]?.fields?.find((f) => f.name === 'captions missing')?.value === 'none' ? message : undefined;
    }, 10_000);
    expect(customIdsOf(again).map((id) => id.split(':')[1])).toEqual(['start', 'discard']);
    expect([...replicate.predictions.values()].at(-1)?.model).toBe('salesforce/blip');

    const discard = await discord.button({ customId: buttonOf(again, 'train:discard:'), message: again, user: discord.users.bob });
    await discard.ack();
    await discord.waitFor(() => (/Nothing was started/.test(discord.message(reply.id)?.content ?? '') ? true : undefined));
    expect(replicate.trainings.size).toBe(0);
    await removeFromDataset(ctx(), guildId(), extra.added[0]!.name);
  });

  it('refuses people who are not trainers, privately', async () => {
    const slash = await discord.slash({ name: 'train', user: discord.users.carol });
    const answer = await slash.waitForOriginal();
    expect(answer.ephemeral).toBe(true);
    expect(answer.content).toMatch(/Only trainers can do that/);
  });

  it('refuses bad step counts with the reason', async () => {
    const slash = await discord.slash({ name: 'train', user: discord.users.bob, options: { steps: 1000, checkpoint_every: 50 } });
    const answer = await slash.waitForOriginal((m) => !m.loading);
    expect(answer.content).toMatch(/makes 20 checkpoints; at most 10/);
  });

  it('refuses to start past the budget, showing spent, cap and estimate', async () => {
    const key = keys.spend(guildId(), monthOf(Date.now()));
    await ctx().store.set(key, { gpuSeconds: 32_000, usd: 49.5 });
    try {
      const slash = await discord.slash({ name: 'train', user: discord.users.bob });
      const answer = await slash.waitForOriginal((m) => !m.loading);
      expect(answer.content).toMatch(/spent \$49\.50 of \$50\.00, and this needs about \$\d+\.\d+/);
      expect(replicate.trainings.size).toBe(0);
    } finally {
      await ctx().store.delete(key);
    }
  });
});

describe('/train with the ladder', () => {
  it('trains 250/500/750/1000 from one zip, posts each preview once, edits one status message, and makes the last checkpoint active', async () => {
    const before = replicate.trainings.size;
    const predictionsBefore = replicate.predictions.size;
    const { trainingId, threadId } = await startTraining(discord);
    const thread = discord.threads(guildId()).find((t) => t.id === threadId);
    expect(thread?.parent_id).toBe(discord.textChannels()[0]!.id);
    const final = await discord.waitForMessage(threadId, isFinal, 20_000);

    // One zip, the dataset's processed squares and caption.csv with the trigger word, for four runs.
    const runs = trainingsSince(before);
    expect(runs.map((r) => r.input.max_train_steps)).toEqual([250, 500, 750, 1000]);
    expect(new Set(runs.map((r) => r.input.input_images)).size).toBe(1);
    expect(new Set(runs.map((r) => r.input.seed)).size).toBe(1);
    // The Files API URL has no .zip: cog-sdxl must be told the archive type, and the squares' size.
    for (const run of runs) expect(run.input).toMatchObject({ token_string: 'KMPLZ', lr_scheduler: 'constant', input_images_filetype: 'zip', resolution: 1024 });
    for (const run of runs) expect(run.dataset?.resolution).toBe(1024);
    expect(runs[0]!.dataset).toMatchObject({ captionCsv: 'caption.csv', images: ['cat.jpg', 'hoodie-girl.jpg', 'tree.jpg'] });
    expect(runs[0]!.dataset!.captions).toEqual(['KMPLZ, a drawing of a cat on a chair', 'KMPLZ, a drawing of a sad girl in a hoodie', 'KMPLZ, a drawing of a tree by a lake']);
    const entries = await readZip(runs[0]!.archive!);
    const square = await sharp(entries.find((e) => e.name === 'cat.jpg')!.data).metadata();
    expect(square.width).toBe(square.height);

    // Four previews, each once, each an image with its vote button; drawn through the generator with that checkpoint's weights.
    const previews = previewsIn(discord, threadId);
    // In the order the runs finish: on a loaded machine the 500-step run can beat the 250-step one.
    expect(previews.map((p) => p.step).sort((a, b) => a - b)).toEqual([250, 500, 750, 1000]);
    for (const { step, message } of previews) {
      expect(message.attachments).toHaveLength(1);
      const sheet = await sharp(message.attachments[0]!.data).metadata();
      expect(sheet.height).toBeGreaterThan(3 * 256);
      expect(buttonOf(message, 'train:vote:')).toBe(`train:vote:${trainingId}:${step}`);
      expect(message.content).toMatch(new RegExp(`step ${step}\\*\\* of 1000`));
    }
    const predictions = [...replicate.predictions.values()].slice(predictionsBefore);
    const byWeights = new Map<unknown, JobRecord[]>();
    for (const p of predictions) byWeights.set(p.input.replicate_weights, [...(byWeights.get(p.input.replicate_weights) ?? []), p]);
    const weights = runs.map((r) => (r.output as { weights: string }).weights);
    expect([...byWeights.keys()].sort()).toEqual([...weights].sort());
    const promptsAndSeeds = (list: JobRecord[]) => list.map((p) => `${String(p.input.prompt)}#${String(p.input.seed)}`).sort();
    for (const list of byWeights.values()) expect(promptsAndSeeds(list)).toEqual(promptsAndSeeds(byWeights.get(weights[0])!));
    expect(promptsAndSeeds(byWeights.get(weights[0])!).some((p) => p.startsWith('KMPLZ, a drawing of a sad girl in a hoodie and jeans#'))).toBe(true);
    // At /kmplz's default strength, sent: what the class votes on is what /kmplz draws.
    expect(new Set(predictions.map((p) => p.input.lora_scale))).toEqual(new Set([GENERATION_DEFAULTS.strength]));

    // One status message, edited with a bar, step / total, an ETA and the cost so far, finished at the end.
    const record1 = (await record(trainingId))!;
    // The thread's first message says what a rung is.
    expect(discord.message(record1.announcementId!)?.content).toMatch(/Each checkpoint is a separate training of that many steps \(rounded up to whole epochs\)/);
    const edits = discord.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(`/channels/${threadId}/messages/${record1.statusMessageId}`));
    expect(edits.length).toBeGreaterThan(2);
    const texts = edits.map((e) => String((e.body as { content?: string }).content));
    expect(texts.some((t) => /▰+▱+ \d+ \/ 1000 · done <t:\d+:R>/.test(t) && /cost so far/.test(t))).toBe(true);
    const status = discord.message(record1.statusMessageId!)!;
    expect(status.content).toMatch(/Finished: KMPLZ.*\n▰{20} 1000 \/ 1000/);
    expect(status.content).toMatch(/Checkpoints: ✅ \[250\].*✅ \[1000\]/);
    expect(status.components).toHaveLength(0);

    // Weights and versions stored; nobody voted, so the last checkpoint is the active one.
    expect(record1.checkpoints.map((c) => [c.step, c.weightsUrl, c.version?.startsWith(`${TEST_DESTINATION}:`)])).toEqual(
      runs.map((r) => [r.input.max_train_steps, (r.output as { weights: string }).weights, true]),
    );
    expect(await ctx().store.get<ActiveCheckpoint>(keys.activeCheckpoint(guildId()))).toEqual({ trainingId, step: 1000, chosenBy: 'last' });
    expect(final.content).toMatch(/now draws with \*\*step 1000\*\*: no votes: the last checkpoint \(1000\) is used/);

    // The real cost: every run's and every preview's billed time, in the month's spend.
    const billed = [...runs, ...predictions].reduce((sum, job) => sum + (job.predictTime ?? 0), 0);
    expect((await spentThisMonth(ctx().store, ctx().clock, guildId())).gpuSeconds).toBeCloseTo(billed, 3);
    expect(final.content).toMatch(/Cost: .* of GPU ≈ \$\d+\.\d+ \(estimated \$\d+\.\d+\)/);
    await eventually(async () => ((await ctx().store.get(keys.running(guildId()))) === undefined ? true : undefined), 'the running marker to be cleared');
    await eventually(async () => ((await ctx().store.get(keys.followed())) === undefined ? true : undefined), 'the training to be no longer followed');
  });

  it('stops after step 500: cancels the longer runs, says what that saved, and the class’s vote picks the checkpoint', async () => {
    slowAbove = 500;
    const before = replicate.trainings.size;
    const { trainingId, threadId } = await startTraining(discord);
    const preview500 = (await discord.waitFor(() => previewsIn(discord, threadId).find((p) => p.step === 500), 15_000)).message;
    const preview250 = previewsIn(discord, threadId).find((p) => p.step === 250)!.message;

    const vote = await discord.button({ customId: buttonOf(preview250, 'train:vote:'), message: preview250, user: discord.users.carol });
    expect((await vote.waitForOriginal()).content).toMatch(/Your vote is on \*\*step 250\*\*/);
    const stranger = await discord.button({ customId: buttonOf(preview500, 'train:stop:'), message: preview500, user: discord.users.carol });
    expect((await stranger.waitForFollowUp()).content).toMatch(/Only trainers/);

    const stop = await discord.button({ customId: buttonOf(preview500, 'train:stop:'), message: preview500, user: discord.users.bob });
    const said = await stop.waitForOriginal((m) => !m.loading, 10_000);
    expect(said.ephemeral).toBe(false);
    expect(said.content).toMatch(/stopped the training after step 500: canceled the 750 and 1000-step runs, which saves about .* of GPU ≈ \$\d+\.\d+/);

    const final = await discord.waitForMessage(threadId, isFinal, 15_000);
    const runs = trainingsSince(before);
    expect(runs.map((r) => [r.input.max_train_steps, r.status])).toEqual([
      [250, 'succeeded'],
      [500, 'succeeded'],
      [750, 'canceled'],
      [1000, 'canceled'],
    ]);
    expect(previewsIn(discord, threadId).map((p) => p.step)).toEqual([250, 500]);
    expect(final.content).toMatch(/now draws with \*\*step 250\*\*: step 250 wins with 1 vote/);
    expect(final.content).toMatch(/Stopped after step 500 by <@\d+>, which saved about/);
    expect(await ctx().store.get<ActiveCheckpoint>(keys.activeCheckpoint(guildId()))).toEqual({ trainingId, step: 250, chosenBy: 'vote' });
    // The canceled runs' GPU time counts too.
    const billed = runs.reduce((sum, job) => sum + (job.predictTime ?? 0), 0);
    const stored = (await record(trainingId))!;
    expect(stored.runs!.reduce((sum, run) => sum + (run.gpuSeconds ?? 0), 0)).toBeCloseTo(billed, 3);
  });

  it('cancel stops every run, says what was saved, and leaves the active checkpoint alone', async () => {
    slowAbove = 0;
    const activeBefore = await ctx().store.get<ActiveCheckpoint>(keys.activeCheckpoint(guildId()));
    const before = replicate.trainings.size;
    const { trainingId, threadId } = await startTraining(discord);
    const second = await discord.slash({ name: 'train', user: discord.users.bob });
    expect((await second.waitForOriginal((m) => !m.loading)).content).toMatch(new RegExp(`A training is running already in <#${threadId}>`));

    await discord.waitFor(() => (trainingsSince(before).length === 4 && trainingsSince(before).every((r) => r.status === 'processing') ? true : undefined), 10_000);
    const status = await discord.waitFor(() => discord.messagesIn(threadId).find((m) => customIdsOf(m).includes(`train:cancel:${trainingId}`)));
    const cancel = await discord.button({ customId: `train:cancel:${trainingId}`, message: status, user: discord.users.bob });
    const answer = await cancel.waitForOriginal((m) => !m.loading, 10_000);
    expect(answer.ephemeral).toBe(true);
    expect(answer.content).toMatch(/Canceled: every run is being stopped, which saves about .* of GPU ≈ \$\d+\.\d+/);

    const final = await discord.waitForMessage(threadId, isFinal, 10_000);
    expect(final.content).toMatch(/Training canceled\*\* by <@\d+>: every run was stopped, which saved about/);
    expect(trainingsSince(before).every((r) => r.status === 'canceled')).toBe(true);
    expect(previewsIn(discord, threadId)).toHaveLength(0);
    expect((await record(trainingId))?.status).toBe('canceled');
    expect(await ctx().store.get<ActiveCheckpoint>(keys.activeCheckpoint(guildId()))).toEqual(activeBefore);
    await eventually(async () => ((await ctx().store.get(keys.running(guildId()))) === undefined ? true : undefined), 'the running marker to be cleared');
    expect(discord.message(status.id)?.content).toMatch(/Canceled: KMPLZ/);
  });
});
