import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DiscordEmulator } from '../emulators/discord/index.js';
import type { ReplicateEmulator, WebhookDelivery } from '../emulators/replicate/index.js';
import { startWorld, type World } from '../support/world.js';
import { freePort } from '../training/e2e-helpers.js';

let discord: DiscordEmulator;
let replicate: ReplicateEmulator;
let world: World;
let publicUrl: string;

beforeAll(async () => {
  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}`;
  world = await startWorld({
    checkpointSteps: [250],
    // 0.01 real seconds per emulated one: 20 steps of 2 s make a picture of about half a second,
    // long enough for several `logs` deliveries (Replicate sends at most one per 500 ms).
    replicate: { timeScale: 0.01, timing: { sdxlSecondsPerStep: 2, sdxlLoadWeightsSeconds: 0, sdxlOverheadSeconds: 1 } },
    env: { PUBLIC_URL: publicUrl, HTTP_PORT: String(port) },
    // The fast test poll pace (20 ms) would show at once if predictions were still polled.
    deps: { generation: { perUserCap: 5, progressEditIntervalMs: 20 } },
  });
  ({ discord, replicate } = world);
});
afterAll(() => world?.stop());
afterEach(() => world.expectCleanRequests());

const gets = (predictionId: string) => replicate.requests.filter((r) => r.operationId === 'predictions.get' && r.path === `/predictions/${predictionId}`);

describe('/kmplz with PUBLIC_URL', () => {
  let deliveries: WebhookDelivery[];

  it('creates the prediction with a webhook and follows it by its deliveries, never polling it', async () => {
    const slash = await discord.slash({ name: 'kmplz', options: { prompt: 'a heron at dusk', steps: 20 } });
    await slash.waitForOriginal((m) => m.attachments.length > 0, 30_000);
    await replicate.webhooksIdle();
    const prediction = [...replicate.predictions.values()].find((p) => p.input.prompt === 'KMPLZ, a heron at dusk')!;
    expect(prediction.webhook).toBe(`${publicUrl}/webhooks/replicate?kind=prediction`);
    expect(prediction.webhookEventsFilter).toEqual(['start', 'logs', 'completed']);
    deliveries = replicate.webhookDeliveries.filter((d) => d.jobId === prediction.id);
    expect(deliveries[0]?.event).toBe('start');
    expect(deliveries.at(-1)?.event).toBe('completed');
    expect(deliveries.filter((d) => d.event === 'logs').length).toBeGreaterThanOrEqual(2);
    expect(deliveries.flatMap((d) => d.attempts.map((a) => a.status)).every((status) => status === 204)).toBe(true);
    expect(gets(prediction.id)).toEqual([]);
    // The `logs` deliveries moved the progress bar in the reply.
    const edits = discord.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(`/${slash.token}/messages/@original`));
    expect(edits.some((r) => /\d+\/20/.test(String((r.body as { content?: unknown }).content)))).toBe(true);
  });

  it('takes each delivery once: a redelivery is a 200 that changes nothing; a bad signature or a stale one is a 401', async () => {
    const completed = deliveries.find((d) => d.event === 'completed')!;
    // The first test's job logs its end just after its answer shows: let it finish first.
    await discord.waitFor(() => (world.bot.eventsOf('generation.delivered').length > 0 ? true : undefined), 10_000);
    const duplicatesBefore = world.bot.eventsOf('webhook.duplicate').length;
    const refusedBefore = world.bot.eventsOf('webhook.refused').length;
    const discordBefore = discord.requests.length;
    expect(await replicate.redeliverWebhook(completed.id)).toBe(200);
    expect(await replicate.redeliverWebhook(completed.id, { badSignature: true })).toBe(401);
    expect(await replicate.redeliverWebhook(completed.id, { timestampOffsetSeconds: -600 })).toBe(401);
    expect(world.bot.eventsOf('webhook.duplicate').slice(duplicatesBefore).map((e) => e.webhookId)).toEqual([completed.id]);
    expect(world.bot.eventsOf('webhook.refused').slice(refusedBefore).map((e) => e.reason)).toEqual(['bad-signature', 'stale']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(discord.requests.slice(discordBefore)).toEqual([]);
  });

});

describe('/kmplz when the webhooks do not arrive', () => {
  let lost: World;

  beforeAll(async () => {
    // PUBLIC_URL names a port nobody listens on: every delivery fails, as behind a broken proxy.
    const [port, deadPort] = [await freePort(), await freePort()];
    lost = await startWorld({
      checkpointSteps: [250],
      env: { PUBLIC_URL: `http://127.0.0.1:${deadPort}`, HTTP_PORT: String(port) },
      deps: { predictionSafetyNetMs: 300 },
    });
  });
  afterAll(() => lost?.stop());

  it('still answers: the prediction is polled as a safety net, once per safety-net interval', async () => {
    const started = Date.now();
    const slash = await lost.discord.slash({ name: 'kmplz', options: { prompt: 'a lost heron', steps: 2 } });
    await slash.waitForOriginal((m) => m.attachments.length > 0, 30_000);
    const elapsedMs = Date.now() - started;
    const prediction = [...lost.replicate.predictions.values()].find((p) => p.input.prompt === 'KMPLZ, a lost heron')!;
    expect(prediction.webhook).toBeDefined();
    const polls = lost.replicate.requests.filter((r) => r.operationId === 'predictions.get' && r.path === `/predictions/${prediction.id}`);
    expect(polls.length).toBeGreaterThanOrEqual(1);
    expect(polls.length).toBeLessThanOrEqual(1 + Math.floor(elapsedMs / 300));
    lost.expectCleanRequests();
  });
});
