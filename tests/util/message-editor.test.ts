import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MessageEditor } from '../../src/util/message-editor.js';

let sent: string[];
let edits: MessageEditor;
const edit = (text: string) => async () => void sent.push(text);
const settle = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
  sent = [];
  edits = new MessageEditor({ intervalMs: 1000, now: () => Date.now(), onError: () => undefined });
});
afterEach(() => vi.useRealTimers());

describe('MessageEditor', () => {
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

  it('a report right after a change goes at once, unless changes start the interval too (a training status message)', async () => {
    await edits.change('job', edit('drawing'));
    edits.report('job', edit('1/20'));
    await settle();
    expect(sent).toEqual(['drawing', '1/20']);

    sent = [];
    const status = new MessageEditor({ intervalMs: 1000, now: () => Date.now(), onError: () => undefined, changeStartsInterval: true });
    await status.change('status', edit('preview posted'));
    status.report('status', edit('step 300'));
    status.report('status', edit('step 310'));
    await settle();
    expect(sent).toEqual(['preview posted']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(sent).toEqual(['preview posted', 'step 310']);
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

  it('turns a burst of twenty reports into one now and one after the interval, the newest landing', async () => {
    for (let i = 1; i <= 20; i++) edits.report('tally', edit(`votes ${i}`));
    await vi.advanceTimersByTimeAsync(1000);
    expect(sent).toEqual(['votes 1', 'votes 20']);
  });

  it('never overlaps two edits of one message, and keeps messages apart', async () => {
    edits = new MessageEditor({ intervalMs: 0, now: () => Date.now(), onError: () => undefined });
    let inFlight = 0;
    let most = 0;
    const slow = (name: string) => async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      sent.push(name);
      inFlight--;
    };
    edits.report('a', slow('a1'));
    edits.report('a', slow('a2'));
    edits.report('b', slow('b1'));
    await vi.advanceTimersByTimeAsync(100);
    expect(sent.sort()).toEqual(['a1', 'a2', 'b1']);
    expect(most).toBe(2);
  });

  it('reports a failed edit with its key and still sends the next one', async () => {
    const errors: string[] = [];
    edits = new MessageEditor({ intervalMs: 10, now: () => Date.now(), onError: (error, key) => errors.push(`${key}: ${(error as Error).message}`) });
    edits.report('m', async () => {
      throw new Error('discord said no');
    });
    edits.report('m', edit('next'));
    await vi.advanceTimersByTimeAsync(50);
    expect(errors).toEqual(['m: discord said no']);
    expect(sent).toEqual(['next']);
  });

  it('sends nothing held once closed and takes no new reports, while a change still goes out', async () => {
    edits.report('m', edit('first'));
    edits.report('m', edit('held'));
    edits.close();
    edits.report('m', edit('after close'));
    await edits.change('m', edit('final'));
    await vi.advanceTimersByTimeAsync(5000);
    expect(sent).toEqual(['first', 'final']);
  });
});
