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
  const label = labelOf(record, step);
  const same = 'drawn with the same prompts and seeds as every checkpoint.';
  if (isHidden(record)) return `**Checkpoint ${label}** — ${triggerWord}, ${same} Its step stays hidden until voting closes: vote for the pictures you like best.`;
  const name = label ? `Checkpoint ${label}: step ${step}` : `Checkpoint: step ${step}`;
  return `**${name}** of ${record.steps} — ${triggerWord} after ${step} steps, ${same} Vote for the one you like best.`;
}

function tallyLine(record: TrainingRecord, step: number): string {
  const count = tally(record.votes, record.checkpoints.map((c) => c.step)).get(step) ?? 0;
  return `${TALLY_MARK}${count} vote${count === 1 ? '' : 's'}${record.votingClosedAt === undefined ? '' : ' · voting closed'}`;
}

export function previewContent(record: TrainingRecord, step: number, triggerWord: string, notes: readonly string[]): string {
  return [headline(record, step, triggerWord), ...notes, tallyLine(record, step)].join('\n').slice(0, 2000);
}

/** The posted preview's text brought up to date with `record`, its note lines kept. */
export function rewritePreview(posted: string, record: TrainingRecord, step: number, triggerWord: string): string {
  const notes = posted.split('\n').slice(1).filter((line) => !line.startsWith(TALLY_MARK));
  return previewContent(record, step, triggerWord, notes);
}
