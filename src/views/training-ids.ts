import { customId } from '../interactions/command.js';

/** The custom ids of a training's buttons (commands/train.ts answers them). */

export const cancelId = (trainingId: string) => customId('train', 'cancel', trainingId);
export const voteId = (trainingId: string, step: number) => customId('train', 'vote', trainingId, step);
export const stopId = (trainingId: string, step: number) => customId('train', 'stop', trainingId, step);
/** `where` makes each message's button unique: post-once recognises its message by it. */
export const votesId = (trainingId: string, where: 'announcement' | 'final' | 'result') => customId('train', 'votes', trainingId, where);
export const closeVotingId = (trainingId: string) => customId('train', 'close', trainingId);

/**
 * The custom id only the training's message `what` carries (`announcement`, `status`,
 * `preview:<step>`, `final`, `result`): how a message posted before a crash is found again.
 */
export function messageTag(trainingId: string, what: string): string {
  if (what === 'status') return cancelId(trainingId);
  if (what.startsWith('preview:')) return voteId(trainingId, Number(what.slice('preview:'.length)));
  if (what === 'announcement' || what === 'final' || what === 'result') return votesId(trainingId, what);
  throw new Error(`no message tag for "${what}"`);
}
