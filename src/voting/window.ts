import type { ActiveCheckpoint, TrainingRecord } from '../training/records.js';
import { isHidden } from './blind.js';
import { winner, type Winner } from './tally.js';

/**
 * The voting window: when a training's vote is open, when it closes, and what `/kmplz` draws
 * with meanwhile. Plain data in, plain data out; the training supervisor and the commands act
 * on the answers (store, Discord).
 *
 * The class compares the previews once they are all up, so a training that succeeded keeps its
 * vote open after the end: `vote_minutes` long, or DEFAULT_VOTE_MINUTES without it, unless a
 * trainer closes it sooner. While it is open `/kmplz` draws with the leader — except in a blind
 * vote, where the step of the picture would tell which letter leads. The deadline is stored on
 * the record (`votingClosesAt`), so a restart keeps it.
 */

/** Without `vote_minutes`: a day, so a class that trained in one lesson can vote until the next day's. */
export const DEFAULT_VOTE_MINUTES = 24 * 60;

export type VotingFields = Pick<TrainingRecord, 'status' | 'blind' | 'voteMinutes' | 'votingClosesAt' | 'votingClosedAt' | 'override'>;

/**
 * - `training`: the training runs; votes are taken as previews come in.
 * - `open`: the training ended and the vote goes on until `votingClosesAt`.
 * - `closed`: closed (deadline, a trainer), or a training that ended without a window (failed,
 *   canceled, or stored before windows existed), whose stored choice stands.
 */
export type VotingPhase = 'training' | 'open' | 'closed';

export function votingPhase(record: Pick<TrainingRecord, 'status' | 'votingClosesAt' | 'votingClosedAt'>): VotingPhase {
  if (record.votingClosedAt !== undefined) return 'closed';
  if (record.votingClosesAt !== undefined) return 'open';
  return record.status === 'running' || record.status === 'confirming' ? 'training' : 'closed';
}

/**
 * What the end of a training does with its vote:
 * - `open`: it stays open until `closesAt` (a succeeded training nobody closed or picked for);
 * - `close`: it closes now (a trainer picked during the training; a blind vote of a training
 *   that failed or was canceled reveals its steps);
 * - `leave`: nothing changes (a failed or canceled training, not blind: `/kmplz` keeps its checkpoint).
 */
export type EndOfTraining = { do: 'open'; closesAt: number } | { do: 'close' } | { do: 'leave' };

export function votingAtEnd(record: VotingFields, now: number): EndOfTraining {
  if (record.votingClosedAt !== undefined) return { do: 'leave' };
  if (record.status === 'succeeded' && record.override === undefined) {
    return { do: 'open', closesAt: record.votingClosesAt ?? now + (record.voteMinutes ?? DEFAULT_VOTE_MINUTES) * 60_000 };
  }
  return record.override !== undefined || isHidden(record) ? { do: 'close' } : { do: 'leave' };
}

/** The deadline sweep closes it now: its deadline passed, or it was closed and the result may still be unannounced. */
export function isDue(record: VotingFields, now: number): boolean {
  return record.votingClosedAt !== undefined || (record.votingClosesAt ?? Infinity) <= now;
}

/** A trainer's `/checkpoints use:` also ends the vote: a blind one (to reveal), one with a deadline, one open after the end. */
export function pickCloses(record: VotingFields): boolean {
  return record.votingClosedAt === undefined && (record.blind !== undefined || record.voteMinutes !== undefined || record.votingClosesAt !== undefined);
}

/** The checkpoint the vote would choose now (a trainer's pick first), undefined without checkpoints. */
export function leaderOf(record: Pick<TrainingRecord, 'votes' | 'checkpoints' | 'override'>): Winner | undefined {
  const steps = record.checkpoints.map((c) => c.step);
  return winner({ votes: record.votes, steps, override: record.override && steps.includes(record.override.step) ? record.override.step : undefined });
}

export function activeFor(record: Pick<TrainingRecord, 'id'>, chosen: Pick<Winner, 'step' | 'rule'>): ActiveCheckpoint {
  return { trainingId: record.id, step: chosen.step, chosenBy: chosen.rule === 'trainer' ? 'trainer' : chosen.rule === 'no-votes' ? 'last' : 'vote' };
}

/**
 * What `/kmplz` draws with, from the server's last training and the stored choice (the last
 * closed vote or a trainer's pick):
 * - `checkpoint`: this one;
 * - `hidden`: nothing yet — a blind vote is open and no earlier choice exists; it draws once
 *   the vote closes (`closesAt`);
 * - undefined: nothing has been trained.
 * Derived on every read, so a vote moves `/kmplz` at once and no write can race another.
 */
export type DrawingChoice = { kind: 'checkpoint'; active: ActiveCheckpoint } | { kind: 'hidden'; closesAt: number } | undefined;

export function drawingChoice(last: TrainingRecord | undefined, stored: ActiveCheckpoint | undefined): DrawingChoice {
  if (last && votingPhase(last) === 'open') {
    if (isHidden(last)) {
      // The step of a picture would tell which letter leads: an earlier training's choice, or none.
      if (stored && stored.trainingId !== last.id) return { kind: 'checkpoint', active: stored };
      return { kind: 'hidden', closesAt: last.votingClosesAt! };
    }
    const leader = leaderOf(last);
    if (leader) return { kind: 'checkpoint', active: activeFor(last, leader) };
  }
  return stored ? { kind: 'checkpoint', active: stored } : undefined;
}
