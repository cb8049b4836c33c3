import { t } from '../i18n/index.js';
import { isHidden, labelOf } from '../voting/blind.js';
import { tally } from '../voting/tally.js';
import type { TrainingRecord } from './records.js';

/**
 * The text of a checkpoint's preview message: a headline (the step, or only a letter while a
 * blind vote runs), lines about pictures that could not be drawn, and the live tally last.
 * The tally and the headline are rendered from the stored record, so the message can be edited
 * to the latest state by anyone; the note lines are kept from the posted message.
 */

const TALLY_MARK = '🗳️ ';

function headline(record: TrainingRecord, step: number, triggerWord: string): string {
  const label = labelOf(record, step) ?? '';
  const locale = record.locale ?? 'en';
  if (isHidden(record)) return t(locale, 'preview.headline.hidden', { label, trigger: triggerWord });
  return t(locale, label ? 'preview.headline.labelled' : 'preview.headline', { label, step, steps: record.steps, trigger: triggerWord });
}

function tallyLine(record: TrainingRecord, step: number): string {
  const count = tally(record.votes, record.checkpoints.map((c) => c.step)).get(step) ?? 0;
  return `${TALLY_MARK}${t(record.locale ?? 'en', record.votingClosedAt === undefined ? 'preview.tally' : 'preview.tally.closed', { count })}`;
}

export function previewContent(record: TrainingRecord, step: number, triggerWord: string, notes: readonly string[]): string {
  return [headline(record, step, triggerWord), ...notes, tallyLine(record, step)].join('\n').slice(0, 2000);
}

/** The posted preview's text brought up to date with `record`, its note lines kept. */
export function rewritePreview(posted: string, record: TrainingRecord, step: number, triggerWord: string): string {
  const notes = posted.split('\n').slice(1).filter((line) => !line.startsWith(TALLY_MARK));
  return previewContent(record, step, triggerWord, notes);
}
