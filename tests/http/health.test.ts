import { Status, type Client } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthRoute } from '../../src/http/health.js';
import type { JobQueue } from '../../src/queue/job-queue.js';
import type { Store } from '../../src/store/store.js';
import { startDiscordEmulator, type DiscordEmulator } from '../emulators/discord/index.js';
import { startTestBot, type TestBot } from '../support/bot.js';
import { freePort } from '../training/e2e-helpers.js';

let discord: DiscordEmulator;
let bot: TestBot;
let port: number;

beforeAll(async () => {
  discord = await startDiscordEmulator();
  port = await freePort();
  bot = await startTestBot({ discord }, { env: { HTTP_PORT: String(port) } });
});
afterAll(async () => {
  await bot?.stop();
  await discord?.close();
});

describe('GET /healthz', () => {
  it('answers 200 with the gateway, store and queue state while all is well', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', gateway: 'ready', store: 'ok', queue: { waiting: 0, running: 0, waitingUsers: 0 } });
  });

  it('answers 503 and names the part that failed when the store stops answering', async () => {
    await bot.app.context.store.close();
    const response = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ status: 'unhealthy', gateway: 'ready', store: 'not answering' });
  });

  /** The route alone, over a client whose shard states the test sets and a store and queue that answer. */
  const routeWith = (shards: Map<number, { status: Status }>, shared?: { ping(): Promise<boolean> }) =>
    healthRoute({
      client: { isReady: () => true, ws: { shards } } as unknown as Client,
      store: { ping: async () => true } as unknown as Store,
      queue: { stats: async () => ({ waiting: 0, running: 0, waitingUsers: 0 }) } as unknown as JobQueue<unknown, unknown>,
      shared,
      stopping: () => false,
    });

  it('answers 503 with the gateway "not connected" while a shard is away, though the client was ready once', async () => {
    const shards = new Map([[0, { status: Status.Ready }]]);
    const route = routeWith(shards);
    expect((await route.handle(undefined as never)).status).toBe(200);
    shards.set(0, { status: Status.Reconnecting });
    const away = await route.handle(undefined as never);
    expect(away.status).toBe(503);
    expect(away.body).toMatchObject({ status: 'unhealthy', gateway: 'not connected' });
  });

  it('answers 503 naming redis when the shared Redis stops answering', async () => {
    const answer = await routeWith(new Map([[0, { status: Status.Ready }]]), { ping: async () => false }).handle(undefined as never);
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ status: 'unhealthy', gateway: 'ready', store: 'ok', redis: 'not answering' });
  });
});
