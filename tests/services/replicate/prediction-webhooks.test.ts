import { describe, expect, it } from 'vitest';
import type { ReplicateRun } from '../../../src/services/replicate/client.js';
import { compactRun, PredictionDeliveries } from '../../../src/services/replicate/prediction-webhooks.js';

const run = (status: ReplicateRun['status'], logs = ''): ReplicateRun => ({ id: 'p1', status, logs });

describe('PredictionDeliveries', () => {
  it('keeps a delivery that comes before its follower asks (a `completed` faster than the create answer)', () => {
    const deliveries = new PredictionDeliveries();
    deliveries.deliver(run('succeeded'));
    expect(deliveries.newer('p1', run('starting'))?.status).toBe('succeeded');
  });

  it('never lets a late or retried delivery take a prediction back', () => {
    const deliveries = new PredictionDeliveries();
    deliveries.deliver(run('processing', 'step 1\nstep 2\n'));
    deliveries.deliver(run('processing', 'step 1\n'));
    deliveries.deliver(run('starting'));
    expect(deliveries.newer('p1', run('starting'))?.logs).toBe('step 1\nstep 2\n');
    deliveries.deliver(run('succeeded'));
    deliveries.deliver(run('processing', 'step 1\nstep 2\nstep 3\n'));
    expect(deliveries.newer('p1', run('processing'))?.status).toBe('succeeded');
    expect(deliveries.newer('p1', run('succeeded'))).toBeUndefined();
  });

  it('wakes a waiting follower at the next delivery, not at its timeout', async () => {
    const deliveries = new PredictionDeliveries();
    const started = Date.now();
    const woken = deliveries.wait('p1', 10_000);
    setTimeout(() => deliveries.deliver(run('processing', 'x')), 20);
    await woken;
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('forgets predictions not heard of for its keeping time', async () => {
    const deliveries = new PredictionDeliveries(10);
    deliveries.deliver(run('processing', 'x'));
    await new Promise((resolve) => setTimeout(resolve, 30));
    deliveries.deliver({ id: 'p2', status: 'starting', logs: '' });
    expect(deliveries.newer('p1', run('starting'))).toBeUndefined();
  });

  it('compacts a webhook body to what a follower needs, and refuses what is not a prediction', () => {
    const body = { id: 'p1', status: 'succeeded', output: ['https://x/out.png'], error: null, logs: 'done', metrics: { predict_time: 2 }, input: { prompt: 'secret' } };
    expect(compactRun(body)).toEqual({ id: 'p1', status: 'succeeded', output: ['https://x/out.png'], error: null, logs: 'done', metrics: { predict_time: 2 } });
    expect(compactRun({ hello: 1 })).toBeUndefined();
    expect(compactRun('nope')).toBeUndefined();
  });
});
