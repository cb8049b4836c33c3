import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { recordSpend, spentThisMonth } from '../../src/money/budget.js';
import { HARDWARE_PRICES, priceOf, type PaidWork } from '../../src/money/prices.js';
import { openMemoryStore } from '../../src/store/store.js';

const base = { DISCORD_TOKEN: 't' };

describe('prices per model', () => {
  it.each<{ name: string; env: Record<string, string>; work: PaidWork; usd: number; hardware?: string }>([
    { name: 'the default generator (cog-sdxl) on an L40S', env: {}, work: 'generation', usd: 0.000975, hardware: 'Nvidia L40S' },
    { name: 'the default trainer (cog-sdxl) on an L40S', env: {}, work: 'training', usd: 0.000975, hardware: 'Nvidia L40S' },
    { name: 'another version of stability-ai/sdxl, same hardware', env: { REPLICATE_TRAINER: 'stability-ai/sdxl:0123456789abcdef0123' }, work: 'training', usd: 0.000975, hardware: 'Nvidia L40S' },
    { name: 'BLIP (hardware unconfirmed): the dearest documented rate', env: {}, work: 'captioning', usd: 0.001525, hardware: 'Nvidia H100' },
    { name: 'a model not in the table: the dearest documented rate', env: { REPLICATE_GENERATOR: 'someone/own-sdxl' }, work: 'generation', usd: 0.001525, hardware: 'Nvidia H100' },
    { name: 'GPU_PRICE_PER_SECOND overrides a known model', env: { GPU_PRICE_PER_SECOND: '0.002' }, work: 'generation', usd: 0.002 },
    { name: 'GPU_PRICE_PER_SECOND overrides BLIP too', env: { GPU_PRICE_PER_SECOND: '0.002' }, work: 'captioning', usd: 0.002 },
  ])('$name', ({ env, work, usd, hardware }) => {
    const price = priceOf(parseConfig({ ...base, ...env }), work);
    expect(price.usdPerSecond).toBe(usd);
    expect(price.hardware).toBe(hardware);
  });

  it('uses only prices from the documented table', () => {
    expect(Object.values(HARDWARE_PRICES)).toEqual([0.000975, 0.001525, 0.0014, 0.000225]);
  });

  it('records each kind of work at its own model’s price in the month’s spend', async () => {
    const store = openMemoryStore();
    const config = parseConfig(base);
    const clock = { now: () => Date.parse('2026-12-05T12:00:00Z') };
    await recordSpend(store, config, clock, 'g', 1000, 'training');
    await recordSpend(store, config, clock, 'g', 100, 'captioning');
    const spent = await spentThisMonth(store, clock, 'g');
    expect(spent.gpuSeconds).toBe(1100);
    expect(spent.usd).toBeCloseTo(1000 * 0.000975 + 100 * 0.001525, 10);
  });
});
