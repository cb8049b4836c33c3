import { DiscordAPIError } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { explainStartFailure } from '../src/startup-failure.js';

const config = { DISCORD_API_URL: 'https://discord.com/api', HTTP_PORT: 8080 };
const withCode = (message: string, fields: Record<string, unknown>) => Object.assign(new Error(message), fields);
const unauthorized = new DiscordAPIError({ message: '401: Unauthorized', code: 0 }, 0, 401, 'GET', 'https://discord.com/api/v10/gateway/bot', { body: undefined, files: undefined });

describe('explainStartFailure', () => {
  it.each([
    ['a token discord.js refuses', withCode('An invalid token was provided.', { code: 'TokenInvalid' }), /^Discord refused DISCORD_TOKEN\. Copy the bot token again/],
    ['a token Discord answers 401 to', unauthorized, /^Discord refused DISCORD_TOKEN/],
    ['a busy port', withCode('listen EADDRINUSE: address already in use 0.0.0.0:8080', { code: 'EADDRINUSE' }), /^HTTP_PORT 8080 is already in use by another program/],
    ['a store that is down', new Error('STORE_URL: cannot use the store at postgres://db:5432/kmplz: connect ECONNREFUSED'), /^STORE_URL: cannot use the store at postgres:\/\/db:5432\/kmplz: connect ECONNREFUSED\. Check that key in \.env/],
    ['a Redis that is down', new Error('REDIS_URL: cannot connect to Redis at redis:6379: connect ECONNREFUSED'), /^REDIS_URL: cannot connect to Redis at redis:6379.*Check that key in \.env/],
    ['Discord unreachable by address', withCode('connect ECONNREFUSED 10.0.0.1:443', { code: 'ECONNREFUSED', address: '10.0.0.1', port: 443 }), /^Cannot reach 10\.0\.0\.1:443 \(ECONNREFUSED\)\. .*DISCORD_API_URL \(now https:\/\/discord\.com\/api\)/],
    ['Discord unreachable by name', withCode('getaddrinfo ENOTFOUND discord.com', { code: 'ENOTFOUND', hostname: 'discord.com' }), /^Cannot reach discord\.com \(ENOTFOUND\)/],
    ['anything else', new TypeError('x is not a function'), /^x is not a function \(an unexpected error; the log line above has the details\)\.$/],
    ['a thrown string', 'boom', /^boom \(an unexpected error/],
  ])('%s', (_name, error, expected) => {
    expect(explainStartFailure(error, config)).toMatch(expected);
  });
});
