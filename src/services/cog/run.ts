import type { Logger } from '../../log.js';
import { parseTrainingProgress } from '../../training/progress.js';
import { sleep } from '../../util/backoff.js';
import { ServiceError, type Progress } from '../types.js';
import type { CogPool } from './pool.js';
import { isTerminal, type CogPredictions } from './predictions.js';
import { newCogId, type CogPrediction, type CogServer } from './server.js';

/** What every Cog adapter shares: the servers' leases, the predictions' news, where webhooks go. */
export interface CogContext {
  pool: CogPool;
  predictions: CogPredictions;
  /** `…/webhooks/cog` on kmplz's HTTP_PORT, as the Cog servers reach it. */
  webhookUrl: string;
  log: Logger;
  /** How often a running prediction's server is checked for a restart (no webhook ever says so). */
  watchEveryMs?: number;
}

/** Every event: `logs` for the progress bar, `output` for the streaming trainer's checkpoints. */
export const WEBHOOK_EVENTS = ['start', 'output', 'logs', 'completed'];

/**
 * Runs one prediction on the first free server of `urls` and waits for its end: the server is
 * held (leased) from the PUT to the end; a 409 (someone else's job) or 503 (setting up) puts the
 * job back to waiting; an abort cancels it on the server; a server that restarted meanwhile fails it.
 */
export async function runOnCog(
  ctx: CogContext,
  urls: readonly string[],
  input: Record<string, unknown>,
  { signal, onProgress }: { signal?: AbortSignal; onProgress?: (progress: Progress) => void } = {},
): Promise<CogPrediction> {
  const id = newCogId();
  for (;;) {
    const lease = await ctx.pool.acquire(urls, id, signal).catch((error: unknown) => {
      throw signal?.aborted ? new ServiceError('canceled', 'canceled') : error;
    });
    try {
      const sentAt = Date.now();
      const put = await lease.server.put(id, { input, webhook: ctx.webhookUrl, webhook_events_filter: WEBHOOK_EVENTS }, signal);
      if (put.kind === 'busy' || put.kind === 'not-ready') {
        ctx.log.info({ url: lease.server.url, answer: put.kind }, 'the Cog server could not take the job now; waiting for a free one');
        await lease.release();
        await sleep(1000, signal);
        continue;
      }
      if (put.kind === 'invalid') throw new ServiceError('failed', `the Cog server at ${lease.server.url} refused the input: ${put.detail}`);
      await ctx.predictions.started(id, lease.server.url, put.prediction ?? { id, status: 'starting' });
      let lastStep = -1;
      try {
        const final = await ctx.predictions.waitTerminal(id, {
          signal,
          watchEveryMs: ctx.watchEveryMs,
          watch: watchServer(lease.server, sentAt),
          onUpdate: (p) => {
            const progress = parseTrainingProgress(p.logs ?? '');
            if (progress && progress.step !== lastStep) {
              lastStep = progress.step;
              onProgress?.(progress);
            }
          },
        });
        return final;
      } catch (error) {
        if (!signal?.aborted) throw error;
        // Stop the GPU for a result nobody will see, and hold the server until it has stopped.
        await lease.server.cancel(id).catch((e: unknown) => ctx.log.warn({ err: e }, 'cancel failed'));
        await ctx.predictions.waitTerminal(id, { signal: AbortSignal.timeout(30_000) }).catch(() => undefined);
        throw new ServiceError('canceled', 'canceled');
      }
    } finally {
      await lease.release();
    }
  }
}

/**
 * A check of the server running a prediction: Cog sends no webhook for a prediction its process
 * lost, so a server whose `setup()` began after the PUT has restarted and will never answer.
 * One unreachable for three checks in a row is given up too.
 */
export function watchServer(server: CogServer, sentAt: number): () => Promise<void> {
  let unreachable = 0;
  return async () => {
    const health = await server.healthCheck();
    if (!health) {
      if (++unreachable >= 3) throw new ServiceError('unavailable', `the Cog server at ${server.url} stopped answering while it ran this job`);
      return;
    }
    unreachable = 0;
    if (health.setupStartedAt !== undefined && health.setupStartedAt > sentAt) {
      throw new ServiceError('unavailable', `the Cog server at ${server.url} restarted while it ran this job, and lost it`);
    }
  };
}

/** A terminal prediction as a result, or the ServiceError it is. */
export function outcome(p: CogPrediction): CogPrediction {
  if (!isTerminal(p)) throw new ServiceError('failed', `the prediction is still ${p.status}`);
  const gpuSeconds = p.metrics?.predict_time ?? 0;
  if (p.status === 'failed') {
    const message = p.error ?? 'the prediction failed';
    throw new ServiceError(/nsfw/i.test(message) ? 'nsfw' : 'failed', message, gpuSeconds);
  }
  if (p.status === 'canceled') throw new ServiceError('canceled', 'the prediction was canceled', gpuSeconds);
  return p;
}

/** A Cog file output: a data URI (Cog's default) read in place, or an uploaded file's URL fetched. */
export async function readFileOutput(url: string, fetchImpl: typeof fetch): Promise<{ data: Buffer; contentType: string }> {
  const data = /^data:([^;,]*)(;base64)?,/.exec(url);
  if (data) {
    const payload = url.slice(data[0].length);
    return { data: data[2] ? Buffer.from(payload, 'base64') : Buffer.from(decodeURIComponent(payload)), contentType: data[1] || 'application/octet-stream' };
  }
  const response = await fetchImpl(url, { signal: AbortSignal.timeout(60_000) });
  if (!response.ok) throw new ServiceError('failed', `the output could not be downloaded (HTTP ${response.status})`);
  return { data: Buffer.from(await response.arrayBuffer()), contentType: response.headers.get('content-type') ?? 'application/octet-stream' };
}
