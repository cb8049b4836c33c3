import type { BotContext } from '../context.js';
import { UserError } from '../errors.js';
import { msg, t, type Locale } from '../i18n/index.js';
import type { TrainingRecord } from '../training/records.js';
import { checkpointName } from './blind.js';
import { castVote } from './tally.js';

export interface RecordedVote {
  step: number;
  /** The step this person's vote was on before, when they moved it. */
  movedFrom?: number;
  /** How the checkpoints are named to the voter: `step 500`, or `checkpoint B` while a blind vote runs. */
  name: string;
  movedFromName?: string;
  /** How the training named checkpoints when the vote was cast, to name them in the voter's language. */
  shownAs: Pick<TrainingRecord, 'blind' | 'votingClosedAt'>;
}

/**
 * One person's vote for a checkpoint of a training: the preview buttons and `/vote` both come
 * here. One vote per person per training; voting again moves it. The read-modify-write goes
 * through the repository's compare-and-swap, so a burst of clicks from the whole class loses no vote. Votes are
 * taken while the training runs and after it until voting closes (its deadline, a trainer's
 * Close or pick: src/voting/window.ts); then they are refused.
 * The previews then show the new tallies (edits throttled per message by src/training/live-tallies.ts).
 */
export async function recordVote(ctx: BotContext, guildId: string, trainingId: string, userId: string, step: number): Promise<RecordedVote> {
  let outcome: ReturnType<typeof castVote> | undefined;
  const training = await ctx.training.repository.updateIfPresent({ guildId, trainingId }, (current) => {
    if (current.votingClosedAt !== undefined) return current;
    outcome = castVote(current.votes, userId, step, current.checkpoints.map((c) => c.step));
    return outcome.ok ? { ...current, votes: Object.fromEntries(outcome.votes) } : current;
  });
  if (!training) throw new UserError('unknown-training', msg('error.unknown-training'));
  if (training.votingClosedAt !== undefined) {
    throw new UserError('voting-closed', msg('error.voting-closed', { at: Math.round(training.votingClosedAt / 1000) }));
  }
  if (!outcome) throw new UserError('unknown-training', msg('error.unknown-training'));
  if (!outcome.ok) {
    const available = training.checkpoints.map((c) => c.step).join(', ');
    throw new UserError('unknown-checkpoint', available ? msg('error.unknown-checkpoint.vote', { step, available }) : msg('error.unknown-checkpoint.none-to-vote'));
  }
  ctx.log.info({ trainingId, step, movedFrom: outcome.movedFrom }, 'checkpoint vote');
  await ctx.training.showTallies({ guildId, trainingId });
  const { movedFrom } = outcome;
  return { step, name: checkpointName(training, step), ...(movedFrom === undefined ? {} : { movedFrom, movedFromName: checkpointName(training, movedFrom) }), shownAs: { blind: training.blind, votingClosedAt: training.votingClosedAt } };
}

export function describeVote(vote: RecordedVote, locale: Locale = 'en'): string {
  const name = checkpointName(vote.shownAs, vote.step, locale);
  if (vote.movedFrom === undefined) return t(locale, 'vote.recorded', { name });
  return t(locale, 'vote.moved', { name, from: checkpointName(vote.shownAs, vote.movedFrom, locale) });
}
