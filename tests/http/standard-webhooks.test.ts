import { describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../src/http/standard-webhooks.js';
import { newWebhookSecret, signWebhook } from '../emulators/replicate/webhooks.js';

const secret = newWebhookSecret();
const now = 1_700_000_000_000;
const timestamp = Math.floor(now / 1000);
const body = '{"id":"abc","status":"succeeded"}';
const headers = (overrides: Partial<{ id: string; timestamp: string; signature: string }> = {}) => ({
  id: 'msg_1',
  timestamp: String(timestamp),
  signature: signWebhook(secret, 'msg_1', timestamp, body),
  ...overrides,
});

describe('verifyWebhook (Standard Webhooks)', () => {
  it('accepts a delivery signed with the secret over id, timestamp and the raw body', () => {
    expect(verifyWebhook(headers(), Buffer.from(body), secret, now)).toEqual({ ok: true, id: 'msg_1' });
  });

  it('accepts when any one signature of a rotated list matches', () => {
    const list = `v1,${Buffer.alloc(32).toString('base64')} ${signWebhook(secret, 'msg_1', timestamp, body)}`;
    expect(verifyWebhook(headers({ signature: list }), Buffer.from(body), secret, now).ok).toBe(true);
  });

  it.each([
    ['another secret', headers({ signature: signWebhook(newWebhookSecret(), 'msg_1', timestamp, body) })],
    ['another id', headers({ id: 'msg_2' })],
    ['another timestamp', headers({ timestamp: String(timestamp - 1) })],
    ['an unknown scheme', headers({ signature: signWebhook(secret, 'msg_1', timestamp, body).replace('v1,', 'v2,') })],
    ['a truncated signature', headers({ signature: signWebhook(secret, 'msg_1', timestamp, body).slice(0, 20) })],
  ])('refuses a signature made with %s', (_what, given) => {
    expect(verifyWebhook(given, Buffer.from(body), secret, now)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('hashes the bytes as received: the same JSON spaced otherwise does not verify', () => {
    const respaced = JSON.stringify(JSON.parse(body), null, 1);
    expect(verifyWebhook(headers(), Buffer.from(respaced), secret, now)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses timestamps more than five minutes away, in the past or the future, even well signed', () => {
    const at = (seconds: number) => headers({ timestamp: String(seconds), signature: signWebhook(secret, 'msg_1', seconds, body) });
    expect(verifyWebhook(at(timestamp - 301), Buffer.from(body), secret, now)).toEqual({ ok: false, reason: 'stale' });
    expect(verifyWebhook(at(timestamp + 301), Buffer.from(body), secret, now)).toEqual({ ok: false, reason: 'stale' });
    expect(verifyWebhook(at(timestamp - 299), Buffer.from(body), secret, now).ok).toBe(true);
  });

  it('refuses missing or malformed headers', () => {
    expect(verifyWebhook(headers({ id: '' }), Buffer.from(body), secret, now)).toEqual({ ok: false, reason: 'missing-headers' });
    expect(verifyWebhook({ ...headers(), signature: undefined }, Buffer.from(body), secret, now)).toEqual({ ok: false, reason: 'missing-headers' });
    expect(verifyWebhook(headers({ timestamp: '12.5' }), Buffer.from(body), secret, now)).toEqual({ ok: false, reason: 'missing-headers' });
  });
});
