import { UserError } from '../errors.js';
import { msg } from '../i18n/index.js';
import type { TrainingRecord } from './records.js';
import type { RunningClaim } from './repository.js';

/** Why a Cancel or a Stop comes too late: the training ended, and how. */
export function notRunning(record: TrainingRecord | undefined): UserError {
  const state = record?.status === 'succeeded' ? 'finished' : record?.status === 'failed' || record?.status === 'canceled' ? record.status : 'ended';
  return new UserError('training-not-running', msg(`error.training-not-running.${state}`));
}

/** The refusal of a second training while `running` goes on (from /train and from Start). */
export function runningAlready(running: Pick<TrainingRecord, 'threadId'>): UserError {
  return new UserError('training-running', running.threadId ? msg('error.training-running.thread', { thread: running.threadId }) : msg('error.training-running'));
}

/** A claim of the server's training slot that did not go through, as the trainer reads it. */
export function claimRefused(claim: Exclude<RunningClaim, { claimed: true }>): UserError {
  if (claim.holder === 'self') return new UserError('already-started', msg('error.already-started'));
  if (claim.holder === 'other') return runningAlready(claim.running);
  return new UserError('training-running', msg('error.training-running.starting'));
}
