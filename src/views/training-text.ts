import { listInWords, t, type Locale } from '../i18n/index.js';
import type { TrainingRecord } from '../training/records.js';
import { checkpointName, describeReveal, isHidden, labelOf } from '../voting/blind.js';
import { explainWinner, tally, type Winner } from '../voting/tally.js';
import { leaderOf, votingPhase } from '../voting/window.js';

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

/**
 * The words of the voting window in the training's thread: the lines of the end message that
 * follow the vote while it is open (rewritten in place as people vote, like a preview's tally),
 * and the result once it closes. Rendered from the stored record alone.
 */

/** Every line of the end message that follows the vote starts with this, so an edit finds them. */
const LIVE_MARK = '🗳️ ';

type WindowRecord = Pick<TrainingRecord, 'status' | 'blind' | 'voteMinutes' | 'votingClosesAt' | 'votingClosedAt' | 'override' | 'votes' | 'checkpoints' | 'locale'>;

/**
 * The end message's lines about the vote: while open, until when and who leads (what `/kmplz`
 * draws with, or — blind — only the letters that lead); once closed, where the result is. None
 * for a vote that never had a window after the end.
 */
export function liveLines(record: WindowRecord): string[] {
  const locale = record.locale ?? 'en';
  if (record.votingClosesAt === undefined) return [];
  if (votingPhase(record) === 'closed') return [LIVE_MARK + t(locale, 'training.open.closed', { at: Math.round((record.votingClosedAt ?? record.votingClosesAt) / 1000) })];
  const lines = [LIVE_MARK + t(locale, 'training.open.until', { at: Math.round(record.votingClosesAt / 1000) })];
  lines.push(LIVE_MARK + (isHidden(record) ? blindLeaders(record, locale) : leaderLine(record, locale)));
  return lines;
}

function leaderLine(record: WindowRecord, locale: Locale): string {
  const leader = leaderOf(record);
  if (!leader) return t(locale, 'winner.no-checkpoints');
  return t(locale, 'training.open.leader', { step: leader.step, explanation: explainWinner(locale, leader, tally(record.votes, record.checkpoints.map((c) => c.step))) });
}

/** Blind: the leading letters and their votes; a tie names them all, as the tally on the previews would. */
function blindLeaders(record: WindowRecord, locale: Locale): string {
  const counts = tally(record.votes, record.checkpoints.map((c) => c.step));
  const most = Math.max(0, ...counts.values());
  if (most === 0) return t(locale, 'training.open.none.blind');
  const names = [...counts].filter(([, count]) => count === most).map(([step]) => `**${checkpointName(record, step, locale)}**`);
  return t(locale, 'training.open.leader.blind', { names: listInWords(locale, names.sort()), votes: most });
}

/** The posted end message with its vote lines brought up to date; unchanged when it has none. */
export function rewriteFinal(posted: string, record: WindowRecord): string {
  const lines = posted.split('\n');
  const at = lines.findIndex((line) => line.startsWith(LIVE_MARK));
  if (at < 0) return posted;
  const rest = lines.filter((line) => !line.startsWith(LIVE_MARK));
  rest.splice(at, 0, ...liveLines(record));
  return rest.join('\n').slice(0, 2000);
}

/** The message that announces the closed vote: the winner and why, the reveal of a blind vote, the counts. */
export function resultLines(record: Pick<TrainingRecord, 'blind' | 'votes' | 'checkpoints' | 'locale'>, chosen: Winner | undefined): string[] {
  const locale = record.locale ?? 'en';
  const steps = record.checkpoints.map((c) => c.step);
  const counted = tally(record.votes, steps);
  const counts = [...counted].map(([step, count]) => `${t(locale, 'common.step', { step })}: ${count}`).join(' · ');
  const lines = [chosen ? t(locale, 'training.voting-closed', { step: chosen.step, explanation: explainWinner(locale, chosen, counted) }) : t(locale, 'training.voting-closed.none')];
  if (record.blind) lines.push(t(locale, 'training.revealed', { reveal: describeReveal(record, steps, locale) }));
  if (counts) lines.push(t(locale, 'training.votes', { counts }));
  return lines;
}
