import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';

describe('openStore', () => {
  it('rejects an unknown scheme with a message naming the supported ones', async () => {
    await expect(openStore('mongodb://localhost/kmplz', { dataDir: '.' })).rejects.toThrow(
      /STORE_URL: unknown scheme "mongodb:\/\/".*sqlite:\/\/.*redis:\/\/.*postgres:\/\//,
    );
    await expect(openStore('./data/kmplz.sqlite', { dataDir: '.' })).rejects.toThrow(/STORE_URL: not a URL/);
    await expect(openStore('redis://localhost:port', { dataDir: '.' })).rejects.toThrow(/^STORE_URL: .*Invalid URL/);
  });

  it('fails fast, without the password, when Redis does not answer', async () => {
    const started = Date.now();
    const error = await openStore('redis://:hunter2@127.0.0.1:1', { dataDir: '.' }).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/STORE_URL: cannot use the store at redis:\/\/127\.0\.0\.1:1/);
    expect((error as Error).message).not.toContain('hunter2');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('fails fast, without the password, when PostgreSQL does not answer', async () => {
    const error = await openStore('postgres://kmplz:hunter2@127.0.0.1:1/kmplz', { dataDir: '.' }).catch((e: unknown) => e as Error);
    expect((error as Error).message).toMatch(/STORE_URL: cannot use the store at postgres:\/\/127\.0\.0\.1:1\/kmplz/);
    expect((error as Error).message).not.toContain('hunter2');
  });
});
