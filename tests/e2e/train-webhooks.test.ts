import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TrainingRecord } from '../../src/training/records.js';
import { startDiscordEmulator, type DiscordEmulator } from '../emulators/discord/index.js';
import { signWebhook, startReplicateEmulator, type ReplicateEmulator, type WebhookDelivery } from '../emulators/replicate/index.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { CLASS_DRAWINGS, seedDataset } from '../support/fixtures.js';
import { TEST_DESTINATION } from '../support/replicate-training.js';
import { freePort, isFinal, previewsIn, startTraining } from '../training/e2e-helpers.js';
import { keys } from '../../src/store/keys.js';

let discord: DiscordEmulator;
let replicate: ReplicateEmulator;
let bot: TestBot;
let webhookUrl: string;

const guildId = () => discord.guild().id;
const ctx = () => bot.app.context;

beforeAll(async () => {
  discord = await startDiscordEmulator();
  replicate = await startReplicateEmulator({ destinations: [TEST_DESTINATION] });
  const port = await freePort();
  webhookUrl = `http://127.0.0.1:${port}/webhooks/replicate`;
  bot = await startTestBot(
    { discord, replicate },
    {
      env: { PUBLIC_URL: `http://127.0.0.1:${port}`, HTTP_PORT: String(port), TRAINER_ROLE_ID: discord.guild().roles.find((r) => r.name === 'Trainer')!.id },
      // The safety poll stays out of the way: everything here must come through webhooks.
      deps: { training: { poll: { baseMs: 20, maxMs: 100 }, statusEditIntervalMs: 20, reconcileMs: 60_000 } },
    },
  );
  await seedDataset(ctx(), guildId(), CLASS_DRAWINGS);
});
afterAll(async () => {
  await bot?.stop();
  await replicate?.close();
  await discord?.close();
});
afterEach(() => {
  discord.assertNoSpecErrors();
  expect(replicate.specErrors).toEqual([]);
});

describe('an http PUBLIC_URL', () => {
  it('is named in a warning at start: Replicate requires an HTTPS webhook URL', () => {
    expect(bot.eventsOf('config.warning').some((warning) => warning.key === 'PUBLIC_URL' && /not https: Replicate requires an HTTPS webhook URL/.test(warning.message))).toBe(true);
  });
});

describe('/train followed by Replicate webhooks', () => {
  let trainingId: string;
  let threadId: string;
  let deliveries: WebhookDelivery[];

  it('gives every run a webhook, is never polled, answers each delivery with a 2xx, and posts the four previews', async () => {
    ({ trainingId, threadId } = await startTraining(discord));
    await discord.waitForMessage(threadId, isFinal, 20_000);
    await replicate.webhooksIdle();
    const runs = [...replicate.trainings.values()];
    expect(runs).toHaveLength(4);
    for (const run of runs) expect(run.webhook).toBe(`${webhookUrl}?guild=${guildId()}&training=${trainingId}`);
    expect(replicate.requests.filter((r) => r.operationId === 'trainings.get')).toEqual([]);
    deliveries = replicate.webhookDeliveries.filter((d) => runs.some((r) => r.id === d.jobId));
    expect(new Set(deliveries.map((d) => d.event))).toEqual(new Set(['start', 'logs', 'completed']));
    expect(deliveries.flatMap((d) => d.attempts.map((a) => a.status)).every((status) => status === 204)).toBe(true);
    expect(previewsIn(discord, threadId).map((p) => p.step)).toEqual([250, 500, 750, 1000]);
    // The previews' pictures (a few prompts per checkpoint) are predictions: reported by webhook
    // too, and not polled.
    const previews = [...replicate.predictions.values()].filter((p) => typeof p.input.prompt === 'string');
    expect(previews.length).toBeGreaterThanOrEqual(4);
    for (const preview of previews) expect(preview.webhook).toBe(`${webhookUrl}?kind=prediction`);
    expect(replicate.requests.filter((r) => r.operationId === 'predictions.get' && previews.some((p) => r.path === `/predictions/${p.id}`))).toEqual([]);
  });

  it('ignores a duplicated delivery (same webhook-id) with a 200', async () => {
    const completed = deliveries.filter((d) => d.event === 'completed');
    const logsBefore = bot.logs().length;
    for (const delivery of completed) expect(await replicate.redeliverWebhook(delivery.id)).toBe(200);
    const duplicates = bot.logs().slice(logsBefore).filter((l) => l.msg === 'duplicate webhook ignored');
    expect(duplicates.map((l) => l.webhookId).sort()).toEqual(completed.map((d) => d.id).sort());
    expect(previewsIn(discord, threadId)).toHaveLength(4);
  });

  it('refuses a bad signature and a stale timestamp with 401, before looking at the body', async () => {
    const delivery = deliveries.find((d) => d.event === 'completed')!;
    const logsBefore = bot.logs().length;
    expect(await replicate.redeliverWebhook(delivery.id, { badSignature: true })).toBe(401);
    expect(await replicate.redeliverWebhook(delivery.id, { timestampOffsetSeconds: -600 })).toBe(401);
    expect(await replicate.redeliverWebhook(delivery.id, { timestampOffsetSeconds: 600 })).toBe(401);
    const refusals = bot.logs().slice(logsBefore).filter((l) => l.msg === 'webhook refused').map((l) => l.reason);
    expect(refusals).toEqual(['bad-signature', 'stale', 'stale']);
  });

  it('checks the raw body: the same JSON with other spacing, or a forged checkpoint, changes nothing', async () => {
    const delivery = deliveries.find((d) => d.event === 'completed')!;
    const timestamp = Math.floor(Date.now() / 1000);
    const post = (body: string, id: string, signedBody = body) =>
      fetch(webhookUrl + `?guild=${guildId()}&training=${trainingId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(replicate.webhookSecret, id, timestamp, signedBody) },
        body,
      });
    const respaced = JSON.stringify(JSON.parse(delivery.body), null, 2);
    expect((await post(respaced, 'msg_respaced', delivery.body)).status).toBe(401);

    const forged = JSON.parse(delivery.body) as Record<string, unknown>;
    forged.output = { weights: 'https://evil.example/weights.tar', version: 'evil/model:1' };
    const unsigned = await fetch(webhookUrl + `?guild=${guildId()}&training=${trainingId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': 'msg_forged', 'webhook-timestamp': String(timestamp), 'webhook-signature': 'v1,' + Buffer.alloc(32).toString('base64') },
      body: JSON.stringify(forged),
    });
    expect(unsigned.status).toBe(401);
    const training = await ctx().store.get<TrainingRecord>(keys.training(guildId(), trainingId));
    expect(training?.checkpoints.some((c) => c.weightsUrl?.includes('evil'))).toBe(false);
  });
});
