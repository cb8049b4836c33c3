import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { configWarnings } from '../src/config-warnings.js';

describe('start-time warnings', () => {
  it.each<{ name: string; env: Record<string, string>; keys: string[] }>([
    { name: 'no PUBLIC_URL: polling, nothing to say', env: {}, keys: [] },
    { name: 'an https PUBLIC_URL', env: { PUBLIC_URL: 'https://kmplz.example.org', HTTP_PORT: '8080' }, keys: [] },
    { name: 'an http PUBLIC_URL', env: { PUBLIC_URL: 'http://kmplz.example.org', HTTP_PORT: '8080' }, keys: ['PUBLIC_URL'] },
    { name: 'an http PUBLIC_URL on a local address', env: { PUBLIC_URL: 'http://127.0.0.1:8080', HTTP_PORT: '8080' }, keys: ['PUBLIC_URL'] },
  ])('$name', ({ env, keys }) => {
    expect(configWarnings(parseConfig({ DISCORD_TOKEN: 't', ...env })).map((w) => w.key)).toEqual(keys);
  });

  it('names the key and its value, and says why and what to do', () => {
    const [warning] = configWarnings(parseConfig({ DISCORD_TOKEN: 't', PUBLIC_URL: 'http://kmplz.example.org', HTTP_PORT: '8080' }));
    expect(warning?.message).toMatch(/^PUBLIC_URL is http:\/\/kmplz\.example\.org, not https: Replicate requires an HTTPS webhook URL and follows no redirects/);
    expect(warning?.message).toMatch(/TLS proxy in front of HTTP_PORT \(8080\).*https:\/\//);
  });
});
