import type Replicate from 'replicate';
import type { Logger } from '../../log.js';
import { parseTrainingProgress } from '../../training/progress.js';
import { backoffDelay, retryWithBackoff, sleep, type BackoffDelays } from '../../util/backoff.js';
import { ServiceError, type Progress } from '../types.js';
import { httpStatusOf, isTerminal, type ReplicateRun } from './client.js';
import type { PredictionDeliveries } from './prediction-webhooks.js';

/**
 * Webhooks for predictions (with `PUBLIC_URL`): Replicate posts `start`, `logs` (at most every
 * 500 ms, for the progress bar) and `completed` to `url`, and the follower waits for those instead
 * of polling; it polls only every `safetyNetMs`, in case a delivery was lost for good.
 */
export interface PredictionWebhooks {
  url: string;
  deliveries: PredictionDeliveries;
  safetyNetMs: number;
}

const WEBHOOK_EVENTS = ['start', 'logs', 'completed'] as const;

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
  webhooks?: PredictionWebhooks;
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
    webhooks,
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
    return followPrediction(client, earlier, { signal, poll, timeoutMs, log: log.child({ predictionId: earlier.id }), onProgress, webhooks });
  }
  const created = await retryWithBackoff(
    () =>
      client.predictions.create({
        ...target,
        input,
        signal,
        ...(webhooks ? { webhook: webhooks.url, webhook_events_filter: [...WEBHOOK_EVENTS] } : {}),
      }) as Promise<ReplicateRun>,
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
  return followPrediction(client, created, { signal, poll, timeoutMs, log: predictionLog, onProgress, webhooks });
}

interface FollowOptions {
  signal?: AbortSignal;
  poll: BackoffDelays;
  timeoutMs: number;
  log: Logger;
  onProgress: (progress: Progress) => void;
  webhooks?: PredictionWebhooks;
}

async function followPrediction(client: Replicate, created: ReplicateRun, { signal, poll, timeoutMs, log, onProgress, webhooks }: FollowOptions): Promise<ReplicateRun> {
  try {
    return await (webhooks ? followByWebhooks(client, created, webhooks, { signal, timeoutMs, log, onProgress }) : followByPolling(client, created, { signal, poll, timeoutMs, log, onProgress }));
  } finally {
    webhooks?.deliveries.forget(created.id);
  }
}

async function followByPolling(client: Replicate, created: ReplicateRun, { signal, poll, timeoutMs, log, onProgress }: Omit<FollowOptions, 'webhooks'>): Promise<ReplicateRun> {
  const deadline = Date.now() + timeoutMs;
  let prediction = created;
  const progress = progressReporter(onProgress);
  for (let attempt = 0; !isTerminal(prediction.status); attempt++) {
    if (signal?.aborted || Date.now() > deadline) await giveUp(client, prediction, { signal, timeoutMs, log });
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
    progress(prediction);
  }
  return outcome(prediction);
}

/**
 * Follows a prediction created with a webhook: each delivery wakes it, and it polls only when
 * nothing newer came for `safetyNetMs` (a delivery lost for good, or a receiver that was down).
 */
async function followByWebhooks(
  client: Replicate,
  created: ReplicateRun,
  { deliveries, safetyNetMs }: PredictionWebhooks,
  { signal, timeoutMs, log, onProgress }: Omit<FollowOptions, 'webhooks' | 'poll'>,
): Promise<ReplicateRun> {
  const deadline = Date.now() + timeoutMs;
  let prediction = created;
  let lastHeard = Date.now();
  const progress = progressReporter(onProgress);
  progress(prediction);
  while (!isTerminal(prediction.status)) {
    if (signal?.aborted || Date.now() > deadline) await giveUp(client, prediction, { signal, timeoutMs, log });
    const delivered = deliveries.newer(prediction.id, prediction);
    if (delivered) {
      prediction = delivered;
      lastHeard = Date.now();
    } else if (Date.now() - lastHeard >= safetyNetMs) {
      lastHeard = Date.now();
      try {
        prediction = (await client.predictions.get(prediction.id)) as ReplicateRun;
      } catch (error) {
        log.warn({ err: error, status: httpStatusOf(error) }, 'safety-net poll failed; waiting for webhooks');
      }
    } else {
      await deliveries.wait(prediction.id, Math.min(safetyNetMs - (Date.now() - lastHeard), deadline - Date.now() + 1), signal);
      continue;
    }
    progress(prediction);
  }
  return outcome(prediction);
}

/** Cancels a prediction nobody will see (so the GPU stops billing) and throws why. */
async function giveUp(client: Replicate, prediction: ReplicateRun, { signal, timeoutMs, log }: { signal?: AbortSignal; timeoutMs: number; log: Logger }): Promise<never> {
  await client.predictions.cancel(prediction.id).catch((error: unknown) => log.warn({ err: error }, 'cancel failed'));
  throw new ServiceError(signal?.aborted ? 'canceled' : 'timeout', signal?.aborted ? 'canceled' : `no result after ${Math.round(timeoutMs / 1000)} s`);
}

/** Calls `onProgress` when the logs' last progress bar moved. */
function progressReporter(onProgress: (progress: Progress) => void): (prediction: ReplicateRun) => void {
  let lastStep = -1;
  return (prediction) => {
    const progress = parseTrainingProgress(prediction.logs ?? '');
    if (progress && progress.step !== lastStep) {
      lastStep = progress.step;
      onProgress(progress);
    }
  };
}

function outcome(prediction: ReplicateRun): ReplicateRun {
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
