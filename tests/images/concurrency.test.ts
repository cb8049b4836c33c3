import { describe, expect, it } from 'vitest';
import { mapConcurrent } from '../../src/images/concurrency.js';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('mapConcurrent', () => {
  it('keeps at most `concurrency` calls in flight and returns results in source order', async () => {
    let active = 0;
    let peak = 0;
    const results = await mapConcurrent([30, 5, 20, 1, 10, 2], 2, async (ms, index) => {
      active++;
      peak = Math.max(peak, active);
      await tick(ms);
      active--;
      return index * 10;
    });
    expect(peak).toBe(2);
    expect(results).toEqual([0, 10, 20, 30, 40, 50]);
  });

  it('pulls an async source lazily: never more items out than calls in flight', async () => {
    let pulled = 0;
    let finished = 0;
    let maxAhead = 0;
    async function* source() {
      for (let i = 0; i < 8; i++) {
        pulled++;
        maxAhead = Math.max(maxAhead, pulled - finished);
        yield i;
      }
    }
    await mapConcurrent(source(), 3, async () => {
      await tick(2);
      finished++;
    });
    expect(pulled).toBe(8);
    expect(maxAhead).toBeLessThanOrEqual(3);
  });

  it('stops pulling after a failure, rethrows it, and closes the source', async () => {
    let closed = false;
    let pulled = 0;
    async function* source() {
      try {
        for (let i = 0; i < 100; i++) {
          pulled++;
          yield i;
        }
      } finally {
        closed = true;
      }
    }
    await expect(
      mapConcurrent(source(), 2, async (i) => {
        await tick(1);
        if (i === 3) throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(closed).toBe(true);
    expect(pulled).toBeLessThan(10);
  });

  it('rethrows an error of the source itself', async () => {
    async function* source() {
      yield 1;
      throw new Error('archive damaged');
    }
    await expect(mapConcurrent(source(), 2, async (x) => x)).rejects.toThrow('archive damaged');
  });

  it('refuses a concurrency below 1', async () => {
    await expect(mapConcurrent([1], 0, async (x) => x)).rejects.toThrow(RangeError);
  });
});
