import { describe, expect, it } from 'vitest';
import type { ActiveCheckpoint, TrainingRecord } from '../../src/training/records.js';
import { DEFAULT_VOTE_MINUTES, drawingChoice, isDue, pickCloses, votingAtEnd, votingPhase, type DrawingChoice, type EndOfTraining, type VotingFields } from '../../src/voting/window.js';
import { liveLines, resultLines, rewriteFinal } from '../../src/views/training-text.js';

const NOW = 1_800_000_000_000;
const HOUR = 60 * 60_000;
const BLIND = { '250': 'B', '500': 'A', '750': 'C' };

function training(over: Partial<TrainingRecord> = {}): TrainingRecord {
  return {
    id: 'tr1',
    guildId: 'g',
    channelId: 'c',
    startedBy: 'u',
    status: 'succeeded',
    steps: 750,
    checkpointEvery: 250,
    checkpoints: [250, 500, 750].map((step) => ({ step, createdAt: 0 })),
    votes: {},
    createdAt: 0,
    ...over,
  };
}

describe('votingPhase', () => {
  it.each<{ name: string; record: Partial<TrainingRecord>; phase: string }>([
    { name: 'a running training takes votes as previews come', record: { status: 'running' }, phase: 'training' },
    { name: 'a succeeded training with a deadline is open', record: { votingClosesAt: NOW }, phase: 'open' },
    { name: 'a closed vote is closed, deadline or not', record: { votingClosesAt: NOW, votingClosedAt: NOW }, phase: 'closed' },
    { name: 'a trainer closed it while the training ran', record: { status: 'running', votingClosedAt: NOW }, phase: 'closed' },
    { name: 'a training stored before windows existed: its choice stands', record: {}, phase: 'closed' },
    { name: 'a canceled training', record: { status: 'canceled' }, phase: 'closed' },
  ])('$name', ({ record, phase }) => {
    expect(votingPhase(training(record))).toBe(phase);
  });
});

describe('votingAtEnd', () => {
  it.each<{ name: string; record: Partial<VotingFields>; end: EndOfTraining }>([
    { name: 'without vote_minutes: open for the default window', record: {}, end: { do: 'open', closesAt: NOW + DEFAULT_VOTE_MINUTES * 60_000 } },
    { name: 'the default window is a day', record: {}, end: { do: 'open', closesAt: NOW + 24 * HOUR } },
    { name: 'vote_minutes sets the window', record: { voteMinutes: 30 }, end: { do: 'open', closesAt: NOW + 30 * 60_000 } },
    { name: 'blind: open as well, the steps stay hidden', record: { blind: BLIND }, end: { do: 'open', closesAt: NOW + 24 * HOUR } },
    { name: 'a deadline stored before a restart is kept', record: { votingClosesAt: NOW - 5 }, end: { do: 'open', closesAt: NOW - 5 } },
    { name: 'a trainer picked during the training: closed at the end', record: { override: { step: 250, by: 'u' } }, end: { do: 'close' } },
    { name: 'already closed (a pick with a deadline): nothing more', record: { voteMinutes: 30, votingClosedAt: NOW - 1 }, end: { do: 'leave' } },
    { name: 'failed: /kmplz keeps its checkpoint', record: { status: 'failed' }, end: { do: 'leave' } },
    { name: 'canceled blind: the steps are revealed', record: { status: 'canceled', blind: BLIND }, end: { do: 'close' } },
  ])('$name', ({ record, end }) => {
    expect(votingAtEnd(training(record), NOW)).toEqual(end);
  });
});

describe('isDue and pickCloses', () => {
  it.each<{ name: string; record: Partial<VotingFields>; due: boolean; pick: boolean }>([
    { name: 'open, deadline ahead', record: { votingClosesAt: NOW + 1 }, due: false, pick: true },
    { name: 'open, deadline reached', record: { votingClosesAt: NOW }, due: true, pick: true },
    { name: 'closed, result maybe unannounced', record: { votingClosesAt: NOW + HOUR, votingClosedAt: NOW - 1 }, due: true, pick: false },
    { name: 'running with vote_minutes', record: { status: 'running', voteMinutes: 10 }, due: false, pick: true },
    { name: 'running blind', record: { status: 'running', blind: BLIND }, due: false, pick: true },
    { name: 'running, plain: the pick waits for the end, which closes it', record: { status: 'running' }, due: false, pick: false },
  ])('$name', ({ record, due, pick }) => {
    expect(isDue(training(record), NOW)).toBe(due);
    expect(pickCloses(training(record))).toBe(pick);
  });
});

describe('drawingChoice', () => {
  const before: ActiveCheckpoint = { trainingId: 'tr0', step: 1000, chosenBy: 'vote' };
  const atEnd: ActiveCheckpoint = { trainingId: 'tr1', step: 750, chosenBy: 'last' };
  it.each<{ name: string; last?: Partial<TrainingRecord>; stored?: ActiveCheckpoint; choice: DrawingChoice }>([
    { name: 'nothing trained', choice: undefined },
    { name: 'open: the leader, whatever was stored at the end', last: { votingClosesAt: NOW, votes: { a: 500, b: 500, c: 250 } }, stored: atEnd, choice: { kind: 'checkpoint', active: { trainingId: 'tr1', step: 500, chosenBy: 'vote' } } },
    { name: 'open, a tie: the later step', last: { votingClosesAt: NOW, votes: { a: 250, b: 500 } }, stored: atEnd, choice: { kind: 'checkpoint', active: { trainingId: 'tr1', step: 500, chosenBy: 'vote' } } },
    { name: 'open, no votes: the last checkpoint', last: { votingClosesAt: NOW }, stored: before, choice: { kind: 'checkpoint', active: atEnd } },
    { name: 'open blind: the earlier choice', last: { votingClosesAt: NOW, blind: BLIND, votes: { a: 250 } }, stored: before, choice: { kind: 'checkpoint', active: before } },
    { name: 'open blind, nothing before: hidden until it closes', last: { votingClosesAt: NOW, blind: BLIND, votes: { a: 250 } }, choice: { kind: 'hidden', closesAt: NOW } },
    { name: 'closed: the stored choice, votes or not', last: { votingClosesAt: NOW, votingClosedAt: NOW, votes: { a: 250 } }, stored: atEnd, choice: { kind: 'checkpoint', active: atEnd } },
    { name: 'running: the stored choice of the training before', last: { status: 'running', votes: { a: 250 } }, stored: before, choice: { kind: 'checkpoint', active: before } },
    { name: 'an old record without a window: the stored choice', last: { votes: { a: 250 } }, stored: atEnd, choice: { kind: 'checkpoint', active: atEnd } },
  ])('$name', ({ last, stored, choice }) => {
    expect(drawingChoice(last ? training(last) : undefined, stored)).toEqual(choice);
  });
});

describe('the vote lines of the end message', () => {
  const at = Math.round(NOW / 1000);
  it.each<{ name: string; record: Partial<TrainingRecord>; lines: string[] }>([
    { name: 'no window: none', record: {}, lines: [] },
    {
      name: 'open: until when, and the leader /kmplz draws with',
      record: { votingClosesAt: NOW, votes: { a: 250, b: 250, c: 750 } },
      lines: [
        `🗳️ Voting stays open until <t:${at}:f> (<t:${at}:R>), or until a trainer closes it with the button below; then the result is announced here.`,
        '🗳️ Leading: `/kmplz` now draws with **step 250**: step 250 wins with 2 votes. Until voting closes it draws with whichever checkpoint leads.',
      ],
    },
    {
      name: 'open blind: only letters',
      record: { votingClosesAt: NOW, blind: BLIND, votes: { a: 250, b: 500 } },
      lines: [expect.stringContaining('Voting stays open') as unknown as string, '🗳️ Leading: **checkpoint A** and **checkpoint B** with 1 vote. When voting closes the steps are revealed and `/kmplz` switches to the winner.'],
    },
    { name: 'open blind, no votes', record: { votingClosesAt: NOW, blind: BLIND, locale: 'ru' }, lines: [expect.stringContaining('Голосование открыто') as unknown as string, expect.stringMatching(/^🗳️ Голосов пока нет/) as unknown as string] },
    { name: 'closed', record: { votingClosesAt: NOW + HOUR, votingClosedAt: NOW }, lines: [`🗳️ Voting closed <t:${at}:R>: the result is in this thread.`] },
  ])('$name', ({ record, lines }) => {
    expect(liveLines(training(record))).toEqual(lines);
  });

  it('rewrites them in place and leaves the other lines; a message without them stays as it is', () => {
    const open = training({ votingClosesAt: NOW });
    const posted = ['🏁 **Training finished.**', ...liveLines(open), 'Cost: 1 min.'].join('\n');
    const closed = rewriteFinal(posted, { ...open, votingClosedAt: NOW });
    expect(closed.split('\n')).toEqual(['🏁 **Training finished.**', `🗳️ Voting closed <t:${at}:R>: the result is in this thread.`, 'Cost: 1 min.']);
    expect(rewriteFinal(closed, open)).toBe(posted);
    expect(rewriteFinal('🏁 **Training finished.** `/kmplz` now draws with **step 750**', open)).toBe('🏁 **Training finished.** `/kmplz` now draws with **step 750**');
  });

  it('the result names the winner, reveals a blind vote and gives the counts', () => {
    const record = training({ blind: BLIND, votes: { a: 750, b: 750, c: 500 } });
    expect(resultLines(record, { step: 750, votes: 2, rule: 'most-votes', explanation: '' })).toEqual([
      '🗳️ **Voting closed.** `/kmplz` now draws with **step 750**: step 750 wins with 2 votes.',
      'Revealed: **A** = step 500 · **B** = step 250 · **C** = step 750.',
      'Votes: step 250: 0 · step 500: 1 · step 750: 2.',
    ]);
  });
});
