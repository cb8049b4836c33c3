import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { UserError } from '../errors.js';
import { msg } from '../i18n/index.js';
import type { Store } from '../store/store.js';
import { usdPerSecond, type PaidWork } from './prices.js';
import { keys } from '../store/keys.js';

/**
 * GPU money per server and month. Every paid call's billed time (`metrics.predict_time`) is
 * recorded here; `BUDGET_USD` is checked against it before any paid work starts.
 */

export interface MonthlySpend {
  gpuSeconds: number;
  usd: number;
}

/** Months are UTC calendar months, so every process agrees on when the budget starts over. */
export function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

export function formatUsd(usd: number): string {
  return `$${usd < 1 ? usd.toFixed(3) : usd.toFixed(2)}`;
}

/** Adds billed GPU time of one kind of work, priced at its model's rate. */
export async function recordSpend(store: Store, config: Config, clock: Clock, guildId: string, gpuSeconds: number, work: PaidWork): Promise<MonthlySpend | undefined> {
  if (!(gpuSeconds > 0)) return store.get<MonthlySpend>(keys.spend(guildId, monthOf(clock.now())));
  return store.update<MonthlySpend>(keys.spend(guildId, monthOf(clock.now())), (current) => ({
    gpuSeconds: (current?.gpuSeconds ?? 0) + gpuSeconds,
    usd: (current?.usd ?? 0) + gpuSeconds * usdPerSecond(config, work),
  }));
}

export async function spentThisMonth(store: Store, clock: Clock, guildId: string): Promise<MonthlySpend> {
  return (await store.get<MonthlySpend>(keys.spend(guildId, monthOf(clock.now())))) ?? { gpuSeconds: 0, usd: 0 };
}

/** Refuses work whose estimate would take the server past `BUDGET_USD`, showing spent, cap and estimate. */
export async function requireBudget(store: Store, config: Config, clock: Clock, guildId: string, estimateUsd: number): Promise<void> {
  // On the class's own GPU nothing is billed, so there is no budget to keep.
  if (config.BUDGET_USD === undefined || config.GPU_BACKEND === 'cog') return;
  const spent = await spentThisMonth(store, clock, guildId);
  if (spent.usd + estimateUsd <= config.BUDGET_USD) return;
  throw new UserError(
    'over-budget',
    msg('error.over-budget', { month: monthOf(clock.now()), spent: formatUsd(spent.usd), budget: formatUsd(config.BUDGET_USD), estimate: formatUsd(estimateUsd) }),
  );
}

/**
 * A rough figure for one SDXL picture, for the budget check only (the real cost comes from the
 * service's metrics afterwards): a couple of seconds of overhead plus time per step, which grows
 * with the pixel count.
 */
export function estimateGenerationSeconds(steps: number, width: number, height: number): number {
  return 2 + steps * 0.12 * ((width * height) / (1024 * 1024));
}
