/**
 * What the bot needs from the GPU services, named for the bot's work rather than the vendor's
 * API. Commands and jobs see only these; src/services/replicate and src/services/hf adapt them.
 */

/** Where a checkpoint's LoRA lives: the weights URL while it lasts, the trained version after. */
export interface CheckpointWeights {
  step: number;
  weightsUrl?: string;
  version?: string;
}

export interface GenerationRequest {
  prompt: string;
  negativePrompt?: string;
  steps: number;
  guidance: number;
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

export interface Generator {
  generate(request: GenerationRequest, options?: { signal?: AbortSignal; onProgress?: (progress: Progress) => void }): Promise<GeneratedImage>;
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
