import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { BullTasks, LocalTasks, type TaskRunner } from '../../src/queue/tasks.js';
import { captureLogger } from '../support/log.js';
import { requireRedisOrSkip } from '../support/redis-server.js';

const redis = await requireRedisOrSkip();

const until = async (check: () => boolean, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

const open: TaskRunner[] = [];
afterEach(async () => {
  for (const runner of open.splice(0)) await runner.close(100);
});

/** The same contract for both runners, as keyv's adapters share one test suite. */
function contract(name: string, make: () => Promise<TaskRunner>) {
  describe(`${name}: the task runner contract`, () => {
    it('runs a task once: a second start while it runs starts nothing and says so', async () => {
      const runner = await make();
      const seen: string[] = [];
      let finish!: () => void;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      runner.register<{ word: string }>('echo', async ({ word }) => {
        seen.push(word);
        await finished;
      });
      expect(await runner.start('echo', 'one', { word: 'first' })).toBe(true);
      await until(() => seen.length === 1);
      expect(await runner.start('echo', 'one', { word: 'second' })).toBe(false);
      expect(await runner.start('echo', 'two', { word: 'other id' })).toBe(true);
      await until(() => seen.length === 2);
      finish();
      expect(seen.sort()).toEqual(['first', 'other id']);
    });

    it('a task may start again once it ended', async () => {
      const runner = await make();
      let runs = 0;
      runner.register('count', async () => {
        runs += 1;
      });
      await runner.start('count', 'x', {});
      await until(() => runs === 1);
      await until(() => false, 300).catch(() => undefined);
      expect(await runner.start('count', 'x', {})).toBe(true);
      await until(() => runs === 2);
    });

    it('close aborts the running handlers’ signals and waits for them', async () => {
      const runner = await make();
      let aborted = false;
      let started = false;
      runner.register('wait', async (_data, { signal }) => {
        started = true;
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        aborted = true;
      });
      await runner.start('wait', 'w', {});
      await until(() => started);
      await runner.close(5000);
      open.splice(open.indexOf(runner), 1);
      expect(aborted).toBe(true);
      expect(await runner.start('wait', 'w2', {})).toBe(false);
    });
  });
}

contract('LocalTasks', async () => {
  const runner = new LocalTasks(captureLogger().log);
  open.push(runner);
  return runner;
});

describe.skipIf(!redis)('BullTasks', () => {
  const prefix = `test-tasks-${randomBytes(4).toString('hex')}`;
  const make = async (lock = { lockDurationMs: 1000, stalledIntervalMs: 500 }) => {
    const runner = new BullTasks({ url: redis!.url, prefix, log: captureLogger().log, ...lock });
    await runner.open();
    open.push(runner);
    return runner;
  };
  contract('BullTasks', make);

  it('a process that stops gracefully hands its tasks to another at once, which is told it took over', async () => {
    const one = await make();
    const two = await make();
    const runs: { runner: string; takenOver: boolean }[] = [];
    const handler = (runner: string) => async (_data: unknown, run: { signal: AbortSignal; takenOver: boolean }) => {
      runs.push({ runner, takenOver: run.takenOver });
      await new Promise<void>((resolve) => run.signal.addEventListener('abort', () => resolve(), { once: true }));
    };
    one.register('follow', handler('one'));
    two.register('follow', handler('two'));
    // Only one process runs it, whichever got it first.
    await one.start('follow', 'training-1', {});
    await until(() => runs.length === 1);
    const first = runs[0]!.runner === 'one' ? one : two;
    await first.close(5000);
    open.splice(open.indexOf(first), 1);
    await until(() => runs.length === 2);
    expect(runs[1]).toEqual({ runner: first === one ? 'two' : 'one', takenOver: true });
  });
});
