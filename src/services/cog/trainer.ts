import { createHash } from 'node:crypto';
import { streamingPlan } from '../../training/plan.js';
import { parseTrainingProgress } from '../../training/progress.js';
import { streamingInput } from '../replicate/trainer.js';
import { ServiceError, type Trainer, type TrainingSnapshot } from '../types.js';
import type { CogFiles } from './files.js';
import type { CogLease } from './pool.js';
import { isTerminal, type CogRecord } from './predictions.js';
import { WEBHOOK_EVENTS, type CogContext } from './run.js';

/** coglet retries a `completed` webhook for about seven minutes (webhook.rs: 12 tries, 100 ms × 2^n). */
const COMPLETED_GRACE_MS = 8 * 60_000;

/**
 * kmplz's own streaming trainer (trainer/) on the class's GPU: one prediction per training whose
 * output grows by one checkpoint archive per `checkpointing_steps`, uploaded by Cog to kmplz
 * (`--upload-url`), so each checkpoint is a kmplz URL the generator can read. The run's id is
 * derived from the dataset and length, so a create whose answer was lost is the same PUT again
 * (idempotent in Cog while it runs) and `find` can ask for it. A training holds its server from
 * start to end; a second training waits (the follow loop retries `unavailable`) until it is free.
 */
export function createCogTrainer(ctx: CogContext, urls: readonly string[], files: CogFiles, completedGraceMs = COMPLETED_GRACE_MS): Trainer {
  const leases = new Map<string, CogLease>();
  /** When a run was first found neither running nor finished (its `completed` may still be on its way). */
  const missingSince = new Map<string, number>();

  const release = async (id: string) => {
    await leases.get(id)?.release();
    leases.delete(id);
    missingSince.delete(id);
  };

  const snapshot = async (record: CogRecord): Promise<TrainingSnapshot> => {
    const p = record.prediction;
    if (isTerminal(p)) await release(p.id);
    const steps = typeof record.meta?.steps === 'number' ? record.meta.steps : undefined;
    return {
      id: p.id,
      status: p.status,
      progress: p.logs ? parseTrainingProgress(p.logs, steps) : undefined,
      weights: Array.isArray(p.output) ? p.output.filter((item): item is string => typeof item === 'string').map((url) => ({ url })) : [],
      startedAt: record.sentAt,
      gpuSeconds: isTerminal(p) ? (p.metrics?.predict_time ?? 0) : undefined,
      error: p.error,
      datasetUrl: typeof record.meta?.datasetUrl === 'string' ? record.meta.datasetUrl : undefined,
      steps,
    };
  };

  const fail = async (record: CogRecord, error: string) => snapshot((await ctx.predictions.update({ id: record.prediction.id, status: 'failed', error })) ?? record);

  /** What the server says now about a run kmplz has no fresh news of. */
  const check = async (record: CogRecord): Promise<TrainingSnapshot> => {
    const id = record.prediction.id;
    const server = ctx.pool.server(record.url);
    const health = await server.healthCheck();
    if (!health) throw new ServiceError('unavailable', `the Cog server at ${record.url} could not be reached`);
    if (health.setupStartedAt !== undefined && health.setupStartedAt > record.sentAt) {
      return fail(record, `the Cog server at ${record.url} restarted during the training and lost it; the checkpoints saved before are kept`);
    }
    if (health.status === 'BUSY') {
      const running = await server.rejoin(id);
      if (running) {
        if (!leases.has(id)) {
          const lease = await ctx.pool.adopt(record.url, id);
          if (lease) leases.set(id, lease);
        }
        missingSince.delete(id);
        return snapshot((await ctx.predictions.update(running)) ?? record);
      }
    }
    const since = missingSince.get(id) ?? Date.now();
    missingSince.set(id, since);
    if (Date.now() - since > completedGraceMs) return fail(record, `the Cog server at ${record.url} no longer runs the training and never said how it ended`);
    return snapshot(record);
  };

  const get = async (id: string): Promise<TrainingSnapshot> => {
    const record = await ctx.predictions.get(id);
    if (!record) throw new ServiceError('failed', `kmplz has no record of the Cog training ${id}`);
    if (isTerminal(record.prediction)) return snapshot(record);
    // A run followed in this process (its lease held) gets its news by webhook; one taken up after
    // a restart, or gone quiet, is asked about.
    if (leases.has(id) && Date.now() - record.seenAt < (ctx.watchEveryMs ?? 15_000)) return snapshot(record);
    return check(record);
  };

  return {
    strategy: 'streaming',
    plan: streamingPlan,

    async uploadDataset(zip, name) {
      const file = await files.save(name, zip);
      return { fileId: file.id, url: file.url };
    },

    deleteDataset: (fileId) => files.delete(fileId),

    async start(input) {
      const id = runId(input.datasetUrl, input.run.steps);
      const known = await ctx.predictions.get(id);
      if (known) return get(id);
      const lease = await ctx.pool.acquire(urls, id, AbortSignal.timeout(2000)).catch(() => {
        throw new ServiceError('unavailable', 'every trainer GPU is busy with another training; waiting for one');
      });
      try {
        const put = await lease.server.put(id, { input: streamingInput(input), webhook: ctx.webhookUrl, webhook_events_filter: WEBHOOK_EVENTS });
        if (put.kind === 'busy' || put.kind === 'not-ready') throw new ServiceError('unavailable', `the trainer's Cog server at ${lease.server.url} is not free (${put.kind})`);
        if (put.kind === 'invalid') throw new ServiceError('failed', `the trainer's Cog server refused the input: ${put.detail}`);
        await ctx.predictions.started(id, lease.server.url, put.prediction ?? { id, status: 'starting' }, { datasetUrl: input.datasetUrl, steps: input.run.steps });
        leases.set(id, lease);
      } catch (error) {
        await lease.release();
        throw error;
      }
      return get(id);
    },

    get,

    async cancel(id) {
      const record = await ctx.predictions.get(id);
      if (!record) throw new ServiceError('failed', `kmplz has no record of the Cog training ${id}`);
      if (!isTerminal(record.prediction) && !(await ctx.pool.server(record.url).cancel(id))) {
        // The server had no such prediction: nothing is running to stop.
        return snapshot((await ctx.predictions.update({ id, status: 'canceled' })) ?? record);
      }
      return snapshot((await ctx.predictions.get(id)) ?? record);
    },

    async find({ datasetUrl, steps }) {
      const record = await ctx.predictions.get(runId(datasetUrl, steps));
      return record && snapshot(record);
    },

    // Cog webhooks come to their own route (src/http/cog-routes.ts), which updates the records `get` reads.
    fromWebhook: () => undefined,
  };
}

/** One id per training run: the dataset URL is unique to a training. */
export function runId(datasetUrl: string, steps: number): string {
  return createHash('sha256').update(`${datasetUrl}\n${steps}`).digest('hex').slice(0, 26);
}
