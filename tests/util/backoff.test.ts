import { describe, expect, it } from 'vitest';
import { backoffDelay, retryWithBackoff } from '../../src/util/backoff.js';

describe('backoffDelay', () => {
  it.each([
    // attempt, base, max, random → delay: the ceiling doubles per attempt up to max; the delay is half of it plus random × half
    { attempt: 0, baseMs: 1000, maxMs: 8000, random: 0, delay: 500 },
    { attempt: 0, baseMs: 1000, maxMs: 8000, random: 0.999999, delay: 1000 },
    { attempt: 1, baseMs: 1000, maxMs: 8000, random: 0.5, delay: 1500 },
    { attempt: 3, baseMs: 1000, maxMs: 8000, random: 0, delay: 4000 },
    { attempt: 4, baseMs: 1000, maxMs: 8000, random: 0, delay: 4000 },
    { attempt: 30, baseMs: 1000, maxMs: 8000, random: 0.999999, delay: 8000 },
  ])('attempt $attempt, base $baseMs, max $maxMs, random $random → $delay ms', ({ attempt, baseMs, maxMs, random, delay }) => {
    expect(backoffDelay(attempt, { baseMs, maxMs, random: () => random })).toBe(delay);
  });

  it('spreads the waits of one attempt over [ceiling/2, ceiling]', () => {
    const delays = Array.from({ length: 200 }, () => backoffDelay(2, { baseMs: 100, maxMs: 10_000 }));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(200);
    expect(Math.max(...delays)).toBeLessThanOrEqual(400);
    expect(new Set(delays).size).toBeGreaterThan(20);
  });
});

describe('retryWithBackoff', () => {
  it('retries what shouldRetry allows, waiting the backoff between tries, and gives up after `attempts`', async () => {
    const waits: number[] = [];
    let calls = 0;
    const failure = await retryWithBackoff(
      async () => {
        calls++;
        throw new Error('busy');
      },
      () => true,
      { baseMs: 1, maxMs: 4, attempts: 3, random: () => 0, onRetry: (_e, delay) => waits.push(delay) },
    ).catch((e: unknown) => e);
    expect((failure as Error).message).toBe('busy');
    expect(calls).toBe(3);
    expect(waits).toEqual([1, 1]);
  });

  it('does not retry what shouldRetry refuses, and returns the first success', async () => {
    let calls = 0;
    const refused = await retryWithBackoff(async () => {
      calls++;
      throw new Error('bad request');
    }, () => false, { baseMs: 1, maxMs: 1, attempts: 5 }).catch((e: unknown) => e);
    expect((refused as Error).message).toBe('bad request');
    expect(calls).toBe(1);
    expect(await retryWithBackoff(async (n) => (n < 2 ? Promise.reject(new Error('busy')) : 'done'), () => true, { baseMs: 1, maxMs: 1, attempts: 5 })).toBe('done');
  });
});
