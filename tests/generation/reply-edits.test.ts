import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ReplyEdits } from '../../src/generation/reply-edits.js';

let sent: string[];
let edits: ReplyEdits;
const edit = (text: string) => async () => void sent.push(text);
const settle = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
  sent = [];
  edits = new ReplyEdits({ intervalMs: 1000, now: () => Date.now(), onError: () => undefined });
});
afterEach(() => vi.useRealTimers());

describe('ReplyEdits', () => {
  it('sends the first report at once, holds the ones within the interval and sends only the newest when it ends', async () => {
    edits.report('job', edit('#5'));
    await settle();
    edits.report('job', edit('#4'));
    edits.report('job', edit('#3'));
    edits.report('job', edit('#2'));
    await settle();
    expect(sent).toEqual(['#5']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(sent).toEqual(['#5', '#2']);
    await vi.advanceTimersByTimeAsync(5000);
    expect(sent).toEqual(['#5', '#2']);
  });

  it('sends a change of state at once and drops the report held before it', async () => {
    edits.report('job', edit('#3'));
    edits.report('job', edit('#2'));
    await edits.change('job', edit('drawing'));
    await vi.advanceTimersByTimeAsync(5000);
    expect(sent).toEqual(['#3', 'drawing']);
  });

  it('keeps the order of the edits of one reply, each after the one on its way', async () => {
    let release!: () => void;
    edits.report('job', () => new Promise<void>((resolve) => (release = () => resolve(void sent.push('#2')))));
    const answer = edits.change('job', edit('answer'));
    await settle();
    expect(sent).toEqual([]);
    release();
    await answer;
    expect(sent).toEqual(['#2', 'answer']);
  });

  it('throttles each reply on its own, and sends nothing held for a forgotten one', async () => {
    edits.report('a', edit('a#2'));
    edits.report('b', edit('b#2'));
    edits.report('a', edit('a#1'));
    edits.forget('a');
    await vi.advanceTimersByTimeAsync(5000);
    expect(sent).toEqual(['a#2', 'b#2']);
  });
});
