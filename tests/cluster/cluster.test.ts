import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { redisCluster, soloCluster, type Cluster, type ClusterSignal } from '../../src/cluster/cluster.js';
import { captureLogger } from '../support/log.js';
import { requireRedisOrSkip } from '../support/redis-server.js';

const redis = await requireRedisOrSkip();

const opened: Cluster[] = [];
afterEach(async () => {
  for (const cluster of opened.splice(0)) await cluster.close();
});

describe('soloCluster', () => {
  it('answers everything itself, is the only one alive, and hears its own signals', async () => {
    const solo = soloCluster('me');
    const heard: ClusterSignal[] = [];
    solo.onSignal((signal) => heard.push(signal));
    expect(await solo.claimInteraction('1')).toEqual({ acknowledged: false });
    expect([await solo.isAlive('me'), await solo.isAlive('earlier-run'), await solo.othersAlive()]).toEqual([true, false, false]);
    await solo.publish({ type: 'cancel-job', jobId: 'j' });
    expect(heard).toEqual([{ type: 'cancel-job', jobId: 'j' }]);
  });
});

describe.skipIf(!redis)('redisCluster: two processes on one Redis', () => {
  const prefix = `test-cluster-${randomBytes(4).toString('hex')}`;
  const join = async (takeoverAfterMs = 200) => {
    const cluster = await redisCluster({ url: redis!.url, log: captureLogger().log, prefix, takeoverAfterMs });
    opened.push(cluster);
    return cluster;
  };

  it('exactly one claims an interaction both received; the other stands by until it is handled', async () => {
    const [a, b] = [await join(), await join()];
    const answer = async (cluster: Cluster) => {
      const claim = await cluster.claimInteraction('100');
      if (claim) {
        await cluster.acknowledged('100');
        await cluster.handled('100');
      }
      return claim;
    };
    const claims = await Promise.all([answer(a), answer(b)]);
    expect(claims.filter(Boolean)).toEqual([{ acknowledged: false }]);
  });

  it('a claimer that dies before acknowledging is replaced once, by one process, which acknowledges itself', async () => {
    const [a, b, c] = [await join(), await join(), await join()];
    expect(await a.claimInteraction('201')).toEqual({ acknowledged: false });
    // Whoever takes over acknowledges and finishes, as the dispatcher does; the other must not
    // take the claim from it in between, even when it looks only after the takeover.
    const takeOver = async (cluster: Cluster) => {
      const claim = await cluster.claimInteraction('201');
      if (claim) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        await cluster.acknowledged('201');
        await cluster.handled('201');
      }
      return claim;
    };
    // c looks 100 ms after b: after b's takeover (at 200 ms), before b acknowledges (at 350 ms).
    const takeovers = await Promise.all([takeOver(b), new Promise((resolve) => setTimeout(resolve, 100)).then(() => takeOver(c))]);
    expect(takeovers.filter(Boolean)).toEqual([{ acknowledged: false }]);
  });

  it('after taking over a claim, the new claimer holds it and the one it replaced does not', async () => {
    const [a, b] = [await join(), await join()];
    expect(await a.claimInteraction('203')).toEqual({ acknowledged: false });
    expect(await a.holds('203')).toBe(true);
    // a dies before recording its acknowledgement (Discord may have it anyway): b takes over and
    // holds the claim, so a "already acknowledged" from Discord is b's to answer in that reply.
    await a.close();
    opened.splice(opened.indexOf(a), 1);
    expect(await b.claimInteraction('203')).toEqual({ acknowledged: false });
    expect(await b.holds('203')).toBe(true);
    await b.acknowledged('203');
    expect(await b.holds('203')).toBe(true);
    await b.handled('203');
    expect(await b.holds('203')).toBe(false);
  });

  it('a claimer that dies after acknowledging, before it was done, is replaced by one that edits its reply', async () => {
    const [a, b] = [await join(), await join()];
    expect(await a.claimInteraction('202')).toEqual({ acknowledged: false });
    await a.acknowledged('202');
    const standingBy = b.claimInteraction('202');
    // Alive and busy: b waits. Then a is gone (its heartbeat stops with it).
    await new Promise((resolve) => setTimeout(resolve, 500));
    await a.close();
    opened.splice(opened.indexOf(a), 1);
    expect(await standingBy).toEqual({ acknowledged: true });
  });

  it('knows who is alive: a closed process is not, and the others see one another', async () => {
    const [a, b] = [await join(), await join()];
    expect(await a.isAlive(b.bootId)).toBe(true);
    expect(await a.othersAlive()).toBe(true);
    await b.close();
    opened.splice(opened.indexOf(b), 1);
    expect(await a.isAlive(b.bootId)).toBe(false);
    expect(await a.isAlive('never-was')).toBe(false);
    expect(await a.othersAlive()).toBe(false);
  });

  it('a signal reaches every process, the sender included', async () => {
    const [a, b] = [await join(), await join()];
    const heard: string[] = [];
    a.onSignal((signal) => heard.push(`a:${signal.type}`));
    b.onSignal((signal) => heard.push(`b:${signal.type}`));
    await b.publish({ type: 'wake-training', key: 'g/t' });
    const deadline = Date.now() + 5000;
    while (heard.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(heard.sort()).toEqual(['a:wake-training', 'b:wake-training']);
  });
});
