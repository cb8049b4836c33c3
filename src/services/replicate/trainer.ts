import type { Logger } from '../../log.js';
import { ladderPlan, streamingPlan } from '../../training/plan.js';
import { parseTrainingProgress } from '../../training/progress.js';
import { retryWithBackoff } from '../../util/backoff.js';
import { ServiceError, type Trainer, type TrainingRunStatus, type TrainingSnapshot, type TrainingStrategy } from '../types.js';
import { createReplicateClient, httpStatusOf } from './client.js';

export interface ReplicateTrainerOptions {
  token: string;
  baseUrl: string;
  fetch?: typeof fetch;
  /** `REPLICATE_TRAINER`: `owner/name:version`, or `owner/name` for its latest version. */
  model: string;
  /** `REPLICATE_TRAINING_DESTINATION`: where trained versions go; the API requires one. */
  destination: string | undefined;
  strategy: TrainingStrategy;
  log: Logger;
  throttleRetry?: { baseMs: number; maxMs: number; attempts: number };
}

/** Every event: `logs` for the progress bar, `output` for a streaming trainer's checkpoints. */
const WEBHOOK_EVENTS = ['start', 'output', 'logs', 'completed'] as const;

/**
 * cog-sdxl style trainings on Replicate. With `ladder`, each run is an official cog-sdxl
 * training whose output is `{ version, weights }`; with `streaming`, one run whose output array
 * grows by one weights URL every `checkpointing_steps`. Both read the same zip, trigger word,
 * seed and constant learning rate. A ladder's runs are still separate trainings, not points of
 * one: cog-sdxl trains whole epochs and pivots from textual inversion to LoRA halfway through
 * each run's own epochs (src/training/plan.ts).
 */
export function createReplicateTrainer({
  token,
  baseUrl,
  fetch: fetchImpl = fetch,
  model,
  destination,
  strategy,
  log,
  throttleRetry = { baseMs: 1000, maxMs: 8000, attempts: 4 },
}: ReplicateTrainerOptions): Trainer {
  const client = createReplicateClient({ token, baseUrl, fetch: fetchImpl });
  const [owner = '', rest = ''] = model.split('/');
  const [name = '', pinned] = rest.split(':');
  let version: Promise<string> | undefined;
  const resolveVersion = () =>
    (version ??= pinned
      ? Promise.resolve(pinned)
      : client.models.get(owner, name).then((found) => {
          const latest = found.latest_version?.id;
          if (!latest) throw new ServiceError('failed', `${owner}/${name} has no version to train`);
          return latest;
        })).catch((error: unknown) => {
      version = undefined;
      throw toTrainerError(error);
    });

  return {
    strategy,
    plan: (steps, every) => (strategy === 'ladder' ? ladderPlan(steps, every) : streamingPlan(steps, every)),

    async uploadDataset(zip, fileName) {
      const file = await client.files.create(new File([new Uint8Array(zip)], fileName, { type: 'application/zip' }), { kmplz: 'training' }).catch((error: unknown) => {
        throw toTrainerError(error);
      });
      return { fileId: file.id, url: file.urls.get };
    },

    async deleteDataset(fileId) {
      await client.files.delete(fileId).catch((error: unknown) => {
        // Uploads expire on their own after a day; a failed delete is not worth failing anything for.
        if (httpStatusOf(error) !== 404) log.warn({ err: error, fileId }, 'could not delete the uploaded training zip');
      });
    },

    async start({ datasetUrl, triggerWord, run, seed, webhook }) {
      if (!destination) throw new ServiceError('failed', 'REPLICATE_TRAINING_DESTINATION is not set');
      const input = {
        input_images: datasetUrl,
        token_string: triggerWord,
        max_train_steps: run.steps,
        // Constant: the learning rate does not depend on the run's length, so a ladder's runs
        // differ by how long they train rather than by their schedule (they still pivot at
        // their own halfway points and end on whole epochs: separate trainings, not one run's points).
        lr_scheduler: 'constant',
        seed,
        ...(strategy === 'streaming' ? { checkpointing_steps: run.checkpointSteps[0] } : {}),
      };
      const created = await retryWithBackoff(
        async () =>
          client.trainings.create(owner, name, await resolveVersion(), {
            destination: destination as `${string}/${string}`,
            input,
            ...(webhook ? { webhook, webhook_events_filter: [...WEBHOOK_EVENTS] } : {}),
          }),
        // A 429 created nothing; anything else might have, and is found again by `find`.
        (error) => httpStatusOf(error) === 429,
        { ...throttleRetry, onRetry: (_error, delayMs) => log.warn({ delayMs }, 'replicate throttled the training create; waiting') },
      ).catch((error: unknown) => {
        throw toTrainerError(error);
      });
      return snapshotOf(created, strategy) ?? failShape(created);
    },

    async get(runId) {
      const training = await client.trainings.get(runId).catch((error: unknown) => {
        throw toTrainerError(error);
      });
      return snapshotOf(training, strategy) ?? failShape(training);
    },

    async cancel(runId) {
      const training = await client.trainings.cancel(runId).catch((error: unknown) => {
        throw toTrainerError(error);
      });
      return snapshotOf(training, strategy) ?? failShape(training);
    },

    async find({ datasetUrl, steps }, createdAfter) {
      const page = await client.trainings.list().catch((error: unknown) => {
        throw toTrainerError(error);
      });
      // A minute of slack for clock skew between the bot and the service.
      const recent = page.results.filter((t) => Date.parse(t.created_at) >= createdAfter - 60_000);
      const found = recent.find((t) => {
        const input = (t.input ?? {}) as Record<string, unknown>;
        return input.input_images === datasetUrl && input.max_train_steps === steps;
      });
      return found && snapshotOf(found, strategy);
    },

    fromWebhook: (body) => snapshotOf(body, strategy),
  };
}

/**
 * Sorts a failed call for the training's supervisor: a refusal (4xx) is final and fails the
 * training with the service's words; throttling, outages and network errors pass and are retried.
 */
function toTrainerError(error: unknown): ServiceError {
  if (error instanceof ServiceError) return error;
  const status = httpStatusOf(error);
  if (status === 429) return new ServiceError('throttled', 'Replicate is throttling requests');
  if (status !== undefined && status >= 400 && status < 500) return new ServiceError('failed', detailOf(error));
  return new ServiceError('unavailable', status === undefined ? `Replicate could not be reached: ${(error as Error)?.message ?? String(error)}` : `Replicate answered ${status}`);
}

/** The replicate client's ApiError message ends with the response body; its `detail` is the service's words. */
function detailOf(error: unknown): string {
  const message = (error as Error)?.message ?? String(error);
  const json = /\{.*\}\.?$/s.exec(message)?.[0]?.replace(/\.$/, '');
  try {
    const detail = json ? (JSON.parse(json) as { detail?: unknown }).detail : undefined;
    if (typeof detail === 'string') return detail;
  } catch {
    // Not JSON after all: the whole message says it.
  }
  return message;
}

function failShape(body: unknown): never {
  throw new ServiceError('failed', `Replicate answered with something that is not a training: ${JSON.stringify(body).slice(0, 200)}`);
}

const STATUSES: Record<string, TrainingRunStatus> = {
  starting: 'starting',
  processing: 'processing',
  succeeded: 'succeeded',
  failed: 'failed',
  // Replicate's `aborted` (stopped before it ran) reads as a failure to the class.
  aborted: 'failed',
  canceled: 'canceled',
};

/** A training object (from a poll, a list, a cancel or a webhook) as a snapshot; undefined when it is not one. */
export function snapshotOf(body: unknown, strategy: TrainingStrategy): TrainingSnapshot | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const raw = body as Record<string, unknown>;
  const status = typeof raw.status === 'string' ? STATUSES[raw.status] : undefined;
  if (typeof raw.id !== 'string' || !status) return undefined;
  const input = (typeof raw.input === 'object' && raw.input !== null ? raw.input : {}) as Record<string, unknown>;
  const steps = typeof input.max_train_steps === 'number' ? input.max_train_steps : undefined;
  const metrics = (raw.metrics ?? {}) as { predict_time?: unknown };
  const terminal = status !== 'starting' && status !== 'processing';
  return {
    id: raw.id,
    status,
    progress: typeof raw.logs === 'string' ? parseTrainingProgress(raw.logs, steps) : undefined,
    weights: weightsOf(raw.output, strategy, status),
    startedAt: typeof raw.started_at === 'string' && !Number.isNaN(Date.parse(raw.started_at)) ? Date.parse(raw.started_at) : undefined,
    gpuSeconds: terminal && typeof metrics.predict_time === 'number' ? metrics.predict_time : undefined,
    error: raw.error === null || raw.error === undefined ? undefined : String(raw.error),
    datasetUrl: typeof input.input_images === 'string' ? input.input_images : undefined,
    steps,
  };
}

function weightsOf(output: unknown, strategy: TrainingStrategy, status: TrainingRunStatus): { url: string; version?: string }[] {
  const one = (item: unknown): { url: string; version?: string } | undefined => {
    if (typeof item === 'string') return { url: item };
    const object = item as { weights?: unknown; version?: unknown } | null;
    if (typeof object?.weights !== 'string') return undefined;
    return { url: object.weights, ...(typeof object.version === 'string' ? { version: object.version } : {}) };
  };
  if (strategy === 'streaming') return Array.isArray(output) ? output.flatMap((item) => one(item) ?? []) : [];
  // A ladder run's weights count only once it succeeded: a canceled run's partial output is no checkpoint.
  const weights = status === 'succeeded' ? one(output) : undefined;
  return weights ? [weights] : [];
}
