import { afterEach, describe, expect, it } from 'vitest';
import { JobLostError } from '../../src/queue/bull-queue.js';
import { FairQueue } from '../../src/queue/fair-queue.js';
import type { JobOutcome } from '../../src/queue/job-queue.js';
import { spentThisMonth } from '../../src/money/budget.js';
import type { JobRef } from '../../src/generation/repository.js';
import type { JobEnd } from '../../src/generation/runner.js';
import { ServiceError } from '../../src/services/types.js';
import { GUILD, picture, startHarness, until, type Harness } from './harness.js';

let h: Harness;
afterEach(() => h?.stop());

const statesOf = (jobId: string) => h.shown.filter((s) => s.jobId === jobId).map((s) => `${s.how}:${s.state.state}`);

describe('GenerationService without Discord or Replicate', () => {
  it('moves a job from queued through drawing to the answer, records it and forgets it once answered', async () => {
    h = await startHarness({}, { concurrency: 1 });
    await h.service.submit(h.job('a'));
    expect(await h.service.submit(h.job('b', { parameters: { seed: 7 } }))).toEqual({ state: 'accepted' });
    (await h.generator.call(0)).resolve(await picture('p-a'));
    (await h.generator.call(1)).resolve(await picture('p-b'));
    await until(async () => (await h.service.jobs.get(GUILD, 'b'))?.answered === true);
    expect(statesOf('b')).toEqual(['edit:queued', 'edit:drawing', 'finish:succeeded']);
    const answer = h.shown.find((s) => s.jobId === 'b' && s.how === 'finish')!.state;
    expect(answer).toMatchObject({ state: 'succeeded', reused: false, parameters: { seed: 7 }, triggerWord: h.config.TRIGGER_WORD });
    expect(answer.state === 'succeeded' && answer.files.map((f) => f.name)).toEqual(['kmplz-b.png']);
    expect(await h.service.jobs.get(GUILD, 'b')).toMatchObject({ status: 'succeeded', result: { predictionId: 'p-b', gpuSeconds: 3 } });
    expect(await h.service.jobs.unfinished()).toEqual([]);
    expect(h.events).toEqual([
      { name: 'generation.delivered', payload: { jobId: 'a', guildId: GUILD, kind: 'picture', gpuSeconds: 3 } },
      { name: 'generation.delivered', payload: { jobId: 'b', guildId: GUILD, kind: 'picture', gpuSeconds: 3 } },
    ]);
  });

  it('a job whose checkpoint its training no longer has fails with checkpoint-gone, drawing nothing', async () => {
    h = await startHarness();
    await h.service.submit(h.job('gone', { parameters: { checkpoint: { trainingId: 't1', step: 750 } } }));
    await until(() => h.events.some((e) => e.name === 'generation.ended'));
    expect(h.generator.calls).toHaveLength(0);
    const end = h.shown.find((s) => s.jobId === 'gone' && s.how === 'finish')!.state;
    expect(end).toMatchObject({ state: 'failed', failure: { code: 'refused', text: { key: 'error.checkpoint-gone' } } });
  });

  it('a progress report arriving after the answer does not overwrite it', async () => {
    h = await startHarness();
    await h.service.submit(h.job('late'));
    const call = await h.generator.call(0);
    call.options.onProgress?.({ step: 5, total: 20 });
    await until(() => statesOf('late').length === 2);
    call.resolve(await picture('p-late'));
    await until(async () => (await h.service.jobs.get(GUILD, 'late'))?.answered === true);
    // The prediction's last `logs` webhook can land after its `completed` one.
    call.options.onProgress?.({ step: 19, total: 20 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(statesOf('late')).toEqual(['edit:drawing', 'edit:drawing', 'finish:succeeded']);
  });

  it('an identical request with a chosen seed gets the earlier picture at once, without paying or queueing', async () => {
    h = await startHarness();
    await h.service.submit(h.job('first'));
    (await h.generator.call(0)).resolve(await picture('p-first', 12));
    await until(async () => (await h.service.jobs.get(GUILD, 'first'))?.answered === true);
    const spent = await spentThisMonth(h.store, h.clock, GUILD);
    expect(spent.gpuSeconds).toBe(12);

    const again = await h.service.submit(h.job('second', { notes: ['✂️ cut'] }));

    expect(again).toMatchObject({ state: 'answered', reply: { state: 'succeeded', jobId: 'second', reused: true, notes: ['✂️ cut'] } });
    expect(again.state === 'answered' && again.reply.state === 'succeeded' && again.reply.files.map((f) => f.name)).toEqual(['kmplz-second.png']);
    expect(h.generator.calls).toHaveLength(1);
    expect(await spentThisMonth(h.store, h.clock, GUILD)).toEqual(spent);
    const first = await h.service.jobs.get(GUILD, 'first');
    expect(await h.service.jobs.get(GUILD, 'second')).toMatchObject({ status: 'succeeded', result: first!.result });
    expect(await h.service.jobs.unfinished()).toEqual([]);
    expect(statesOf('second')).toEqual([]);
    // A random seed is never reused: that request is drawn afresh.
    expect(await h.service.submit(h.job('third', { parameters: { seedChosen: false } }))).toEqual({ state: 'accepted' });
  });

  it('the reused picture is given even when the budget could not pay for a new one', async () => {
    h = await startHarness({ BUDGET_USD: '0.5' });
    await h.service.submit(h.job('paid'));
    (await h.generator.call(0)).resolve(await picture('p-paid', 49));
    await until(async () => (await h.service.jobs.get(GUILD, 'paid'))?.answered === true);
    await expect(h.service.submit(h.job('fresh', { parameters: { seed: 1 } }))).rejects.toMatchObject({ code: 'over-budget' });
    expect(await h.service.submit(h.job('same'))).toMatchObject({ state: 'answered' });
  });

  it('a failed prediction is billed for its time and told with its reason code', async () => {
    h = await startHarness();
    await h.service.submit(h.job('nsfw'));
    (await h.generator.call(0)).reject(new ServiceError('nsfw', 'NSFW content detected', 4));
    await until(() => statesOf('nsfw').includes('finish:failed'));
    expect(h.shown.at(-1)!.state).toEqual({ state: 'failed', locale: 'en', failure: { code: 'nsfw', detail: 'NSFW content detected' } });
    expect(await h.service.jobs.get(GUILD, 'nsfw')).toMatchObject({ status: 'failed', failure: 'NSFW content detected' });
    expect((await spentThisMonth(h.store, h.clock, GUILD)).gpuSeconds).toBe(4);
    expect(h.events).toEqual([{ name: 'generation.ended', payload: { jobId: 'nsfw', guildId: GUILD, status: 'failed', failure: 'NSFW content detected', told: true } }]);
  });

  it('an asker who cannot be told at all is reported as not told, and the job is not left to take up again', async () => {
    h = await startHarness({}, { replies: { edit: async () => false, finish: async () => Promise.reject(new Error('channel gone')) } });
    await h.service.submit(h.job('untold'));
    (await h.generator.call(0)).resolve(await picture('p-untold'));
    await until(() => h.events.length > 0);
    expect(h.events).toEqual([{ name: 'generation.ended', payload: { jobId: 'untold', guildId: GUILD, status: 'failed', failure: 'channel gone', told: false } }]);
    expect(await h.service.jobs.unfinished()).toEqual([]);
  });

  it('cancelling a waiting job takes it out of the queue and says nothing was spent', async () => {
    h = await startHarness({}, { concurrency: 1 });
    await h.service.submit(h.job('running'));
    await h.service.submit(h.job('waiting', { parameters: { seed: 9 } }));
    await expect(h.service.cancel(GUILD, 'waiting', 'someone-else')).rejects.toMatchObject({ code: 'not-your-job' });
    expect(await h.service.cancel(GUILD, 'waiting', 'u1')).toBe('canceled');
    expect(statesOf('waiting')).toEqual(['edit:queued', 'finish:canceled']);
    expect(h.shown.at(-1)!.state).toMatchObject({ nothingSpent: true });
    expect(await h.service.jobs.get(GUILD, 'waiting')).toMatchObject({ status: 'canceled' });
    expect((await h.service.jobs.unfinished()).map((r) => r.jobId)).toEqual(['running']);
    expect(h.generator.calls).toHaveLength(1);
  });
});

describe('jobs a stopped process left unfinished', () => {
  it('are taken up again, following the prediction already paid for instead of making another; answered ones leave the list', async () => {
    h = await startHarness();
    const followed = { ...h.job('followed'), status: 'running' as const, predictions: ['p-old'] };
    const unrecorded = { ...h.job('unrecorded', { parameters: { seed: 8 } }), status: 'running' as const, createdAt: h.clock.ms - 60_000 };
    const answered = { ...h.job('answered', { parameters: { seed: 9 } }), status: 'succeeded' as const };
    for (const job of [followed, unrecorded, answered]) {
      await h.service.jobs.save(job);
      await h.service.jobs.addUnfinished(job);
    }
    expect(await h.service.resumeUnfinished()).toBe(2);
    expect((await h.service.jobs.unfinished()).map((r) => r.jobId)).toEqual(['followed', 'unrecorded']);
    const [first, second] = [await h.generator.call(0), await h.generator.call(1)];
    expect(first.options).toMatchObject({ follow: 'p-old', recoverSince: undefined });
    // Its process may have died between creating the prediction and recording its id.
    expect(second.options).toMatchObject({ follow: undefined, recoverSince: unrecorded.createdAt });
    first.resolve(await picture('p-old'));
    second.resolve(await picture('p-new'));
    await until(async () => (await h.service.jobs.get(GUILD, 'unrecorded'))?.answered === true && (await h.service.jobs.get(GUILD, 'followed'))?.answered === true);
    expect(await h.service.jobs.get(GUILD, 'followed')).toMatchObject({ status: 'succeeded', takenOver: true, answered: true, result: { predictionId: 'p-old' } });
    expect(h.generator.calls).toHaveLength(2);
    expect(statesOf('answered')).toEqual([]);
  });
});

describe('a job lost with every process that took it', () => {
  it('is told to its asker once, however often the queue reports it lost', async () => {
    let settled!: (job: { id: string; userId: string; data: JobRef }, outcome: JobOutcome<JobEnd>) => void;
    h = await startHarness({}, {
      // The in-process queue never loses a job: this one reports a loss as BullMQ does.
      queue: (worker, limits) => {
        const queue = new FairQueue<JobRef, JobEnd>({ worker, ...limits });
        const listeners: ((...args: Parameters<typeof settled>) => void)[] = [];
        settled = (job, outcome) => listeners.forEach((listener) => listener(job, outcome));
        return {
          enqueue: (job) => queue.enqueue(job),
          cancel: (jobId) => queue.cancel(jobId),
          position: (jobId) => queue.position(jobId),
          stats: () => queue.stats(),
          onPositionChange: (listener) => queue.onPositionChange(listener),
          onStart: (listener) => queue.onStart(listener),
          onSettled: (listener) => (listeners.push(listener), () => undefined),
          close: (options) => queue.close(options),
        };
      },
    });
    const stored = { ...h.job('lost'), status: 'running' as const };
    await h.service.jobs.save(stored);
    await h.service.jobs.addUnfinished(stored);
    const ref = { id: 'lost', userId: 'u1', data: { guildId: GUILD, jobId: 'lost' } };
    settled(ref, { status: 'failed', error: new JobLostError('lost') });
    await until(() => statesOf('lost').length === 1);
    settled(ref, { status: 'failed', error: new JobLostError('lost') });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.shown).toEqual([{ how: 'finish', jobId: 'lost', state: { state: 'failed', locale: 'en', failure: { code: 'lost' } } }]);
    expect(await h.service.jobs.get(GUILD, 'lost')).toMatchObject({ status: 'failed', failure: 'lost' });
    expect(h.events.map((e) => e.name)).toEqual(['generation.ended']);
    expect(await h.service.jobs.unfinished()).toEqual([]);
  });
});
