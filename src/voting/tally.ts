import { listInWords, t, type Locale } from '../i18n/index.js';

/**
 * Checkpoint votes: one vote per person per training, userId → step. The store keeps them
 * as a plain object (JSON), code in memory may hold a Map; both are read here.
 */
export type Votes = ReadonlyMap<string, number> | Readonly<Record<string, number>>;

function entriesOf(votes: Votes): Iterable<[string, number]> {
  return votes instanceof Map ? votes.entries() : Object.entries(votes);
}

export type CastVoteResult =
  /** `movedFrom`: the step this person's vote was on before, when it moved. */
  | { ok: true; votes: Map<string, number>; movedFrom?: number }
  | { ok: false; reason: 'unknown-step'; steps: number[] };

/** Records `userId`'s vote for `step`, replacing any earlier vote of theirs. Returns new votes; the input is left as it was. */
export function castVote(votes: Votes, userId: string, step: number, steps: readonly number[]): CastVoteResult {
  if (!steps.includes(step)) return { ok: false, reason: 'unknown-step', steps: sortedSteps(steps) };
  const next = new Map(entriesOf(votes));
  const previous = next.get(userId);
  next.set(userId, step);
  return previous === undefined || previous === step ? { ok: true, votes: next } : { ok: true, votes: next, movedFrom: previous };
}

/** Votes per checkpoint, every checkpoint listed (zero included), in step order. Votes for steps that are not checkpoints are not counted. */
export function tally(votes: Votes, steps: readonly number[]): Map<number, number> {
  const counts = new Map(sortedSteps(steps).map((step) => [step, 0]));
  for (const [, step] of entriesOf(votes)) {
    const count = counts.get(step);
    if (count !== undefined) counts.set(step, count + 1);
  }
  return counts;
}

export type WinnerRule = 'trainer' | 'most-votes' | 'tie-later-step' | 'no-votes';

export interface Winner {
  step: number;
  votes: number;
  rule: WinnerRule;
  /** The rule applied, in words, for the reply. */
  explanation: string;
}

export interface WinnerInput {
  votes: Votes;
  steps: readonly number[];
  /** A step a trainer picked over the vote; must be one of `steps`. */
  override?: number;
}

/**
 * The checkpoint `/kmplz` should use: a trainer's pick if there is one; else the most votes,
 * ties going to the later step (it has seen more of the drawings); else, when nobody voted,
 * the last checkpoint. `undefined` when there are no checkpoints.
 */
export function winner({ votes, steps, override }: WinnerInput): Winner | undefined {
  const counts = tally(votes, steps);
  const ordered = [...counts.keys()];
  const last = ordered.at(-1);
  if (last === undefined) return undefined;

  if (override !== undefined) {
    const overrideVotes = counts.get(override);
    if (overrideVotes === undefined) throw new RangeError(`override ${override} is not a checkpoint (${ordered.join(', ')})`);
    return withExplanation({ step: override, votes: overrideVotes, rule: 'trainer' }, counts);
  }

  const most = Math.max(...counts.values());
  if (most === 0) {
    return withExplanation({ step: last, votes: 0, rule: 'no-votes' }, counts);
  }
  const leaders = ordered.filter((step) => counts.get(step) === most);
  const chosen = leaders.at(-1) ?? last;
  return withExplanation({ step: chosen, votes: most, rule: leaders.length === 1 ? 'most-votes' : 'tie-later-step' }, counts);
}

function withExplanation(chosen: Omit<Winner, 'explanation'>, counts: ReadonlyMap<number, number>): Winner {
  return { ...chosen, explanation: explainWinner('en', chosen, counts) };
}

/** The rule that chose `chosen`, in words, for the reply; `counts` names the steps of a tie. */
export function explainWinner(locale: Locale, chosen: Omit<Winner, 'explanation'> | undefined, counts: ReadonlyMap<number, number>): string {
  if (!chosen) return t(locale, 'winner.no-checkpoints');
  const { step, votes } = chosen;
  switch (chosen.rule) {
    case 'trainer':
      return t(locale, 'winner.trainer', { step });
    case 'no-votes':
      return t(locale, 'winner.no-votes', { step });
    case 'most-votes':
      return t(locale, 'winner.most-votes', { step, votes });
    case 'tie-later-step': {
      const leaders = [...counts].filter(([, count]) => count === votes).map(([leader]) => leader);
      return t(locale, 'winner.tie', { leaders: listInWords(locale, leaders), votes, step });
    }
  }
}

export interface VoteSummary {
  counts: Map<number, number>;
  winner?: Winner;
  explanation: string;
}

/** `tally` and `winner` together, for views that show both. */
export function tallyVotes(input: WinnerInput): VoteSummary {
  const counts = tally(input.votes, input.steps);
  const chosen = winner(input);
  return chosen ? { counts, winner: chosen, explanation: chosen.explanation } : { counts, explanation: explainWinner('en', undefined, counts) };
}

function sortedSteps(steps: readonly number[]): number[] {
  return [...new Set(steps)].sort((a, b) => a - b);
}
