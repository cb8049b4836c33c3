import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { redisCluster, type Cluster } from '../../src/cluster/cluster.js';
import { BullJobQueue, JobLostError } from '../../src/queue/bull-queue.js';
import type { Job, JobOutcome } from '../../src/queue/job-queue.js';
import { captureLogger } from '../support/log.js';
import { requireRedisOrSkip } from '../support/redis-server.js';

const redis = await requireRedisOrSkip();

/** One "process": a queue instance with its own connections and cluster membership. */
interface Process {
  queue: BullJobQueue<string, string>;
  cluster: Cluster;
  started: string[];
  settled: [string, JobOutcome<string>['status']][];
}

const opened: Process[] = [];
afterEach(async () => {
  for (const p of opened.splice(0)) {
    await p.queue.close({ timeoutMs: 100 });
    await p.cluster.close();
  }
});

/** Jobs wait for `release(id)` (or their abort), so the test controls when each one ends. */
function gates() {
  const waiting = new Map<string, () => void>();
  return {
    worker: (job: Job<string>, signal: AbortSignal) =>
      new Promise<string>((resolve, reject) => {
        waiting.set(job.id, () => resolve(`drew ${job.data}`));
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      }),
    release: (id: string) => waiting.get(id)?.(),
    has: (id: string) => waiting.has(id),
  };
}

async function startProcess(name: string, worker: (job: Job<string>, signal: AbortSignal) => Promise<string>, options: { concurrency?: number; perUserCap?: number } = {}): Promise<Process> {
  const { log } = captureLogger();
  const cluster = await redisCluster({ url: redis!.url, log, prefix: `test-${name}` });
  const queue = new BullJobQueue<string, string>({
    name,
    url: redis!.url,
    prefix: `test-${name}`,
    worker,
    concurrency: options.concurrency ?? 1,
    perUserCap: options.perUserCap ?? 3,
    cluster,
    log,
    lockDurationMs: 1000,
    stalledIntervalMs: 500,
  });
  await queue.open();
  const process: Process = { queue, cluster, started: [], settled: [] };
  queue.onStart((job) => process.started.push(job.id));
  queue.onSettled((job, outcome) => process.settled.push([job.id, outcome.status]));
  opened.push(process);
  return process;
}

const until = async (check: () => boolean, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};
const uniqueName = () => `q${randomBytes(4).toString('hex')}`;

describe.skipIf(!redis)('BullJobQueue: one queue shared by several processes', () => {
  it('serves users in turn whichever process took their requests: a newcomer goes before a second request', async () => {
    const name = uniqueName();
    const g = gates();
    const one = await startProcess(name, g.worker);
    const two = await startProcess(name, g.worker);
    expect(await one.queue.enqueue({ id: 'a1', userId: 'alice', data: '1' })).toMatchObject({ ok: true });
    await until(() => g.has('a1'));
    expect(await one.queue.enqueue({ id: 'a2', userId: 'alice', data: '2' })).toMatchObject({ ok: true, state: 'waiting', position: 1 });
    expect(await one.queue.enqueue({ id: 'a3', userId: 'alice', data: '3' })).toMatchObject({ ok: true, state: 'waiting', position: 2 });
    // Bob asks through the other process: his first request goes before Alice's second.
    expect(await two.queue.enqueue({ id: 'b1', userId: 'bob', data: '1' })).toMatchObject({ ok: true, state: 'waiting', position: 1 });
    expect(await one.queue.position('a2')).toBe(2);
    const order: string[] = ['a1'];
    for (const next of ['b1', 'a2', 'a3']) {
      g.release(order.at(-1)!);
      await until(() => g.has(next));
      order.push(next);
    }
    g.release('a3');
    expect(order).toEqual(['a1', 'b1', 'a2', 'a3']);
    await until(() => one.settled.length + two.settled.length === 4);
  });

  it('caps one user’s jobs across processes, and frees the slot once a job ends', async () => {
    const name = uniqueName();
    const g = gates();
    const one = await startProcess(name, g.worker, { perUserCap: 2 });
    const two = await startProcess(name, g.worker, { perUserCap: 2 });
    expect(await one.queue.enqueue({ id: 'c1', userId: 'carol', data: '1' })).toMatchObject({ ok: true });
    expect(await two.queue.enqueue({ id: 'c2', userId: 'carol', data: '2' })).toMatchObject({ ok: true });
    expect(await two.queue.enqueue({ id: 'c3', userId: 'carol', data: '3' })).toEqual({ ok: false, reason: 'user-cap', cap: 2 });
    expect(await one.queue.enqueue({ id: 'c1', userId: 'carol', data: 'again' })).toEqual({ ok: false, reason: 'duplicate-id' });
    await until(() => g.has('c1'));
    g.release('c1');
    await until(() => one.settled.some(([id]) => id === 'c1') || two.settled.some(([id]) => id === 'c1'));
    expect(await two.queue.enqueue({ id: 'c3', userId: 'carol', data: '3' })).toMatchObject({ ok: true });
  });

  it('holds the cap when one user’s requests arrive at the same moment through two processes', async () => {
    const name = uniqueName();
    const g = gates();
    const one = await startProcess(name, g.worker, { perUserCap: 3 });
    const two = await startProcess(name, g.worker, { perUserCap: 3 });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? one : two).queue.enqueue({ id: `r${i}`, userId: 'rush', data: String(i) })));
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    expect(results.filter((r) => !r.ok && r.reason === 'user-cap')).toHaveLength(7);
  });

  it('frees a slot whose job is gone (its process died before giving it back), but not one whose job is still queued', async () => {
    const name = uniqueName();
    const g = gates();
    const one = await startProcess(name, g.worker, { perUserCap: 2 });
    const redisClient = new Redis(redis!.url);
    const slots = `test-${name}:${name}:user:sam`;
    // An old slot of a job that no longer exists, and an old slot of a job that waits.
    await one.queue.enqueue({ id: 's1', userId: 'sam', data: '1' });
    const old = String(Date.now() - 60_000);
    await redisClient.zadd(slots, old, 'ghost', old, 's1');
    expect(await one.queue.enqueue({ id: 's2', userId: 'sam', data: '2' })).toMatchObject({ ok: true });
    expect(await one.queue.enqueue({ id: 's3', userId: 'sam', data: '3' })).toEqual({ ok: false, reason: 'user-cap', cap: 2 });
    expect((await redisClient.zrange(slots, '0', '-1')).sort()).toEqual(['s1', 's2']);
    await redisClient.quit();
  });

  it('cancels a waiting job from any process, and a running job in the process that runs it', async () => {
    const name = uniqueName();
    const g = gates();
    const one = await startProcess(name, g.worker);
    const two = await startProcess(name, g.worker);
    await one.queue.enqueue({ id: 'd1', userId: 'dave', data: '1' });
    await until(() => g.has('d1'));
    await one.queue.enqueue({ id: 'e1', userId: 'erin', data: '1' });
    expect(await two.queue.cancel('e1')).toBe('removed');
    const runner = one.started.includes('d1') ? one : two;
    const other = runner === one ? two : one;
    expect(await other.queue.cancel('d1')).toBe('aborting');
    await until(() => runner.settled.some(([id]) => id === 'd1'));
    expect(runner.settled).toContainEqual(['d1', 'canceled']);
    expect(await one.queue.cancel('d1')).toBe('not-found');
    expect(await one.queue.stats()).toEqual({ waiting: 0, running: 0, waitingUsers: 0 });
  });

  it('a process that stops mid-job leaves it to another, which runs it again (stalled-job recovery)', async () => {
    const name = uniqueName();
    const g = gates();
    const one = await startProcess(name, g.worker);
    await one.queue.enqueue({ id: 'f1', userId: 'frank', data: '1' });
    await until(() => g.has('f1'));
    // Stopping with no time to finish: the job is left locked, as by a process that died.
    expect(await one.queue.close({ timeoutMs: 10 })).toEqual({ abandoned: ['f1'] });
    opened.splice(opened.indexOf(one), 1);
    await one.cluster.close();
    const takenOver: string[] = [];
    const two = await startProcess(name, async (job) => {
      takenOver.push(job.id);
      return 'drawn';
    });
    await until(() => takenOver.includes('f1'));
    await until(() => two.settled.some(([id, status]) => id === 'f1' && status === 'succeeded'));
    expect(one.settled).toEqual([]);
  });

  it('a job whose every taker dies is given up on after three takeovers, and the last process says it failed', async () => {
    const name = uniqueName();
    const g = gates();
    let first = true;
    // Each "process" takes the job and dies with it (abandons it, its lock left to expire).
    for (let takers = 0; takers < 4; takers++) {
      const p = await startProcess(name, g.worker);
      if (first) await p.queue.enqueue({ id: 'l1', userId: 'lena', data: '1' });
      first = false;
      await until(() => p.started.includes('l1'));
      expect(await p.queue.close({ timeoutMs: 10 })).toEqual({ abandoned: ['l1'] });
      opened.splice(opened.indexOf(p), 1);
      await p.cluster.close();
    }
    const failures: unknown[] = [];
    const last = await startProcess(name, g.worker);
    last.queue.onSettled((_job, outcome) => {
      if (outcome.status === 'failed') failures.push(outcome.error);
    });
    await until(() => last.settled.some(([id, status]) => id === 'l1' && status === 'failed'));
    expect(last.started).toEqual([]);
    expect(failures[0]).toBeInstanceOf(JobLostError);
  }, 30_000);
});
