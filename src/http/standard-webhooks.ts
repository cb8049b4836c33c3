import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks verification (what Replicate signs with): HMAC-SHA256 over
 * `${webhook-id}.${webhook-timestamp}.${raw body}`, keyed with the base64 decoding of the secret
 * after `whsec_`, sent as a space-separated list of `v1,<base64>`. The raw bytes are hashed —
 * a body parsed and serialised again would not match. The replicate client's own check skips
 * the timestamp, so a captured delivery could be replayed forever: this one refuses timestamps
 * more than `toleranceSeconds` away from now.
 */

export interface WebhookHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

export type WebhookVerdict = { ok: true; id: string } | { ok: false; reason: 'missing-headers' | 'bad-signature' | 'stale' };

export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

export function verifyWebhook(headers: WebhookHeaders, rawBody: Buffer, secret: string, nowMs: number, toleranceSeconds = DEFAULT_TOLERANCE_SECONDS): WebhookVerdict {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature || !/^\d+$/.test(timestamp)) return { ok: false, reason: 'missing-headers' };
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(rawBody).digest();
  const matches = signature.split(' ').some((entry) => {
    const [version, encoded] = entry.split(',', 2);
    if (version !== 'v1' || !encoded) return false;
    const given = Buffer.from(encoded, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!matches) return { ok: false, reason: 'bad-signature' };
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > toleranceSeconds) return { ok: false, reason: 'stale' };
  return { ok: true, id };
}
