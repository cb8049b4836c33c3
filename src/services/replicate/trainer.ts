import type { Logger } from '../../log.js';
import { ladderPlan, streamingPlan } from '../../training/plan.js';
import { parseTrainingProgress } from '../../training/progress.js';
import { retryWithBackoff } from '../../util/backoff.js';
import { ServiceError, type Trainer, type TrainingRunInput, type TrainingRunStatus, type TrainingSnapshot, type TrainingStrategy } from '../types.js';
import { createReplicateClient, httpStatusOf, type ReplicateRun } from './client.js';
import { parseModelRef, VersionResolver, VersionUnavailable } from './versions.js';

export interface ReplicateTrainerOptions {
  token: string;
  baseUrl: string;
  fetch?: typeof fetch;
  /** `REPLICATE_TRAINER`: `owner/name:version`, or `owner/name` for its latest version. */
  model: string;
  /** Shared with the other adapters, so one name resolves to one version for the whole process. */
  versions?: VersionResolver;
  /** `REPLICATE_TRAINING_DESTINATION`: where trained versions go; the API requires one. */
  destination: string | undefined;
  strategy: TrainingStrategy;
  log: Logger;
  throttleRetry?: { baseMs: number; maxMs: number; attempts: number };
}

/** Every event: `logs` for the progress bar, `output` for a streaming trainer's checkpoints. */
const WEBHOOK_EVENTS = ['start', 'output', 'logs', 'completed'] as const;

/**
 * LoRA trainings on Replicate. With `ladder`, each run is a cog-sdxl *training* whose output is
 * `{ version, weights }` (cog-sdxl trains whole epochs, so each rung is its own training of that
 * length); with `streaming`, one *prediction* of kmplz's own trainer (a Cog model whose
 * `predict()` yields a weights .tar every `checkpointing_steps`), whose output array grows by
 * one URL per checkpoint. Both read the same zip, trigger word, seed and square size.
 * A ladder's rungs are separate trainings, not points of one run: cog-sdxl also pivots from
 * textual inversion to LoRA halfway through each run's own epochs (src/training/plan.ts).
 */
export function createReplicateTrainer({
  token,
  baseUrl,
  fetch: fetchImpl = fetch,
  model,
  versions,
  destination,
  strategy,
  log,
  throttleRetry = { baseMs: 1000, maxMs: 8000, attempts: 4 },
}: ReplicateTrainerOptions): Trainer {
  const client = createReplicateClient({ token, baseUrl, fetch: fetchImpl });
  const resolver = versions ?? new VersionResolver(client);
  const { owner, name } = parseModelRef(model);
  const resolveVersion = () =>
    resolver.id(model).catch((error: unknown) => {
      throw error instanceof VersionUnavailable ? new ServiceError('failed', error.message) : toTrainerError(error);
    });
  const streaming = strategy === 'streaming';
  // A streaming run is a prediction; a ladder's rungs are trainings. Same JSON either way.
  const runs = {
    get: (id: string) => (streaming ? client.predictions.get(id) : client.trainings.get(id)) as Promise<ReplicateRun>,
    cancel: (id: string) => (streaming ? client.predictions.cancel(id) : client.trainings.cancel(id)) as Promise<ReplicateRun>,
    list: async () => ((streaming ? await client.predictions.list() : await client.trainings.list()).results as ReplicateRun[]),
  };

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

    async start({ datasetUrl, triggerWord, run, seed, resolution, webhook }) {
      if (!streaming && !destination) throw new ServiceError('failed', 'REPLICATE_TRAINING_DESTINATION is not set');
      const input = streaming ? streamingInput({ datasetUrl, triggerWord, run, seed, resolution }) : ladderInput({ datasetUrl, triggerWord, run, seed, resolution });
      const events = webhook ? { webhook, webhook_events_filter: [...WEBHOOK_EVENTS] } : {};
      const created = await retryWithBackoff(
        async () => {
          const version = await resolveVersion();
          return (
            streaming
              ? client.predictions.create({ version, input, ...events })
              : client.trainings.create(owner, name, version, { destination: destination as `${string}/${string}`, input, ...events })
          ) as Promise<ReplicateRun>;
        },
        // A 429 created nothing; anything else might have, and is found again by `find`.
        (error) => httpStatusOf(error) === 429,
        { ...throttleRetry, onRetry: (_error, delayMs) => log.warn({ delayMs }, 'replicate throttled the training create; waiting') },
      ).catch((error: unknown) => {
        throw toTrainerError(error);
      });
      return snapshotOf(created, strategy) ?? failShape(created);
    },

    async get(runId) {
      const training = await runs.get(runId).catch((error: unknown) => {
        throw toTrainerError(error);
      });
      return snapshotOf(training, strategy) ?? failShape(training);
    },

    async cancel(runId) {
      const training = await runs.cancel(runId).catch((error: unknown) => {
        throw toTrainerError(error);
      });
      return snapshotOf(training, strategy) ?? failShape(training);
    },

    async find({ datasetUrl, steps }, createdAfter) {
      const results = await runs.list().catch((error: unknown) => {
        throw toTrainerError(error);
      });
      // A minute of slack for clock skew between the bot and the service.
      const recent = results.filter((t) => Date.parse(t.created_at ?? '') >= createdAfter - 60_000);
      const found = recent.find((t) => {
        const input = (t.input ?? {}) as Record<string, unknown>;
        return input.input_images === datasetUrl && input.max_train_steps === steps;
      });
      return found && snapshotOf(found, strategy);
    },

    fromWebhook: (body) => snapshotOf(body, strategy),
  };
}

type RunInput = Pick<TrainingRunInput, 'datasetUrl' | 'triggerWord' | 'run' | 'seed' | 'resolution'>;

/** cog-sdxl `train()` inputs (train.py). */
export function ladderInput({ datasetUrl, triggerWord, run, seed, resolution }: RunInput): Record<string, unknown> {
  return {
    input_images: datasetUrl,
    // cog-sdxl infers the archive type from the downloaded file's name (preprocess.py), and a
    // Files API URL has no suffix: without this every training fails its first step with
    // "AssertionError: input_images_filetype must be zip or tar".
    input_images_filetype: 'zip',
    token_string: triggerWord,
    max_train_steps: run.steps,
    // Its default is 768: train at the size the class's squares were cropped to.
    resolution,
    // Constant, so a ladder's rungs learn at the same rate.
    lr_scheduler: 'constant',
    seed,
  };
}

/** kmplz's streaming trainer's inputs (trainer/, issue 15's interface). */
export function streamingInput({ datasetUrl, triggerWord, run, seed, resolution }: RunInput): Record<string, unknown> {
  return {
    input_images: datasetUrl,
    token_string: triggerWord,
    max_train_steps: run.steps,
    checkpointing_steps: run.checkpointSteps[0],
    resolution,
    seed,
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
