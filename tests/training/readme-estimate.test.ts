import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { formatUsd } from '../../src/money/budget.js';
import { HARDWARE_PRICES, MODEL_HARDWARE } from '../../src/money/prices.js';
import type { Trainer } from '../../src/services/types.js';
import type { TrainingItem } from '../../src/training/dataset-export.js';
import { ladderPlan, wholeEpochSteps } from '../../src/training/plan.js';
import { formatDuration } from '../../src/views/training-status.js';
import { estimateFor, trainingPrices } from '../../src/training/estimate.js';

/**
 * README's cost section states what the class's own training costs (64 drawings, 1000 steps, a
 * checkpoint every 250, the default models): the figures `/train` shows must be those, so
 * neither can drift from the other.
 */

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const costs = readme.slice(readme.indexOf('- **Costs.**'), readme.indexOf('- **Replicate.**'));

const ladder = { strategy: 'ladder', plan: ladderPlan } as unknown as Trainer;
const items: TrainingItem[] = Array.from({ length: 64 }, (_, i) => ({
  image: { name: `drawing-${i}`, caption: 'KMPLZ, a drawing of a girl' } as TrainingItem['image'],
  caption: 'KMPLZ, a drawing of a girl',
}));

describe("README's cost section", () => {
  it("shows /train's estimate for 64 drawings, 1000 steps and 4 checkpoints", () => {
    const config = parseConfig({ DISCORD_TOKEN: 't' });
    const estimate = estimateFor(ladder, config, items, 1000, 250);
    const prices = trainingPrices(config);
    expect(costs).toContain(`**${formatDuration(estimate.gpuSeconds)} of GPU ≈ ${formatUsd(estimate.usd)}**`);
    expect(costs).toContain(`(${formatUsd(estimate.trainingGpuSeconds * prices.training)} training, ${formatUsd(estimate.previewGpuSeconds * prices.preview)} previews)`);
    expect(costs).toContain(`after about ${formatDuration(estimate.wallSeconds)}`);
    const trained = ladderPlan(1000, 250).map((run) => wholeEpochSteps(run.steps, 64));
    expect(costs).toContain(`${trained.slice(0, 3).join(', ')} and ${trained[3]}`);
    expect(costs).toContain(`${trained.reduce((a, b) => a + b, 0)} in all`);
  });

  it('lists each default model with its hardware and price from the table in code', () => {
    for (const [model, { hardware }] of Object.entries(MODEL_HARDWARE)) {
      const row = costs.split('\n').find((line) => line.includes(`\`${model}\``));
      expect(row, model).toBeDefined();
      expect(row).toContain(String(HARDWARE_PRICES[hardware]));
    }
  });
});
