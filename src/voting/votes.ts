import type { BotContext } from '../context.js';
import { UserError } from '../errors.js';
import { keys, type TrainingRecord } from '../training/records.js';
import { castVote } from './tally.js';

export interface RecordedVote {
  step: number;
  /** The step this person's vote was on before, when they moved it. */
  movedFrom?: number;
}

/**
 * One person's vote for a checkpoint of a training: the preview buttons and `/vote` both come
 * here. One vote per person per training; voting again moves it. The read-modify-write goes
 * through `store.update`, so a burst of clicks from the whole class loses no vote.
 */
export async function recordVote(ctx: BotContext, guildId: string, trainingId: string, userId: string, step: number): Promise<RecordedVote> {
  let outcome: ReturnType<typeof castVote> | undefined;
  const training = await ctx.store.update<TrainingRecord>(keys.training(guildId, trainingId), (current) => {
    if (!current) return current;
    outcome = castVote(current.votes, userId, step, current.checkpoints.map((c) => c.step));
    return outcome.ok ? { ...current, votes: Object.fromEntries(outcome.votes) } : current;
  });
  if (!training || !outcome) throw new UserError('unknown-training', 'That training is not known here any more.');
  if (!outcome.ok) {
    const available = training.checkpoints.map((c) => c.step).join(', ');
    throw new UserError('unknown-checkpoint', available ? `There is no checkpoint at step ${step}. You can vote for: ${available}.` : 'No checkpoint is ready to vote on yet.');
  }
  ctx.log.info({ trainingId, step, movedFrom: outcome.movedFrom }, 'checkpoint vote');
  return { step, movedFrom: outcome.movedFrom };
}

export function describeVote({ step, movedFrom }: RecordedVote): string {
  const moved = movedFrom === undefined || movedFrom === step ? '' : ` (moved from step ${movedFrom})`;
  return `🗳️ Your vote is on **step ${step}**${moved}. One vote per person: vote again to move it.`;
}
