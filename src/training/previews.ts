import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { UserError } from '../errors.js';
import type { Logger } from '../log.js';
import { estimateGenerationSeconds, recordSpend, requireBudget } from '../money/budget.js';
import { usdPerSecond } from '../money/prices.js';
import type { Generator } from '../services/types.js';
import type { Store } from '../store/store.js';
import { isHidden } from '../voting/blind.js';
import { PREVIEW_SETTINGS, loadSavedPreview, makePreviewSheet, savePreview } from './preview.js';
import type { CheckpointRecord, TrainingRecord, TrainingRef } from './records.js';
import type { TrainingRepository } from './repository.js';
import { isTerminalRun } from './run-state.js';
import type { TrainingMessage } from './thread.js';

export interface PreviewMakerOptions {
  repository: TrainingRepository;
  /** The dataset's drawings (the sheet's reference column) and the month's spend. */
  store: Store;
  config: Config;
  clock: Clock;
  log: Logger;
  /** The same generator as `/kmplz`: previews show what the class will get. */
  generator: Generator;
}

/**
 * A checkpoint's preview as plain data: the sheet (drawn once and saved, so a repost after a
 * crash is not paid twice), or why there is none (the month's budget), and whether a trainer
 * may still stop after it. The sheet's GPU time counts to the month and to the training.
 */
export class PreviewMaker {
  constructor(private readonly o: PreviewMakerOptions) {}

  async message(ref: TrainingRef, record: TrainingRecord, checkpoint: CheckpointRecord, signal: AbortSignal): Promise<Extract<TrainingMessage, { kind: 'preview' }>> {
    const { config, store, clock } = this.o;
    let sheet = await loadSavedPreview(config, record, checkpoint.step);
    let refused: string | undefined;
    if (!sheet) {
      const estimate = (record.samples?.length ?? 0) * estimateGenerationSeconds(PREVIEW_SETTINGS.steps, PREVIEW_SETTINGS.width, PREVIEW_SETTINGS.height) * usdPerSecond(config, 'generation');
      try {
        await requireBudget(store, config, clock, ref.guildId, estimate);
      } catch (error) {
        if (!(error instanceof UserError)) throw error;
        refused = error.render(record.locale ?? 'en');
      }
      if (!refused) {
        sheet = await makePreviewSheet({ generator: this.o.generator, store, config, log: this.o.log }, record, checkpoint, {
          signal,
          onSpend: (gpuSeconds) => this.addSpend(ref, gpuSeconds),
        });
        await savePreview(config, record, checkpoint.step, sheet);
      }
    }
    const later = (record.runs ?? []).some((run) => !isTerminalRun(run) && run.checkpointSteps.some((step) => step > checkpoint.step));
    return {
      kind: 'preview',
      record,
      step: checkpoint.step,
      ...(sheet ? { image: { data: sheet.image.data, filename: sheet.image.filename } } : {}),
      notDrawn: sheet?.notes ?? [],
      ...(refused ? { refused } : {}),
      // While a blind vote runs a Stop button would tell which preview is the longest run's.
      canStop: later && !record.stopAfter && !isHidden(record),
    };
  }

  private async addSpend(ref: TrainingRef, gpuSeconds: number): Promise<void> {
    if (!(gpuSeconds > 0)) return;
    await recordSpend(this.o.store, this.o.config, this.o.clock, ref.guildId, gpuSeconds, 'generation');
    await this.o.repository.update(ref, (current) => ({ ...current, previewGpuSeconds: (current.previewGpuSeconds ?? 0) + gpuSeconds }));
  }
}
