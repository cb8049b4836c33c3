import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});
