import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPLICATE_WEBHOOK_PATH, replicateWebhookRoute } from '../../src/http/replicate-webhook.js';
import { HttpServer } from '../../src/http/server.js';
import { openMemoryStore, type Store } from '../../src/store/store.js';
import type { TrainingRef } from '../../src/training/records.js';
import { newWebhookSecret, signWebhook } from '../emulators/replicate/webhooks.js';
import { captureLogger } from '../support/log.js';
import { EventBus } from '../../src/events.js';

const secret = newWebhookSecret();
let store: Store;
let server: HttpServer;
let base: string;
let taken: { ref: TrainingRef; body: unknown }[];
let secretFails: boolean;
let hold: Promise<void>;

beforeEach(async () => {
  store = openMemoryStore();
  taken = [];
  secretFails = false;
  hold = Promise.resolve();
  const { log } = captureLogger();
  server = new HttpServer(
    [
      replicateWebhookRoute({
        store,
        clock: { now: () => Date.now() },
        log,
        events: new EventBus(),
        secret: async () => {
          if (secretFails) throw new Error('Replicate is down');
          return secret;
        },
        onTraining: async (ref, body) => {
          await hold;
          taken.push({ ref, body });
        },
      }),
    ],
    log,
  );
  base = `http://127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
});
afterEach(async () => {
  await server.close();
  await store.close();
});

function deliver(body: string, { id = 'msg_1', timestamp = Math.floor(Date.now() / 1000), key = secret, query = '?guild=123&training=abc' } = {}) {
  return fetch(`${base}${REPLICATE_WEBHOOK_PATH}${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(key, id, timestamp, body) },
    body,
  });
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
};

describe('POST /webhooks/replicate', () => {
  it('takes a signed delivery: 2xx, then the training hears it with its route', async () => {
    const response = await deliver('{"id":"t1","status":"processing"}');
    expect(response.status).toBe(204);
    await until(() => taken.length > 0);
    expect(taken).toEqual([{ ref: { guildId: '123', trainingId: 'abc' }, body: { id: 't1', status: 'processing' } }]);
  });

  it('answers at once, before the training is updated', async () => {
    let release!: () => void;
    hold = new Promise((resolve) => (release = resolve));
    const response = await deliver('{"id":"t1","status":"succeeded"}');
    expect(response.status).toBe(204);
    expect(taken).toHaveLength(0);
    release();
    await until(() => taken.length > 0);
    expect(taken).toHaveLength(1);
  });

  it('takes each webhook-id once: a redelivery gets a 200 and nothing else', async () => {
    expect((await deliver('{"id":"t1"}', { id: 'msg_dup' })).status).toBe(204);
    expect((await deliver('{"id":"t1"}', { id: 'msg_dup' })).status).toBe(200);
    await until(() => taken.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(taken).toHaveLength(1);
  });

  it('refuses bad signatures (401), stale timestamps (401) and missing headers (400), and takes nothing', async () => {
    expect((await deliver('{"id":"t1"}', { key: newWebhookSecret() })).status).toBe(401);
    expect((await deliver('{"id":"t1"}', { id: 'msg_old', timestamp: Math.floor(Date.now() / 1000) - 600 })).status).toBe(401);
    const bare = await fetch(`${base}${REPLICATE_WEBHOOK_PATH}`, { method: 'POST', body: '{}' });
    expect(bare.status).toBe(400);
    // A refused delivery leaves no mark: the genuine one with that id still counts.
    expect((await deliver('{"id":"t1"}', { id: 'msg_old' })).status).toBe(204);
    await until(() => taken.length > 0);
    expect(taken).toHaveLength(1);
  });

  it('answers 503 while the secret cannot be had, so Replicate tries again', async () => {
    secretFails = true;
    expect((await deliver('{"id":"t1"}')).status).toBe(503);
    secretFails = false;
    expect((await deliver('{"id":"t1"}')).status).toBe(204);
  });

  it('acknowledges, and ignores, a signed delivery about nothing the bot follows', async () => {
    expect((await deliver('{"id":"t1"}', { query: '' })).status).toBe(204);
    expect((await deliver('{"id":"t1"}', { id: 'msg_2', query: '?guild=../x&training=abc' })).status).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(taken).toHaveLength(0);
  });

  it('refuses a signed body that is not JSON', async () => {
    expect((await deliver('not json')).status).toBe(400);
  });
});

describe('HttpServer', () => {
  it('answers 404 for unknown paths and 405 for a known path with another method', async () => {
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}${REPLICATE_WEBHOOK_PATH}`)).status).toBe(405);
  });

  it('refuses bodies over the route’s limit with 413 before reading them', async () => {
    const huge = 'x'.repeat(33 * 1024 * 1024);
    expect((await fetch(`${base}${REPLICATE_WEBHOOK_PATH}`, { method: 'POST', body: huge })).status).toBe(413);
  });
});
