import { randomInt } from 'node:crypto';
import type { Config } from '../config.js';
import type { Trainer } from '../services/types.js';
import { blindLabels } from '../voting/blind.js';
import type { TrainingItem } from './dataset-export.js';
import { estimateFor } from './estimate.js';
import { choosePreviewSamples } from './preview.js';
import type { TrainingDraft, TrainingRecord } from './records.js';

/**
 * The record of a confirmed training as it is stored at Start: its runs planned and pending,
 * one seed for all of them, the preview prompts chosen once, the estimate shown before Start.
 */
export function newTrainingRecord(draft: TrainingDraft, items: readonly TrainingItem[], { trainer, config, now }: { trainer: Trainer; config: Config; now: number }): TrainingRecord {
  // Below 2^31: the trainer's seed is a 32-bit integer.
  const seed = randomInt(1, 2 ** 31 - 1);
  const plan = trainer.plan(draft.steps, draft.checkpointEvery);
  return {
    id: draft.id,
    guildId: draft.guildId,
    channelId: draft.channelId,
    startedBy: draft.startedBy,
    status: 'running',
    steps: draft.steps,
    checkpointEvery: draft.checkpointEvery,
    checkpoints: [],
    votes: {},
    createdAt: now,
    strategy: trainer.strategy,
    seed,
    imageCount: items.length,
    runs: plan.map((run) => ({ ...run, status: 'pending' })),
    ...(draft.blind ? { blind: blindLabels(plan.flatMap((run) => run.checkpointSteps)) } : {}),
    ...(draft.voteMinutes ? { voteMinutes: draft.voteMinutes } : {}),
    samples: choosePreviewSamples(items, config.TRIGGER_WORD, seed),
    estimate: estimateFor(trainer, config, items, draft.steps, draft.checkpointEvery),
    uploadLimit: draft.uploadLimit,
    previewGpuSeconds: 0,
    ...(draft.locale ? { locale: draft.locale } : {}),
  };
}
