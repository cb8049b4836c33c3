import { Status, type Client } from 'discord.js';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
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

  it('answers 503 with the gateway "not connected" while a dropped connection is away, and 200 again once it resumed', async () => {
    const resumesBefore = discord.gatewayFrames.filter((f) => f.op === 6).length;
    discord.dropConnection();
    // discord.js waits a moment before it reconnects: a scrape in that time sees the gateway away.
    await vi.waitFor(
      async () => {
        const response = await fetch(`http://127.0.0.1:${port}/healthz`);
        expect(response.status).toBe(503);
        expect(await response.json()).toMatchObject({ status: 'unhealthy', gateway: 'not connected', store: 'ok' });
      },
      { timeout: 5000, interval: 5 },
    );
    await vi.waitFor(() => expect(discord.gatewayFrames.filter((f) => f.op === 6).length).toBeGreaterThan(resumesBefore), { timeout: 10_000, interval: 20 });
    await vi.waitFor(
      async () => {
        const response = await fetch(`http://127.0.0.1:${port}/healthz`);
        expect(response.status).toBe(200);
        expect(await response.json()).toMatchObject({ status: 'ok', gateway: 'ready' });
      },
      { timeout: 10_000, interval: 50 },
    );
  });

  it('answers 503 and names the part that failed when the store stops answering', async () => {
    await bot.app.context.store.close();
    const response = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ status: 'unhealthy', gateway: 'ready', store: 'not answering' });
  });

  /** The route alone, over a client whose shard states the test sets and a store and queue that answer. */
  const routeWith = (
    shards: Map<number, { status: Status }>,
    shared?: { ping(): Promise<boolean> },
    { queue, stopping = false, ready = true }: { queue?: { stats(): Promise<unknown> }; stopping?: boolean; ready?: boolean } = {},
  ) =>
    healthRoute({
      client: { isReady: () => ready, ws: { shards } } as unknown as Client,
      store: { ping: async () => true } as unknown as Store,
      queue: (queue ?? { stats: async () => ({ waiting: 0, running: 0, waitingUsers: 0 }) }) as unknown as JobQueue<unknown, unknown>,
      shared,
      stopping: () => stopping,
    });
  const ready = () => new Map([[0, { status: Status.Ready }]]);
  const never = () => new Promise<never>(() => undefined);

  afterEach(() => {
    vi.useRealTimers();
  });

  it('answers 503 with the gateway "not connected" before the client was ever ready', async () => {
    const answer = await routeWith(new Map(), undefined, { ready: false }).handle(undefined as never);
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ status: 'unhealthy', gateway: 'not connected', store: 'ok' });
  });

  it('answers 503 when one shard of two is away', async () => {
    const answer = await routeWith(new Map([[0, { status: Status.Ready }], [1, { status: Status.Resuming }]])).handle(undefined as never);
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ status: 'unhealthy', gateway: 'not connected' });
  });

  it('answers 200 naming redis "ok" while the shared Redis answers', async () => {
    const answer = await routeWith(ready(), { ping: async () => true }).handle(undefined as never);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'ok', redis: 'ok' });
  });

  it.each([
    ['redis', 'the shared Redis', () => routeWith(ready(), { ping: never }), { redis: 'not answering' }],
    ['the queue', 'the queue (its Redis away)', () => routeWith(ready(), undefined, { queue: { stats: never } }), { queue: 'not answering' }],
  ] as const)('answers 503 naming %s, within the 2-second check, when %s never answers', async (_part, _what, route, expected) => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let answered = false;
    const pending = route()
      .handle(undefined as never)
      .finally(() => (answered = true));
    await vi.advanceTimersByTimeAsync(1900);
    expect(answered).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    expect(answered).toBe(true);
    const answer = await pending;
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ status: 'unhealthy', gateway: 'ready', store: 'ok', ...expected });
  });

  it('answers 503 "stopping" once shutdown began, though every part answers', async () => {
    const answer = await routeWith(ready(), { ping: async () => true }, { stopping: true }).handle(undefined as never);
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ status: 'stopping', gateway: 'ready', store: 'ok', redis: 'ok' });
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
