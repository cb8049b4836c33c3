import type { Config } from '../config.js';
import { usdPerSecond } from '../money/prices.js';
import type { Trainer } from '../services/types.js';
import type { TrainingItem } from './dataset-export.js';
import { estimateTraining, type TrainingEstimate, type TrainingPrices } from './plan.js';
import { PREVIEW_SETTINGS, choosePreviewSamples } from './preview.js';

/** The estimate shown before Start and checked against the budget: every run, and a preview sheet per checkpoint. */
export function estimateFor(trainer: Trainer, config: Config, items: readonly TrainingItem[], steps: number, every: number): TrainingEstimate {
  return estimateTraining(trainer.plan(steps, every), {
    images: items.length,
    samples: choosePreviewSamples(items, config.TRIGGER_WORD, 0).length,
    prices: trainingPrices(config),
    preview: PREVIEW_SETTINGS,
    strategy: trainer.strategy,
  });
}

/** A training's runs bill at the trainer's price, its previews at the generator's. */
export function trainingPrices(config: Config): TrainingPrices {
  return { training: usdPerSecond(config, 'training'), preview: usdPerSecond(config, 'generation') };
}
