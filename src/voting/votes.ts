import type { BotContext } from '../context.js';
import { UserError } from '../errors.js';
import { keys, type TrainingRecord } from '../training/records.js';
import { checkpointName } from './blind.js';
import { castVote } from './tally.js';

export interface RecordedVote {
  step: number;
  /** The step this person's vote was on before, when they moved it. */
  movedFrom?: number;
  /** How the checkpoints are named to the voter: `step 500`, or `checkpoint B` while a blind vote runs. */
  name: string;
  movedFromName?: string;
}

/**
 * One person's vote for a checkpoint of a training: the preview buttons and `/vote` both come
 * here. One vote per person per training; voting again moves it. The read-modify-write goes
 * through `store.update`, so a burst of clicks from the whole class loses no vote. Once voting
 * has closed (deadline, a trainer's pick, the end of a blind training), votes are refused.
 * The previews then show the new tallies (edits coalesced by the training supervisor).
 */
export async function recordVote(ctx: BotContext, guildId: string, trainingId: string, userId: string, step: number): Promise<RecordedVote> {
  let outcome: ReturnType<typeof castVote> | undefined;
  const training = await ctx.store.update<TrainingRecord>(keys.training(guildId, trainingId), (current) => {
    if (!current || current.votingClosedAt !== undefined) return current;
    outcome = castVote(current.votes, userId, step, current.checkpoints.map((c) => c.step));
    return outcome.ok ? { ...current, votes: Object.fromEntries(outcome.votes) } : current;
  });
  if (!training) throw new UserError('unknown-training', 'That training is not known here any more.');
  if (training.votingClosedAt !== undefined) {
    throw new UserError('voting-closed', `Voting on this training closed <t:${Math.round(training.votingClosedAt / 1000)}:R>: see \`/checkpoints\` for the result.`);
  }
  if (!outcome) throw new UserError('unknown-training', 'That training is not known here any more.');
  if (!outcome.ok) {
    const available = training.checkpoints.map((c) => c.step).join(', ');
    throw new UserError('unknown-checkpoint', available ? `There is no checkpoint at step ${step}. You can vote for: ${available}.` : 'No checkpoint is ready to vote on yet.');
  }
  ctx.log.info({ trainingId, step, movedFrom: outcome.movedFrom }, 'checkpoint vote');
  await ctx.training.showTallies({ guildId, trainingId });
  const { movedFrom } = outcome;
  return { step, name: checkpointName(training, step), ...(movedFrom === undefined ? {} : { movedFrom, movedFromName: checkpointName(training, movedFrom) }) };
}

export function describeVote({ name, movedFromName }: RecordedVote): string {
  const moved = movedFromName === undefined ? '' : ` (moved from ${movedFromName})`;
  return `🗳️ Your vote is on **${name}**${moved}. One vote per person: vote again to move it.`;
}
