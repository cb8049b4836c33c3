/**
 * What the bot needs from the GPU services, named for the bot's work rather than the vendor's
 * API. Commands and jobs see only these; src/services/replicate and src/services/hf adapt them.
 */

/** Where a checkpoint's LoRA lives: the weights URL while it lasts, then kmplz's kept copy, then the archive `/publish` put on the Hub, then the trained version. */
export interface CheckpointWeights {
  step: number;
  weightsUrl?: string;
  /** kmplz's own copy of the archive, served at PUBLIC_URL (set only with PUBLIC_URL and a kept copy). */
  keptUrl?: string;
  /** The archive on the Hub (a commit-pinned resolve URL), once the checkpoint was published. */
  publishedUrl?: string;
  version?: string;
}

export interface GenerationRequest {
  prompt: string;
  negativePrompt?: string;
  steps: number;
  guidance: number;
  /** The LoRA scale, 0–1 (cog-sdxl's `lora_scale`). */
  strength: number;
  width: number;
  height: number;
  seed: number;
  weights: CheckpointWeights;
}

export interface Progress {
  step: number;
  total: number;
}

export interface GeneratedImage {
  /** The image bytes, copied at once: the service deletes its outputs after about an hour. */
  data: Buffer;
  contentType: string;
  predictionId: string;
  /** Billed GPU time, from the service's metrics. */
  gpuSeconds: number;
}

export interface GenerateOptions {
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  /** Called once the service has accepted the work, with its id, before it is followed. */
  onCreated?: (id: string) => Promise<void>;
  /** The id of work created earlier for this same request (by a process that stopped): followed, not created again. */
  follow?: string;
  /**
   * A process that stopped may have created the work without living to record its id: look for
   * work with the same input created since this time (ms) before creating any.
   */
  recoverSince?: number;
}

export interface Generator {
  generate(request: GenerationRequest, options?: GenerateOptions): Promise<GeneratedImage>;
}

export interface Caption {
  /** The model's words, prefix and artefacts left as they came (see src/captioning/clean.ts). */
  raw: string;
  gpuSeconds: number;
}

export interface Captioner {
  caption(image: { data: Buffer; contentType: string; name: string }, options?: { signal?: AbortSignal }): Promise<Caption>;
}

export type ServiceFailure = 'throttled' | 'nsfw' | 'failed' | 'timeout' | 'canceled' | 'unavailable';

/**
 * A GPU service call that did not give a result, sorted by what the user should be told.
 * The message is the service's own words, for the logs; commands phrase it for people.
 */
export class ServiceError extends Error {
  constructor(
    readonly failure: ServiceFailure,
    message: string,
    readonly gpuSeconds = 0,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

/**
 * How checkpoints every N steps are obtained (docs/services.md#training-a-lora-cog-sdxl): `ladder`
 * starts one training per checkpoint with the official trainer (same seed, same zip, constant
 * schedule; each a separate training of that length, in whole epochs, not a point of one run);
 * `streaming` starts one prediction of kmplz's own trainer, whose output grows by one weights URL
 * per checkpoint.
 */
export type TrainingStrategy = 'ladder' | 'streaming';

/** One run to start: `checkpointSteps` are the steps whose weights it yields, in output order. */
export interface PlannedRun {
  steps: number;
  checkpointSteps: number[];
}

export interface TrainingRunInput {
  /** URL of the uploaded zip (processed images + caption.csv). */
  datasetUrl: string;
  triggerWord: string;
  run: PlannedRun;
  /** One seed for every run, so a ladder's runs differ by their length, not by chance. */
  seed: number;
  /** Side of the dataset's training squares: the trainer trains at this size. */
  resolution: number;
  /** Where the service posts this run's events; unset means the bot polls. */
  webhook?: string;
}

export type TrainingRunStatus = 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled';

/** A run as the service last described it (a poll or a webhook: both carry the same object). */
export interface TrainingSnapshot {
  id: string;
  status: TrainingRunStatus;
  /** From the logs, with the bot's own pattern; only the bar of this run's `steps`. */
  progress?: Progress;
  /** Weights ready so far, in output order: the i-th belongs to the run's i-th checkpoint step. */
  weights: { url: string; version?: string }[];
  /** ms since epoch, once the run left the queue. */
  startedAt?: number;
  /** Billed GPU time (`metrics.predict_time`), once terminal. */
  gpuSeconds?: number;
  error?: string;
  /** What the run was started with, to recognise a run whose create answer was lost. */
  datasetUrl?: string;
  steps?: number;
}

export interface Trainer {
  readonly strategy: TrainingStrategy;
  /** The runs that make a checkpoint every `checkpointEvery` steps up to `steps`. */
  plan(steps: number, checkpointEvery: number): PlannedRun[];
  /** Uploads the training zip once; every run of the training reads the same URL. */
  uploadDataset(zip: Buffer, name: string): Promise<{ fileId: string; url: string }>;
  deleteDataset(fileId: string): Promise<void>;
  start(input: TrainingRunInput): Promise<TrainingSnapshot>;
  get(runId: string): Promise<TrainingSnapshot>;
  cancel(runId: string): Promise<TrainingSnapshot>;
  /** A run created since `createdAfter` (ms) with this dataset and step count, if any. */
  find(match: { datasetUrl: string; steps: number }, createdAfter: number): Promise<TrainingSnapshot | undefined>;
  /** A webhook body (the same JSON as a poll); undefined when it does not describe a training. */
  fromWebhook(body: unknown): TrainingSnapshot | undefined;
}

/** Who a model-hub token belongs to, and what it may write (the Hub's `whoami-v2`). */
export interface HubAccount {
  name: string;
  orgs: string[];
  /** `read`, `write`, `admin`, or `fineGrained` (then `scoped` says where it may write). */
  role: string;
  /** fineGrained: namespace → permissions, e.g. `{ alice: ['repo.write'] }`. */
  scoped: Record<string, string[]>;
}

/** What the hub holds at a path now: its git blob id, and the sha256 of an LFS file's content. */
export interface HubFileId {
  gitOid: string;
  sha256?: string;
}

export type HubFailure = 'unauthorized' | 'forbidden' | 'not-found' | 'conflict' | 'unavailable' | 'failed';

export class HubError extends Error {
  constructor(
    readonly failure: HubFailure,
    message: string,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

/** A model repository host (the Hugging Face Hub): where `/publish` puts the class's LoRA. */
export interface ModelHub {
  account(): Promise<HubAccount>;
  /** Creates the model repository; false when it exists already. */
  createRepo(repo: string, options: { private: boolean; license: string }): Promise<boolean>;
  /** What the repository holds at these paths (the missing ones are left out). */
  fileIds(repo: string, paths: readonly string[]): Promise<Map<string, HubFileId>>;
  /** One commit with every file; its id. */
  commit(repo: string, files: readonly { path: string; content: Blob }[], title: string): Promise<{ oid: string }>;
  repoUrl(repo: string): string;
  /** The URL that serves a file of the repository at a revision (a branch or a commit id). */
  fileUrl(repo: string, path: string, revision: string): string;
}
