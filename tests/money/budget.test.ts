import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { UserError } from '../../src/errors.js';
import { estimateGenerationSeconds, formatUsd, monthOf, recordSpend, requireBudget, spentThisMonth } from '../../src/money/budget.js';
import { openMemoryStore } from '../../src/store/store.js';

const clockAt = (iso: string) => ({ now: () => Date.parse(iso) });

describe('budget', () => {
  it.each([
    ['2026-11-24T15:00:00Z', '2026-11'],
    ['2026-12-31T23:59:59Z', '2026-12'],
    ['2027-01-01T00:00:00Z', '2027-01'],
  ])('months are UTC calendar months: %s → %s', (iso, month) => {
    expect(monthOf(Date.parse(iso))).toBe(month);
  });

  it.each([
    [0.0123, '$0.012'],
    [1.5, '$1.50'],
    [12, '$12.00'],
  ])('formats %d as %s', (usd, text) => expect(formatUsd(usd)).toBe(text));

  it('adds up billed seconds per server and month at the configured price', async () => {
    const store = openMemoryStore();
    const config = parseConfig({ DISCORD_TOKEN: 't', GPU_PRICE_PER_SECOND: '0.002' });
    const november = clockAt('2026-11-24T15:00:00Z');
    await recordSpend(store, config, november, 'g1', 100, 'generation');
    await recordSpend(store, config, november, 'g1', 50, 'generation');
    await recordSpend(store, config, november, 'g2', 10, 'generation');
    await recordSpend(store, config, clockAt('2026-12-01T00:00:00Z'), 'g1', 7, 'generation');
    const g1 = await spentThisMonth(store, november, 'g1');
    expect(g1.gpuSeconds).toBe(150);
    expect(g1.usd).toBeCloseTo(0.3, 10);
    const g2 = await spentThisMonth(store, november, 'g2');
    expect(g2.gpuSeconds).toBe(10);
    expect(g2.usd).toBeCloseTo(0.02, 10);
    expect((await spentThisMonth(store, clockAt('2026-12-02T00:00:00Z'), 'g1')).gpuSeconds).toBe(7);
  });

  it('refuses work past BUDGET_USD with spent, cap and estimate; allows it up to the cap', async () => {
    const store = openMemoryStore();
    const config = parseConfig({ DISCORD_TOKEN: 't', GPU_PRICE_PER_SECOND: '0.01', BUDGET_USD: '1' });
    const clock = clockAt('2026-11-24T15:00:00Z');
    await recordSpend(store, config, clock, 'g1', 90, 'generation'); // $0.90
    await expect(requireBudget(store, config, clock, 'g1', 0.1)).resolves.toBeUndefined();
    const refusal = await requireBudget(store, config, clock, 'g1', 0.2).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(UserError);
    expect((refusal as UserError).code).toBe('over-budget');
    expect((refusal as UserError).message).toMatch(/spent \$0\.900 of \$1\.00.*about \$0\.200/);
    await expect(requireBudget(store, config, clock, 'other-guild', 0.5)).resolves.toBeUndefined();
  });

  it('has no cap when BUDGET_USD is unset', async () => {
    const store = openMemoryStore();
    const config = parseConfig({ DISCORD_TOKEN: 't' });
    await expect(requireBudget(store, config, clockAt('2026-11-24T00:00:00Z'), 'g1', 1e6)).resolves.toBeUndefined();
  });

  it('estimates more for more steps and more pixels', () => {
    expect(estimateGenerationSeconds(50, 1024, 1024)).toBeGreaterThan(estimateGenerationSeconds(20, 1024, 1024));
    expect(estimateGenerationSeconds(30, 1536, 1536)).toBeGreaterThan(estimateGenerationSeconds(30, 1024, 1024));
  });
});
