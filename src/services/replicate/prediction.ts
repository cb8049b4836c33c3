import type Replicate from 'replicate';
import type { Logger } from '../../log.js';
import { parseTrainingProgress } from '../../training/progress.js';
import { backoffDelay, retryWithBackoff, sleep, type BackoffDelays } from '../../util/backoff.js';
import { ServiceError, type Progress } from '../types.js';
import { httpStatusOf, isTerminal, type ReplicateRun } from './client.js';

export interface RunOptions {
  signal?: AbortSignal;
  /** Poll backoff; the defaults suit a 10–60 s SDXL prediction. `random` (tests) draws the jitter. */
  poll?: BackoffDelays;
  /** Give up (and cancel the prediction, so it stops billing) after this long. */
  timeoutMs?: number;
  log: Logger;
  onProgress?: (progress: Progress) => void;
  /** Backoff for throttled creates, on top of the client's own six immediate tries. */
  throttleRetry?: { baseMs: number; maxMs: number; attempts: number };
  /** Told the new prediction's id before it is followed (so a takeover can find it). */
  onCreated?: (id: string) => Promise<void>;
  /** A prediction created earlier for the same input: followed instead of creating another. */
  follow?: string;
  /** Look for a prediction of the same input created since then (ms) before creating one. */
  recoverSince?: number;
}

/**
 * Creates a prediction and follows it to its end: bounded backoff on throttled creates, polling
 * at a slowing pace, progress from the logs, cancel on abort or timeout (so the GPU stops
 * billing), and failures sorted into ServiceErrors.
 */
export async function runPrediction(
  client: Replicate,
  target: { version: string },
  input: Record<string, unknown>,
  {
    signal,
    poll = { baseMs: 500, maxMs: 4000 },
    timeoutMs = 10 * 60_000,
    log,
    onProgress = () => undefined,
    throttleRetry = { baseMs: 1000, maxMs: 8000, attempts: 4 },
    onCreated,
    follow,
    recoverSince,
  }: RunOptions,
): Promise<ReplicateRun> {
  const earlier = follow
    ? ((await client.predictions.get(follow).catch((error: unknown) => {
        throw toServiceError(error);
      })) as ReplicateRun)
    : recoverSince !== undefined
      ? await findPrediction(client, input, recoverSince)
      : undefined;
  if (earlier) {
    if (!follow) await onCreated?.(earlier.id);
    log.info({ predictionId: earlier.id, recorded: Boolean(follow) }, 'following a prediction created before a takeover');
    return followPrediction(client, earlier, { signal, poll, timeoutMs, log: log.child({ predictionId: earlier.id }), onProgress });
  }
  const created = await retryWithBackoff(
    () => client.predictions.create({ ...target, input, signal }) as Promise<ReplicateRun>,
    // A 429 means nothing was created, so asking again cannot bill twice; a 5xx on a create
    // might have created it, so that one is not repeated.
    (error) => httpStatusOf(error) === 429,
    { ...throttleRetry, signal, onRetry: (_e, delayMs) => log.warn({ delayMs }, 'replicate throttled the create; waiting') },
  ).catch((error: unknown) => {
    throw toServiceError(error);
  });
  await onCreated?.(created.id);
  const predictionLog = log.child({ predictionId: created.id });
  predictionLog.debug('prediction created');
  return followPrediction(client, created, { signal, poll, timeoutMs, log: predictionLog, onProgress });
}

interface FollowOptions {
  signal?: AbortSignal;
  poll: BackoffDelays;
  timeoutMs: number;
  log: Logger;
  onProgress: (progress: Progress) => void;
}

async function followPrediction(client: Replicate, created: ReplicateRun, { signal, poll, timeoutMs, log, onProgress }: FollowOptions): Promise<ReplicateRun> {
  const deadline = Date.now() + timeoutMs;
  let prediction = created;
  let lastStep = -1;
  for (let attempt = 0; !isTerminal(prediction.status); attempt++) {
    if (signal?.aborted || Date.now() > deadline) {
      // Cancel so the GPU stops billing for a picture nobody will see.
      await client.predictions.cancel(prediction.id).catch((error: unknown) => log.warn({ err: error }, 'cancel failed'));
      throw new ServiceError(signal?.aborted ? 'canceled' : 'timeout', signal?.aborted ? 'canceled' : `no result after ${Math.round(timeoutMs / 1000)} s`);
    }
    // Jittered, so the polls of a burst of jobs (and of several processes) do not come in waves.
    await sleep(backoffDelay(attempt, poll), signal).catch(() => undefined);
    if (signal?.aborted) continue;
    try {
      prediction = (await client.predictions.get(prediction.id)) as ReplicateRun;
    } catch (error) {
      // The client already retried a 429/5xx GET six times; keep polling with our slower pace.
      log.warn({ err: error, status: httpStatusOf(error) }, 'poll failed; trying again');
      continue;
    }
    const progress = parseTrainingProgress(prediction.logs ?? '');
    if (progress && progress.step !== lastStep) {
      lastStep = progress.step;
      onProgress(progress);
    }
  }
  const gpuSeconds = prediction.metrics?.predict_time ?? 0;
  if (prediction.status === 'failed' || prediction.status === 'aborted') {
    const message = String(prediction.error ?? 'the prediction failed');
    throw new ServiceError(/nsfw/i.test(message) ? 'nsfw' : 'failed', message, gpuSeconds);
  }
  if (prediction.status === 'canceled') throw new ServiceError('canceled', 'the prediction was canceled', gpuSeconds);
  return prediction;
}

/**
 * The prediction a stopped process created for this very input (a seed makes it unique) after
 * `since`: its create answer was lost with the process. Without it the takeover would pay twice.
 */
async function findPrediction(client: Replicate, input: Record<string, unknown>, since: number): Promise<ReplicateRun | undefined> {
  const page = await client.predictions.list().catch((error: unknown) => {
    throw toServiceError(error);
  });
  // A minute of slack for clock skew between the bot and the service.
  const recent = (page.results as ReplicateRun[]).filter((p) => Date.parse(p.created_at ?? '') >= since - 60_000);
  return recent.find((p) => {
    const theirs = (p.input ?? {}) as Record<string, unknown>;
    return Object.entries(input).every(([key, value]) => theirs[key] === value);
  });
}

export function toServiceError(error: unknown): ServiceError {
  if (error instanceof ServiceError) return error;
  const status = httpStatusOf(error);
  if (status === 429) return new ServiceError('throttled', 'Replicate is throttling requests');
  if (status !== undefined && status >= 500) return new ServiceError('unavailable', `Replicate answered ${status}`);
  if ((error as Error)?.name === 'AbortError') return new ServiceError('canceled', 'canceled');
  return new ServiceError('failed', (error as Error)?.message ?? String(error));
}
