import { describe, expect, it } from 'vitest';
import { scrubSecrets } from '../src/log.js';
import { captureLogger } from './support/log.js';

const botToken = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789';
const interactionToken = 'aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OmFiY2RlZmdoaWprbG1ub3A';
const replicateToken = 'r8_0123456789abcdefghijABCDEFGHIJ';

describe('log redaction', () => {
  it.each([
    ['a token field', { token: interactionToken }],
    ['a nested token field', { interaction: { token: interactionToken } }],
    ['an Authorization header', { request: { headers: { authorization: `Bot ${botToken}` } } }],
    ['a configured token in a message', { note: `login with ${botToken} failed` }],
    ['an interaction webhook URL', { url: `https://discord.com/api/v10/webhooks/123456789012345678/${interactionToken}/messages/@original` }],
    ['an interaction callback URL', { url: `/api/v10/interactions/123456789012345678/${interactionToken}/callback` }],
    ['a Replicate token anywhere', { detail: `auth ${replicateToken}` }],
    ['a Bearer header inside an error message', { err: new Error(`request failed with header Bearer ${replicateToken}`) }],
  ])('hides %s', (_label, fields) => {
    const { log, lines } = captureLogger([botToken]);
    log.info(fields, 'something happened');
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line).not.toContain(botToken);
    expect(line).not.toContain(interactionToken);
    expect(line).not.toContain(replicateToken.slice(3));
    expect(line).toContain('[redacted]');
    expect(JSON.parse(line).msg).toBe('something happened');
  });

  it('keeps child bindings and ordinary fields readable', () => {
    const { log, lines } = captureLogger([botToken]);
    log.child({ interactionId: '123456789012345678', command: 'kmplz' }).info({ steps: 30 }, 'queued');
    expect(JSON.parse(lines[0]!)).toMatchObject({ interactionId: '123456789012345678', command: 'kmplz', steps: 30, msg: 'queued' });
  });

  it('scrubs strings the same way for user-facing text', () => {
    expect(scrubSecrets(`hf_abcdefghijklmnop and whsec_c2VjcmV0c2VjcmV0`)).toBe('hf_[redacted] and whsec_[redacted]');
  });

  it.each([
    ['a bare Discord bot token', 'token MTA5ODc2NTQzMjEwOTg3NjU0Mw.GhIjKl.abcdefghijklmnopqrstuvwxyz0123 leaked', 'token [redacted] leaked'],
    ['a newer token starting with O', 'x=OTk4NzY1NDMyMTA5ODc2NTQzMjE.Xy-_12.ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef!', 'x=[redacted]!'],
    ['ids and dotted versions stay', 'job i1578518535112626176 v1.2.3 MTA5ODc2NTQz.abc', 'job i1578518535112626176 v1.2.3 MTA5ODc2NTQz.abc'],
  ])('scrubs %s wherever it appears', (_name, text, expected) => {
    expect(scrubSecrets(text)).toBe(expected);
  });
});
