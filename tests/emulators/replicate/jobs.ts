import type { Scheduler } from './clock.js';
import { tqdmLine } from './tqdm.js';

export type JobKind = 'prediction' | 'training';
export type JobStatus = 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled';
export type WebhookEvent = 'start' | 'output' | 'logs' | 'completed';

export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'canceled']);

/** What a cog-sdxl-like trainer made of the archive it was given (`input_images`). */
export interface TrainingDataset {
  /** Images the trainer loaded, flattened to their base names and sorted as cog-sdxl sorts them. */
  images: string[];
  /** Caption used for each entry of `images`. */
  captions: string[];
  /** The caption CSV the trainer used (`*caption*.csv`), when the archive had one. */
  captionCsv?: string;
  /**
   * The CSV's `image_file` column after cog-sdxl sorted the rows by it. cog-sdxl pairs captions
   * with images by sort position, never by name: where this differs from `images`, captions
   * landed on the wrong pictures without any error.
   */
  csvImageFiles?: string[];
  /** Archive entries the trainer skipped (not png/jpg/jpeg and not the caption CSV). */
  ignored: string[];
  /** The `resolution` the trainer trained at (its input, or the model's default). */
  resolution?: number;
}

/** One prediction or training as the emulator keeps it. */
export interface JobRecord {
  readonly kind: JobKind;
  readonly id: string;
  /** `owner/name`. */
  readonly model: string;
  /** 64-hex version id. */
  readonly version: string;
  /** The input exactly as the client sent it; kept after `data_removed` so tests can still assert on it. */
  readonly input: Record<string, unknown>;
  readonly destination?: string;
  readonly webhook?: string;
  readonly webhookEventsFilter: readonly WebhookEvent[];
  /** Wall-clock ms. */
  readonly createdAt: number;
  status: JobStatus;
  output: unknown;
  logs: string;
  error: string | null;
  /** Emulated wall-clock ms: `createdAt` plus the emulated queue time. */
  startedAt?: number;
  /** Emulated wall-clock ms: `startedAt` plus the emulated work. */
  completedAt?: number;
  /** Emulated seconds of model work (`metrics.predict_time`), set once terminal and started. */
  predictTime?: number;
  dataRemoved: boolean;
  /** Trainings: the bytes the trainer downloaded from `input.input_images`. */
  archive?: Buffer;
  /** Trainings: what the trainer understood of `archive`. */
  dataset?: TrainingDataset;
  /** Trainings: the optimisation steps the trainer ran (cog-sdxl: whole epochs, so at least `max_train_steps`). */
  stepsRun?: number;
  /** URLs of the files this job produced; they answer 404 once removed. */
  readonly servedUrls: string[];
}

/** The JSON the API returns for a job (GET, create, cancel, list, webhook bodies). */
export function toWire(job: JobRecord, apiBase: string): Record<string, unknown> {
  const collection = job.kind === 'prediction' ? 'predictions' : 'trainings';
  const terminal = TERMINAL_STATUSES.has(job.status);
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    id: job.id,
    model: job.model,
    version: job.version,
    input: job.dataRemoved ? {} : job.input,
    logs: job.dataRemoved ? '' : job.logs,
    output: job.dataRemoved ? null : job.output,
    data_removed: job.dataRemoved,
    error: job.error,
    status: job.status,
    source: 'api',
    created_at: iso(job.createdAt),
    ...(job.startedAt !== undefined ? { started_at: iso(job.startedAt) } : {}),
    ...(job.completedAt !== undefined ? { completed_at: iso(job.completedAt) } : {}),
    urls: {
      web: `https://replicate.com/p/${job.id}`,
      get: `${apiBase}/${collection}/${job.id}`,
      cancel: `${apiBase}/${collection}/${job.id}/cancel`,
    },
    ...(terminal
      ? {
          metrics: {
            ...(job.predictTime !== undefined ? { predict_time: job.predictTime } : {}),
            total_time: ((job.completedAt ?? job.createdAt) - job.createdAt) / 1000,
          },
        }
      : {}),
  };
}

/** A file the emulator holds: uploaded through `POST /files` or produced by a model. */
export interface StoredFile {
  readonly id: string;
  readonly name: string;
  readonly contentType: string;
  readonly data: Buffer;
  readonly metadata: Record<string, unknown>;
  readonly createdAt: number;
}

/**
 * What a model handler gets besides its input. Durations are emulated seconds: they count toward
 * `metrics.predict_time` and pass `timeScale` times faster in real time.
 */
export interface ModelContext {
  readonly job: JobRecord;
  /** Aborted when the job is canceled (or the emulator closes). */
  readonly signal: AbortSignal;
  /** Weights baked into the version being run (a version created by a training). */
  readonly weights?: Buffer;
  /** Appends one line to the logs (fires a throttled `logs` webhook). */
  log(line: string): void;
  /** Appends a tqdm refresh (`\r` + meter; a newline once `n === total`), as Cog captures tqdm on stderr. */
  progress(n: number, total: number, elapsedSeconds: number, description?: string): void;
  /** Emulated work; rejects when the job is canceled. */
  sleep(seconds: number): Promise<void>;
  /** Appends one item to an iterator model's array output (fires a throttled `output` webhook). */
  emit(value: unknown): void;
  /** Serves bytes as one of this job's output files and returns the URL. */
  serve(name: string, data: Buffer, contentType: string): string;
  /** Reads a URL the way a model container would: the emulator's own files and outputs, data: URIs, or the network. */
  fetch(url: string): Promise<Buffer>;
  /** The uploaded file a `…/v1/files/{id}` URL names, if it is one of the emulator's. */
  uploadedFile(url: string): StoredFile | undefined;
}

/**
 * The same model context, with its emulated work `factor` times slower from the step `slowFrom()`
 * names on (read at each sleep, so a test can change it between runs): a run a test wants to stop
 * or restart mid-way is still going when it does.
 */
export function slowedFromStep(ctl: ModelContext, slowFrom: () => number, factor: number): ModelContext {
  let step = 0;
  return {
    ...ctl,
    progress: (n, total, elapsed, description) => {
      step = n;
      ctl.progress(n, total, elapsed, description);
    },
    sleep: (seconds) => ctl.sleep(step >= slowFrom() ? seconds * factor : seconds),
  };
}

/** A model's behaviour: returns the output, or throws to fail the job with the error's message. */
export type ModelHandler = (input: Record<string, unknown>, ctl: ModelContext) => unknown;

/** What a running job needs from the emulator around it. */
export interface JobHost {
  readonly scheduler: Scheduler;
  readonly queueSeconds: number;
  notify(job: JobRecord, event: WebhookEvent): void;
  serve(job: JobRecord, name: string, data: Buffer, contentType: string): string;
  fetch(url: string): Promise<Buffer>;
  uploadedFile(url: string): StoredFile | undefined;
  /** Called once, when the job turns terminal, before the `completed` webhook. */
  finished(job: JobRecord): void;
}

class Canceled extends Error {}

/** Drives one job through starting → processing → succeeded | failed | canceled. */
export class JobRun {
  readonly settled: Promise<void>;
  private readonly abort = new AbortController();
  private settle!: () => void;
  private readonly createdReal = performance.now();
  private busySeconds = 0;
  private sleepingSince: number | undefined;

  constructor(
    readonly job: JobRecord,
    private readonly host: JobHost,
    private readonly handler: ModelHandler,
    private readonly weights: Buffer | undefined,
  ) {
    this.settled = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  start(): void {
    this.host.notify(this.job, 'start');
    void this.run();
  }

  /** Cancels a job that is not terminal yet; a terminal one is left as it is (as the API does). */
  cancel(): void {
    if (TERMINAL_STATUSES.has(this.job.status)) return;
    if (this.job.startedAt !== undefined && this.sleepingSince !== undefined) {
      this.busySeconds += this.host.scheduler.emulatedSeconds(performance.now() - this.sleepingSince);
    }
    this.abort.abort(new Canceled('canceled'));
    this.finish('canceled', null);
  }

  private async run(): Promise<void> {
    const { job, host } = this;
    try {
      await host.scheduler.sleep(host.queueSeconds, this.abort.signal);
    } catch {
      return;
    }
    job.status = 'processing';
    job.startedAt = job.createdAt + host.queueSeconds * 1000;
    try {
      const result = await this.handler(job.input, this.context());
      if (this.abort.signal.aborted) return;
      if (result !== undefined) job.output = result;
      this.finish('succeeded', null);
    } catch (error) {
      if (this.abort.signal.aborted) return;
      const message = error instanceof Error ? error.message : String(error);
      // Cog prints the exception to the logs as well as reporting it as the error.
      job.logs += `${message}\n`;
      this.finish('failed', message);
    }
  }

  private finish(status: JobStatus, error: string | null): void {
    const { job } = this;
    job.status = status;
    job.error = error;
    if (job.startedAt !== undefined) {
      job.predictTime = Math.round(this.busySeconds * 1000) / 1000;
      job.completedAt = job.startedAt + job.predictTime * 1000;
    } else {
      // Canceled while queued: no work was done, only time passed.
      job.completedAt = job.createdAt + this.host.scheduler.emulatedSeconds(performance.now() - this.createdReal) * 1000;
    }
    this.host.finished(job);
    this.host.notify(job, 'completed');
    this.settle();
  }

  private context(): ModelContext {
    const { job, host, abort } = this;
    const alive = () => {
      if (abort.signal.aborted) throw abort.signal.reason;
    };
    return {
      job,
      signal: abort.signal,
      weights: this.weights,
      log: (line) => {
        alive();
        job.logs += `${line}\n`;
        host.notify(job, 'logs');
      },
      progress: (n, total, elapsedSeconds, description) => {
        alive();
        job.logs += `\r${tqdmLine(n, total, elapsedSeconds, description)}${n === total ? '\n' : ''}`;
        host.notify(job, 'logs');
      },
      sleep: async (seconds) => {
        alive();
        this.sleepingSince = performance.now();
        await host.scheduler.sleep(seconds, abort.signal);
        this.sleepingSince = undefined;
        this.busySeconds += seconds;
      },
      emit: (value) => {
        alive();
        job.output = [...(Array.isArray(job.output) ? job.output : []), value];
        host.notify(job, 'output');
      },
      serve: (name, data, contentType) => {
        alive();
        return host.serve(job, name, data, contentType);
      },
      fetch: (url) => host.fetch(url),
      uploadedFile: (url) => host.uploadedFile(url),
    };
  }
}
