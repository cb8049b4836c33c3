import { randomInt } from 'node:crypto';
import { t, type Locale } from '../i18n/index.js';
import type { TrainingRecord } from '../training/records.js';

/**
 * Blind mode: until voting closes, checkpoints go by letters instead of steps, so the class
 * votes on the pictures and not on "more steps must be better". The letters are dealt out in a
 * shuffled order once, at the start of the training, and stored with it.
 */
export function blindLabels(steps: readonly number[], pick: (below: number) => number = randomInt): Record<string, string> {
  const shuffled = [...new Set(steps)];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = pick(i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  return Object.fromEntries(shuffled.map((step, index) => [String(step), String.fromCharCode(65 + index)]));
}

/** Steps are hidden: a blind training whose voting has not closed. */
export function isHidden(record: Pick<TrainingRecord, 'blind' | 'votingClosedAt'>): boolean {
  return record.blind !== undefined && record.votingClosedAt === undefined;
}

export function labelOf(record: Pick<TrainingRecord, 'blind'>, step: number): string | undefined {
  return record.blind?.[String(step)];
}

/** How a checkpoint is named to the class: its letter while hidden, else its step. */
export function checkpointName(record: Pick<TrainingRecord, 'blind' | 'votingClosedAt'>, step: number, locale: Locale = 'en'): string {
  return isHidden(record) ? t(locale, 'common.checkpoint-letter', { label: labelOf(record, step) ?? '?' }) : t(locale, 'common.step', { step });
}

/** Steps in the order the class sees them: by letter while hidden, else by step. */
export function shownOrder(record: Pick<TrainingRecord, 'blind' | 'votingClosedAt'>, steps: readonly number[]): number[] {
  const byStep = [...steps].sort((a, b) => a - b);
  if (!isHidden(record)) return byStep;
  return byStep.sort((a, b) => (labelOf(record, a) ?? '').localeCompare(labelOf(record, b) ?? ''));
}

/** "A = step 750 · B = step 250 · …", for the reveal. */
export function describeReveal(record: Pick<TrainingRecord, 'blind'>, steps: readonly number[], locale: Locale = 'en'): string {
  return [...steps]
    .filter((step) => labelOf(record, step) !== undefined)
    .sort((a, b) => labelOf(record, a)!.localeCompare(labelOf(record, b)!))
    .map((step) => `**${labelOf(record, step)}** = ${t(locale, 'common.step', { step })}`)
    .join(' · ');
}
