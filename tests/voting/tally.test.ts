import { describe, expect, it } from 'vitest';
import { castVote, tally, tallyVotes, winner, type Votes } from '../../src/voting/tally.js';

const steps = [250, 500, 750, 1000];

describe('castVote', () => {
  it.each<{ name: string; before: Votes; userId: string; step: number; after: Record<string, number>; movedFrom?: number }>([
    { name: 'a first vote', before: {}, userId: 'ana', step: 500, after: { ana: 500 }, movedFrom: undefined },
    { name: 'voting again moves the vote', before: { ana: 250, ben: 750 }, userId: 'ana', step: 1000, after: { ana: 1000, ben: 750 }, movedFrom: 250 },
    { name: 'the same vote twice changes nothing', before: { ana: 500 }, userId: 'ana', step: 500, after: { ana: 500 }, movedFrom: undefined },
    { name: 'from a Map', before: new Map([['ben', 250]]), userId: 'ana', step: 750, after: { ben: 250, ana: 750 }, movedFrom: undefined },
  ])('$name', ({ before, userId, step, after, movedFrom }) => {
    const snapshot = before instanceof Map ? new Map(before) : { ...before };
    const result = castVote(before, userId, step, steps);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(Object.fromEntries(result.votes)).toEqual(after);
    expect(result.movedFrom).toBe(movedFrom);
    expect(before).toEqual(snapshot);
  });

  it.each([0, 300, 1250])('refuses a vote for %i, which is not a checkpoint', (step) => {
    expect(castVote({}, 'ana', step, [1000, 250, 500, 750])).toEqual({ ok: false, reason: 'unknown-step', steps });
  });
});

describe('tally', () => {
  it.each<{ name: string; votes: Votes; counts: number[][] }>([
    { name: 'nobody voted', votes: {}, counts: [[250, 0], [500, 0], [750, 0], [1000, 0]] },
    { name: 'three people', votes: { ana: 500, ben: 500, cy: 1000 }, counts: [[250, 0], [500, 2], [750, 0], [1000, 1]] },
    { name: 'votes for a step that is not a checkpoint are not counted', votes: { ana: 500, ben: 300 }, counts: [[250, 0], [500, 1], [750, 0], [1000, 0]] },
    { name: 'a Map of votes', votes: new Map([['ana', 750]]), counts: [[250, 0], [500, 0], [750, 1], [1000, 0]] },
  ])('$name', ({ votes, counts }) => {
    expect([...tally(votes, [1000, 750, 500, 250, 500])]).toEqual(counts);
  });
});

describe('winner', () => {
  it.each<{ name: string; votes: Votes; override?: number; step: number; count: number; rule: string; explanation: string }>([
    { name: 'most votes', votes: { ana: 500, ben: 500, cy: 500, dee: 1000 }, step: 500, count: 3, rule: 'most-votes', explanation: 'step 500 wins with 3 votes' },
    { name: 'one vote', votes: { ana: 250 }, step: 250, count: 1, rule: 'most-votes', explanation: 'step 250 wins with 1 vote' },
    { name: 'a tie of two', votes: { ana: 500, ben: 750 }, step: 750, count: 1, rule: 'tie-later-step', explanation: 'tie between 500 and 750 with 1 vote each: the later step (750) wins' },
    {
      name: 'a tie of three',
      votes: { ana: 250, ben: 250, cy: 500, dee: 500, eve: 1000, fay: 1000 },
      step: 1000,
      count: 2,
      rule: 'tie-later-step',
      explanation: 'tie between 250, 500 and 1000 with 2 votes each: the later step (1000) wins',
    },
    { name: 'no votes', votes: {}, step: 1000, count: 0, rule: 'no-votes', explanation: 'no votes: the last checkpoint (1000) is used' },
    { name: 'only votes for removed steps', votes: { ana: 300 }, step: 1000, count: 0, rule: 'no-votes', explanation: 'no votes: the last checkpoint (1000) is used' },
    { name: 'a trainer override beats the vote', votes: { ana: 500, ben: 500 }, override: 250, step: 250, count: 0, rule: 'trainer', explanation: 'step 250 was picked by a trainer' },
    { name: 'a trainer override with no votes', votes: {}, override: 750, step: 750, count: 0, rule: 'trainer', explanation: 'step 750 was picked by a trainer' },
  ])('$name → $step', ({ votes, override, step, count, rule, explanation }) => {
    expect(winner({ votes, steps, override })).toEqual({ step, votes: count, rule, explanation });
  });

  it('follows a moved vote', () => {
    const first = castVote({ ana: 500, ben: 500 }, 'cy', 750, steps);
    if (!first.ok) throw new Error('vote refused');
    expect(winner({ votes: first.votes, steps })?.step).toBe(500);
    const moved = castVote(first.votes, 'ana', 750, steps);
    if (!moved.ok) throw new Error('vote refused');
    expect(winner({ votes: moved.votes, steps })).toMatchObject({ step: 750, votes: 2, rule: 'most-votes' });
  });

  it('has no winner without checkpoints', () => {
    expect(winner({ votes: { ana: 500 }, steps: [] })).toBeUndefined();
  });

  it('refuses an override that is not a checkpoint', () => {
    expect(() => winner({ votes: {}, steps, override: 300 })).toThrow(RangeError);
  });
});

describe('tallyVotes', () => {
  it.each<{ steps: number[]; votes: Votes; explanation: string; winnerStep?: number }>([
    { steps, votes: { ana: 500 }, explanation: 'step 500 wins with 1 vote', winnerStep: 500 },
    { steps: [], votes: {}, explanation: 'no checkpoints yet', winnerStep: undefined },
  ])('counts and explains: $explanation', ({ steps: checkpointSteps, votes, explanation, winnerStep }) => {
    const summary = tallyVotes({ steps: checkpointSteps, votes });
    expect(summary.explanation).toBe(explanation);
    expect(summary.winner?.step).toBe(winnerStep);
    expect(summary.counts).toEqual(tally(votes, checkpointSteps));
  });
});
