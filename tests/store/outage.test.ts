import { describe, expect, it } from 'vitest';
import { memoryBackend, type Backend } from '../../src/store/backends.js';
import { KeyvStore } from '../../src/store/keyv-store.js';

/** A connection error as the Redis client raises it. */
function connectionError(code: 'ECONNREFUSED' | 'ECONNRESET'): Error {
  return Object.assign(new Error(`read ${code}`), { code });
}

/**
 * A memory backend whose next swaps fail the way a dropped connection makes them fail:
 * `refused` before reaching the server, `lost` after the server did the swap.
 */
function flakyBackend(failures: ('refused' | 'lost')[]): Backend & { swaps: number } {
  const inner = memoryBackend();
  const backend = {
    ...inner,
    swaps: 0,
    async compareAndSwap(...args: Parameters<Backend['compareAndSwap']>) {
      const failure = failures.shift();
      if (failure === 'refused') throw connectionError('ECONNREFUSED');
      backend.swaps += 1;
      const swapped = await inner.compareAndSwap(...args);
      if (failure === 'lost') throw connectionError('ECONNRESET');
      return swapped;
    },
  };
  return backend;
}

describe('a store whose connection drops mid-command', () => {
  it.each([
    { failures: ['refused', 'refused'] as const, swaps: 1 },
    // The swap happened and only its answer was lost: it must not run twice (the counter would read 2).
    { failures: ['lost'] as const, swaps: 1 },
    { failures: ['refused', 'lost'] as const, swaps: 1 },
  ])('update after $failures: applied exactly once ($swaps swap)', async ({ failures, swaps }) => {
    const backend = flakyBackend([...failures]);
    const store = new KeyvStore(backend, undefined, 5_000);
    expect(await store.update<number>('counter', (n = 0) => n + 1)).toBe(1);
    expect(await store.get('counter')).toBe(1);
    expect(backend.swaps).toBe(swaps);
  });

  it('setIfAbsent whose answer was lost still reports that it won', async () => {
    const store = new KeyvStore(flakyBackend(['lost']), undefined, 5_000);
    expect(await store.setIfAbsent('mark', { by: 'me' })).toBe(true);
    expect(await store.setIfAbsent('mark', { by: 'someone else' })).toBe(false);
  });

  it('gives up with the reason once the outage outlasts the wait', async () => {
    const store = new KeyvStore(flakyBackend(Array(100).fill('refused')), undefined, 200);
    await expect(store.update('k', () => 1)).rejects.toThrow(/store update "k" failed on memory.*ECONNREFUSED/);
  });
});
