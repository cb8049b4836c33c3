import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DiscordEmulator, StoredMessage } from '../emulators/discord/index.js';
import type { ReplicateEmulator } from '../emulators/replicate/index.js';
import { drawing } from '../support/fixtures.js';
import { startWorld, type World } from '../support/world.js';

let discord: DiscordEmulator;
let replicate: ReplicateEmulator;
let world: World;

beforeAll(async () => {
  world = await startWorld({ checkpointSteps: [250], dataset: [{ name: 'ref', colour: '#606060', caption: 'KMPLZ, a drawing of a house' }] });
  ({ discord, replicate } = world);
});
afterAll(() => world?.stop());
afterEach(() => world.expectCleanRequests());

const done = (m: StoredMessage) => m.attachments.length > 0;

describe('faults on the way', () => {
  it('Discord answers 429 to the result edit: the bot waits retry_after and the result lands once', async () => {
    const slash = await discord.slash({ name: 'kmplz', options: { prompt: 'a house in the rain', steps: 2 } });
    await slash.ack();
    discord.inject429((r) => r.method === 'PATCH' && r.path.includes(slash.token) && r.files.length > 0, { retryAfter: 0.3 }, 1);
    const reply = await slash.waitForOriginal(done, 15_000);
    expect(reply.attachments).toHaveLength(2);
    const edits = discord.requests.filter((r) => r.method === 'PATCH' && r.path.includes(slash.token) && r.files.length > 0);
    expect(edits.map((r) => r.status)).toEqual([429, 200]);
    // The operator sees the wait: each 429 also counts towards Discord's invalid-request limit.
    const waits = world.bot.eventsOf('discord.rate-limited');
    expect(waits).toHaveLength(1);
    // The Retry-After header, whole seconds rounded up (the body's retry_after has the fraction).
    expect(waits[0]).toMatchObject({ method: 'PATCH', retryAfterS: 1 });
  });

  it('the gateway drops mid-job: the bot resumes, the job is answered and new commands work', async () => {
    replicate.oncePrediction(replicate.refs.sdxl, async (_input, ctl) => {
      await ctl.sleep(300);
      return [ctl.serve('late.png', await drawing(1024, 1024, '#336699'), 'image/png')];
    });
    const slash = await discord.slash({ name: 'kmplz', options: { prompt: 'a house at night', steps: 2 } });
    await slash.ack();
    discord.dropConnection();
    expect((await slash.waitForOriginal(done, 15_000)).attachments).toHaveLength(2);
    const next = await discord.slash({ name: 'checkpoints' });
    expect((await next.waitForOriginal(undefined, 10_000)).embeds[0]?.title).toBe('Checkpoints of the last training');
    expect(discord.gatewayFrames.some((f) => f.op === 6)).toBe(true);
  });

  it('Replicate fails polls with 5xx for a while: the job still finishes, with one prediction', async () => {
    const before = replicate.predictions.size;
    replicate.inject('predictions.get', { status: 503 }, 8);
    const reply = await (await discord.slash({ name: 'kmplz', options: { prompt: 'a house by the sea', steps: 2 } })).waitForOriginal(done, 20_000);
    expect(reply.attachments).toHaveLength(2);
    expect(replicate.predictions.size).toBe(before + 1);
  });

  it('Replicate throttles polls (429) for a while: the job still finishes, with one prediction', async () => {
    const before = replicate.predictions.size;
    replicate.inject('predictions.get', { status: 429, body: { detail: 'Request was throttled.' } }, 8);
    const reply = await (await discord.slash({ name: 'kmplz', options: { prompt: 'a house in the fog', steps: 2 } })).waitForOriginal(done, 20_000);
    expect(reply.attachments).toHaveLength(2);
    expect(replicate.predictions.size).toBe(before + 1);
    expect(replicate.requests.filter((r) => r.operationId === 'predictions.get' && r.status === 429).length).toBeGreaterThanOrEqual(8);
  });

  it('Replicate fails the create with a 5xx: the asker is told plainly, and it is not sent again (it may have been made)', async () => {
    const before = replicate.predictions.size;
    const createsBefore = replicate.requests.filter((r) => r.operationId === 'predictions.create').length;
    replicate.inject('predictions.create', { status: 503, body: { detail: 'Service Unavailable' } }, 1);
    const slash = await discord.slash({ name: 'kmplz', options: { prompt: 'a house on a hill', steps: 2 } });
    const reply = await slash.waitForOriginal((m) => /GPU service is having trouble/.test(m.content), 20_000);
    // The whole reply is the failure: no picture, no progress bar, no Cancel button left over.
    const failureText = 'The GPU service is having trouble right now. Try again in a few minutes.';
    expect(reply.content).toBe(failureText);
    expect(reply.attachments).toHaveLength(0);
    expect(reply.embeds).toEqual([]);
    expect(reply.api.components ?? []).toEqual([]);
    expect(replicate.requests.filter((r) => r.operationId === 'predictions.create').length).toBe(createsBefore + 1);
    expect(replicate.predictions.size).toBe(before);
    // The next request is served as usual.
    const next = await (await discord.slash({ name: 'kmplz', options: { prompt: 'a house on a hill', steps: 2 } })).waitForOriginal(done, 20_000);
    expect(next.attachments).toHaveLength(2);
    // By then no late progress edit has put the first reply back on "Drawing…".
    expect(slash.original()?.content).toBe(failureText);
    expect(slash.original()?.api.components ?? []).toEqual([]);
  });

  it('after all these faults, no token is in any log line or in anything the bot sent', () => {
    // Every interaction token the bot used, read from the paths of its requests (where they belong).
    const interactionTokens = new Set(discord.requests.flatMap((r) => [...r.path.matchAll(/\/(?:webhooks|interactions)\/\d+\/([A-Za-z0-9_.-]{20,})/g)].map((m) => m[1]!)));
    expect(interactionTokens.size).toBeGreaterThan(5);
    const secrets = [discord.token, replicate.token, ...interactionTokens];
    const logs = world.bot.logLines.join('\n');
    const sent = JSON.stringify([discord.requests.map((r) => r.body), replicate.requests.map((r) => r.body)]);
    for (const secret of secrets) {
      expect(logs.includes(secret), `a log line holds ${secret.slice(0, 6)}…`).toBe(false);
      expect(sent.includes(secret), `a request body holds ${secret.slice(0, 6)}…`).toBe(false);
    }
  });
});
