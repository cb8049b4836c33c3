import { describe, expect, it } from 'vitest';
import { FairQueue } from '../../src/queue/fair-queue.js';
import type { Job, JobOutcome } from '../../src/queue/job-queue.js';

type Pending = { resolve: (value: string) => void; reject: (error: unknown) => void; signal: AbortSignal };

/** A worker whose jobs finish only when the test says so. */
function controlledWorker() {
  const pending = new Map<string, Pending>();
  const started: Job<string>[] = [];
  let runningNow = 0;
  let mostAtOnce = 0;
  const worker = (job: Job<string>, signal: AbortSignal) =>
    new Promise<string>((resolve, reject) => {
      started.push(job);
      runningNow++;
      mostAtOnce = Math.max(mostAtOnce, runningNow);
      const done = () => {
        runningNow--;
        pending.delete(job.id);
      };
      pending.set(job.id, {
        resolve: (value) => {
          done();
          resolve(value);
        },
        reject: (error) => {
          done();
          reject(error);
        },
        signal,
      });
      signal.addEventListener('abort', () => pending.get(job.id)?.reject(signal.reason));
    });
  const get = (id: string) => {
    const entry = pending.get(id);
    if (!entry) throw new Error(`job ${id} is not running`);
    return entry;
  };
  return {
    worker,
    started,
    mostAtOnce: () => mostAtOnce,
    runningIds: () => [...pending.keys()],
    finish: (id: string) => get(id).resolve(`result of ${id}`),
    fail: (id: string, error: unknown) => get(id).reject(error),
    signalOf: (id: string) => get(id).signal,
  };
}

/** Lets promise callbacks and the queue's microtasks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function job(userId: string, index: number): Job<string> {
  return { id: `${userId}-${index}`, userId, data: `prompt ${index} of ${userId}` };
}

/** Finishes running jobs one at a time, in start order, until the queue is empty. */
async function runToEnd(control: ReturnType<typeof controlledWorker>): Promise<void> {
  await settle();
  for (let id = control.runningIds()[0]; id !== undefined; id = control.runningIds()[0]) {
    control.finish(id);
    await settle();
  }
}

function recordSettled(queue: FairQueue<string, string>) {
  const settled: Array<{ id: string; outcome: JobOutcome<string> }> = [];
  queue.onSettled((settledJob, outcome) => settled.push({ id: settledJob.id, outcome }));
  return settled;
}

const users = Array.from({ length: 10 }, (_, index) => `user${index}`);

describe('FairQueue fairness', () => {
  it.each([
    // One free slot: the first user's first job starts at once, then everybody else goes
    // before that user's second job.
    { concurrency: 1, usersInFirstTen: 10 },
    // With more slots, the first user's first jobs start while nobody else is waiting yet;
    // after that the newcomers still come first.
    { concurrency: 2, usersInFirstTen: 9 },
    { concurrency: 3, usersInFirstTen: 8 },
  ])('10 users × 5 requests sent user by user, $concurrency at once: the first 10 started cover $usersInFirstTen users', async ({ concurrency, usersInFirstTen }) => {
    const control = controlledWorker();
    const queue = new FairQueue({ worker: control.worker, concurrency, perUserCap: 5 });
    for (const userId of users) {
      for (let index = 0; index < 5; index++) expect(queue.enqueue(job(userId, index)).ok).toBe(true);
    }
    await runToEnd(control);

    const startedUsers = control.started.map((startedJob) => startedJob.userId);
    expect(startedUsers).toHaveLength(50);
    expect(new Set(startedUsers.slice(0, 10)).size).toBe(usersInFirstTen);
  });

  it('with one slot, 10 users × 5 requests start in strict rotation', async () => {
    const control = controlledWorker();
    const queue = new FairQueue({ worker: control.worker, concurrency: 1, perUserCap: 5 });
    for (const userId of users) for (let index = 0; index < 5; index++) queue.enqueue(job(userId, index));
    await runToEnd(control);
    expect(control.started.map((startedJob) => startedJob.id)).toEqual(
      [0, 1, 2, 3, 4].flatMap((index) => users.map((userId) => `${userId}-${index}`)),
    );
  });

  it.each([
    { name: 'users take turns in the order they arrived', arrivals: ['a', 'a', 'a', 'b', 'b', 'c'], expected: ['a', 'b', 'c', 'a', 'b', 'a'] },
    { name: 'a late newcomer goes before second requests', arrivals: ['a', 'a', 'b', 'b', 'c'], expected: ['a', 'b', 'c', 'a', 'b'] },
    { name: 'one user alone is served in order', arrivals: ['a', 'a', 'a'], expected: ['a', 'a', 'a'] },
  ])('$name', async ({ arrivals, expected }) => {
    const control = controlledWorker();
    const queue = new FairQueue({ worker: control.worker, concurrency: 1, perUserCap: 10 });
    queue.enqueue(job('blocker', 0));
    arrivals.forEach((userId, index) => queue.enqueue(job(userId, index)));
    await runToEnd(control);
    expect(control.started.slice(1).map((startedJob) => startedJob.userId)).toEqual(expected);
  });
});

describe('FairQueue caps', () => {
  it.each([1, 2, 4])('never runs more than %i jobs at once', async (concurrency) => {
    const control = controlledWorker();
    const queue = new FairQueue({ worker: control.worker, concurrency, perUserCap: 3 });
    for (const userId of users) for (let index = 0; index < 3; index++) queue.enqueue(job(userId, index));
    await settle();
    expect(queue.stats()).toEqual({ running: concurrency, waiting: 30 - concurrency, waitingUsers: expect.any(Number) });
    await runToEnd(control);
    expect(control.mostAtOnce()).toBe(concurrency);
    expect(control.started).toHaveLength(30);
  });

  it.each([
    { cap: 1, accepted: 1 },
    { cap: 3, accepted: 3 },
  ])('a user with $cap jobs waiting or running is refused with the cap', async ({ cap, accepted }) => {
    const control = controlledWorker();
    const queue = new FairQueue({ worker: control.worker, concurrency: 1, perUserCap: cap });
    const results = Array.from({ length: cap + 2 }, (_, index) => queue.enqueue(job('greedy', index)));
    expect(results.filter((result) => result.ok)).toHaveLength(accepted);
    expect(results.at(-1)).toEqual({ ok: false, reason: 'user-cap', cap });
    // Other users are not affected by one user's cap.
    expect(queue.enqueue(job('other', 0)).ok).toBe(true);

    // Finishing a job frees a place for its user.
    await settle();
    control.finish('greedy-0');
    await settle();
    expect(queue.enqueue(job('greedy', 99)).ok).toBe(true);
  });

  it('refuses a job id already queued or running', () => {
    const control = controlledWorker();
    const queue = new FairQueue({ worker: control.worker, concurrency: 1, perUserCap: 5 });
    queue.enqueue(job('a', 0));
    queue.enqueue(job('a', 1));
    expect(queue.enqueue(job('a', 0))).toEqual({ ok: false, reason: 'duplicate-id' });
    expect(queue.enqueue({ id: 'a-1', userId: 'b', data: 'another prompt' })).toEqual({ ok: false, reason: 'duplicate-id' });
  });
});

describe('FairQueue positions', () => {
  it.each([
    {
      name: 'newcomers before a served user',
      // `a` has been served (a-0 runs), so b and c, never served, come first.
      arrivals: ['a', 'a', 'a', 'b', 'c'],
      positions: { 'a-0': undefined, 'b-3': 1, 'c-4': 2, 'a-1': 3, 'a-2': 4 },
    },
    {
      name: 'rounds across users behind a running job',
      arrivals: ['x', 'a', 'a', 'b', 'b', 'c'],
      positions: { 'x-0': undefined, 'a-1': 1, 'b-3': 2, 'c-5': 3, 'a-2': 4, 'b-4': 5 },
    },
  ])('$name: positions match the order jobs then start in', async ({ arrivals, positions }) => {
    const control = controlledWorker();
    const queue = new FairQueue({ worker: control.worker, concurrency: 1, perUserCap: 10 });
    const enqueued = arrivals.map((userId, index) => queue.enqueue(job(userId, index)));
    expect(enqueued[0]).toEqual({ ok: true, jobId: `${arrivals[0]}-0`, state: 'running' });

    for (const [jobId, position] of Object.entries(positions)) expect(queue.position(jobId), jobId).toBe(position);

    await runToEnd(control);
    const waitingInPositionOrder = Object.entries(positions)
      .filter(([, position]) => position !== undefined)
      .sort(([, a], [, b]) => (a ?? 0) - (b ?? 0))
      .map(([jobId]) => jobId);
    expect(control.started.slice(1).map((startedJob) => startedJob.id)).toEqual(waitingInPositionOrder);
  });

  it('returns the position at enqueue time in the result', () => {
    const control = controlledWorker();
    const queue = new FairQueue({ worker: control.worker, concurrency: 1, perUserCap: 10 });
    queue.enqueue(job('a', 0));
    expect(queue.enqueue(job('a', 1))).toEqual({ ok: true, jobId: 'a-1', state: 'waiting', position: 1 });
    expect(queue.enqueue(job('b', 2))).toEqual({ ok: true, jobId: 'b-2', state: 'waiting', position: 1 });
    expect(queue.position('a-1')).toBe(2);
  });

  it.each([
    {
      name: 'a newcomer moves second requests back',
      act: (queue: FairQueue<string, string>) => queue.enqueue(job('c', 9)),
      changes: [['a-2', 4]],
    },
    {
      name: 'a cancel moves the jobs behind it up',
      // a-2 is now a's first waiting job, and a's turn comes before b's.
      act: (queue: FairQueue<string, string>) => queue.cancel('a-1'),
      changes: [['a-2', 1]],
    },
    {
      name: 'a finished job moves everybody up',
      act: (_queue: FairQueue<string, string>, control: ReturnType<typeof controlledWorker>) => control.finish('x-0'),
      changes: [['b-3', 1], ['a-2', 2]],
    },
  ])('$name, and listeners hear of each change', async ({ act, changes }) => {
    const control = controlledWorker();
    const queue = new FairQueue({ worker: control.worker, concurrency: 1, perUserCap: 10 });
    // x-0 runs; waiting: a-1 (1), b-3 (2), a-2 (3)
    queue.enqueue(job('x', 0));
    queue.enqueue(job('a', 1));
    queue.enqueue(job('a', 2));
    queue.enqueue(job('b', 3));
    expect([queue.position('a-1'), queue.position('b-3'), queue.position('a-2')]).toEqual([1, 2, 3]);
    await settle();

    const heard: Array<[string, number]> = [];
    queue.onPositionChange((jobId, position) => heard.push([jobId, position]));
    act(queue, control);
    await settle();
    expect(heard).toEqual(changes);
  });
});

describe('FairQueue cancel', () => {
  it.each([
    { name: 'a waiting job is removed', target: 'a-1', answer: 'removed', startedAfter: ['a-0', 'b-2'] },
    { name: 'a running job is aborted', target: 'a-0', answer: 'aborting', startedAfter: ['a-0', 'b-2', 'a-1'] },
    { name: 'an unknown job is not found', target: 'nope', answer: 'not-found', startedAfter: ['a-0', 'b-2', 'a-1'] },
  ])('$name', async ({ target, answer, startedAfter }) => {
    const control = controlledWorker();
    const queue = new FairQueue({ worker: control.worker, concurrency: 1, perUserCap: 5 });
    const settled = recordSettled(queue);
    queue.enqueue(job('a', 0));
    queue.enqueue(job('a', 1));
    queue.enqueue(job('b', 2));
    await settle();

    const runningSignal = control.signalOf('a-0');
    expect(queue.cancel(target)).toBe(answer);
    expect(runningSignal.aborted).toBe(answer === 'aborting');
    await runToEnd(control);

    expect(control.started.map((startedJob) => startedJob.id)).toEqual(startedAfter);
    const targetOutcome = settled.find((entry) => entry.id === target)?.outcome;
    if (answer === 'not-found') expect(targetOutcome).toBeUndefined();
    else expect(targetOutcome).toEqual({ status: 'canceled', by: 'user' });
  });

  it('reports success when the work finished before the abort reached it', async () => {
    const queue = new FairQueue<string, string>({ worker: async () => 'image.png', concurrency: 1, perUserCap: 5 });
    const settled = recordSettled(queue);
    queue.enqueue(job('a', 0));
    expect(queue.cancel('a-0')).toBe('aborting');
    await settle();
    expect(settled).toEqual([{ id: 'a-0', outcome: { status: 'succeeded', result: 'image.png' } }]);
  });
});

describe('FairQueue failures', () => {
  it.each([
    { name: 'rejects', worker: async (): Promise<string> => Promise.reject(new Error('NSFW content detected')) },
    {
      name: 'throws synchronously',
      worker: (): Promise<string> => {
        throw new Error('NSFW content detected');
      },
    },
  ])('a worker that $name fails its job and the queue goes on', async ({ worker }) => {
    let calls = 0;
    const queue = new FairQueue<string, string>({
      worker: (queuedJob, signal) => (++calls === 1 ? worker() : Promise.resolve(`ok ${queuedJob.id} ${signal.aborted}`)),
      concurrency: 1,
      perUserCap: 5,
    });
    const settled = recordSettled(queue);
    queue.enqueue(job('a', 0));
    queue.enqueue(job('b', 1));
    await settle();
    await settle();
    expect(settled).toEqual([
      { id: 'a-0', outcome: { status: 'failed', error: new Error('NSFW content detected') } },
      { id: 'b-1', outcome: { status: 'succeeded', result: 'ok b-1 false' } },
    ]);
    expect(queue.stats()).toEqual({ waiting: 0, running: 0, waitingUsers: 0 });
  });

  it('a listener that throws does not stop the queue', async () => {
    const listenerErrors: unknown[] = [];
    const queue = new FairQueue({ worker: async (queuedJob: Job<string>) => queuedJob.id, concurrency: 1, perUserCap: 5, onListenerError: (error) => listenerErrors.push(error) });
    queue.onStart(() => {
      throw new Error('Discord edit failed');
    });
    const settled = recordSettled(queue);
    queue.enqueue(job('a', 0));
    queue.enqueue(job('a', 1));
    await settle();
    await settle();
    expect(settled.map((entry) => entry.outcome.status)).toEqual(['succeeded', 'succeeded']);
    expect(listenerErrors).toEqual([new Error('Discord edit failed'), new Error('Discord edit failed')]);
  });
});

describe('FairQueue shutdown', () => {
  it.each([
    { name: 'running jobs finish in time', finishBeforeTimeout: true, abandoned: [] as string[], runningOutcome: { status: 'succeeded', result: 'result of a-0' } },
    { name: 'running jobs outlive the timeout', finishBeforeTimeout: false, abandoned: ['a-0'], runningOutcome: { status: 'canceled', by: 'shutdown' } },
  ])('close: $name', async ({ finishBeforeTimeout, abandoned, runningOutcome }) => {
    const control = controlledWorker();
    const queue = new FairQueue({ worker: control.worker, concurrency: 1, perUserCap: 5 });
    const settled = recordSettled(queue);
    queue.enqueue(job('a', 0));
    queue.enqueue(job('b', 1));
    await settle();

    let closed = false;
    const closing = queue.close({ timeoutMs: 100 }).then((report) => {
      closed = true;
      return report;
    });
    expect(queue.enqueue(job('c', 2))).toEqual({ ok: false, reason: 'closed' });
    await settle();
    expect(closed).toBe(false);
    expect(settled).toEqual([{ id: 'b-1', outcome: { status: 'canceled', by: 'shutdown' } }]);

    if (finishBeforeTimeout) control.finish('a-0');
    expect(await closing).toEqual({ abandoned });
    await settle();
    expect(settled.find((entry) => entry.id === 'a-0')?.outcome).toEqual(runningOutcome);
    expect(control.started.map((startedJob) => startedJob.id)).toEqual(['a-0']);
  });

  it.each([
    { name: 'everything finishes', finishAll: true, pending: [] as string[] },
    { name: 'the timeout runs out', finishAll: false, pending: ['b-1', 'a-0'] },
  ])('drain runs what is queued and refuses new jobs: $name', async ({ finishAll, pending }) => {
    const control = controlledWorker();
    const queue = new FairQueue({ worker: control.worker, concurrency: 1, perUserCap: 5 });
    queue.enqueue(job('a', 0));
    queue.enqueue(job('b', 1));
    const draining = queue.drain({ timeoutMs: 100 });
    expect(queue.enqueue(job('c', 2))).toEqual({ ok: false, reason: 'closed' });
    if (finishAll) await runToEnd(control);
    expect(await draining).toEqual({ pending });
    expect(control.started.map((startedJob) => startedJob.id)).toEqual(finishAll ? ['a-0', 'b-1'] : ['a-0']);
  });
});

describe('FairQueue options', () => {
  it.each([
    { concurrency: 0, perUserCap: 1 },
    { concurrency: 1.5, perUserCap: 1 },
    { concurrency: 1, perUserCap: 0 },
  ])('refuses concurrency $concurrency and per-user cap $perUserCap', ({ concurrency, perUserCap }) => {
    expect(() => new FairQueue({ worker: async () => 'x', concurrency, perUserCap })).toThrow(RangeError);
  });
});
