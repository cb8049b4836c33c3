import { describe, expect, it } from 'vitest';
import { Coalescer } from '../../src/voting/coalesce.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Coalescer', () => {
  it('turns a burst into one run now and one after the interval, the last request landing', async () => {
    const runs: number[] = [];
    const coalescer = new Coalescer(50, (error) => {
      throw error;
    });
    for (let i = 1; i <= 20; i++) coalescer.request('m', async () => void runs.push(i));
    await sleep(120);
    expect(runs).toEqual([1, 20]);
    coalescer.close();
  });

  it('never overlaps two runs of one key, and keeps keys apart', async () => {
    let inFlight = 0;
    let most = 0;
    const seen: string[] = [];
    const coalescer = new Coalescer(0, () => {});
    const slow = (name: string) => async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await sleep(20);
      seen.push(name);
      inFlight--;
    };
    coalescer.request('a', slow('a1'));
    coalescer.request('a', slow('a2'));
    coalescer.request('b', slow('b1'));
    await sleep(80);
    expect(seen.sort()).toEqual(['a1', 'a2', 'b1']);
    expect(most).toBe(2);
    coalescer.close();
  });

  it('reports a failed run and still runs the next request', async () => {
    const errors: string[] = [];
    const coalescer = new Coalescer(10, (error, key) => errors.push(`${key}: ${(error as Error).message}`));
    let ran = false;
    coalescer.request('m', async () => {
      throw new Error('discord said no');
    });
    coalescer.request('m', async () => void (ran = true));
    await sleep(50);
    expect(errors).toEqual(['m: discord said no']);
    expect(ran).toBe(true);
    coalescer.close();
  });
});
