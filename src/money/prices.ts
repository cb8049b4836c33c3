import type { Config } from '../config.js';

/**
 * What a GPU second costs, per configured model. Replicate bills public models by the second on
 * the hardware the model runs on, so each model has its own price; `GPU_PRICE_PER_SECOND`, when
 * set, overrides every one of them (a private deployment, a negotiated rate).
 */

/** Replicate's public per-second prices (replicate.com/pricing, read 2026-12). */
export const HARDWARE_PRICES = {
  'Nvidia L40S': 0.000975,
  'Nvidia H100': 0.001525,
  'Nvidia A100 (80GB)': 0.0014,
  'Nvidia T4': 0.000225,
} as const satisfies Record<string, number>;

export type Hardware = keyof typeof HARDWARE_PRICES;

/**
 * The hardware the default models run on, with where that was read. A model not listed here is
 * priced at the dearest rate above: an estimate that is too high refuses a little early under
 * `BUDGET_USD`, one that is too low lets the month overrun it.
 */
export const MODEL_HARDWARE: Readonly<Record<string, { hardware: Hardware; source: string }>> = {
  'stability-ai/sdxl': { hardware: 'Nvidia L40S', source: 'replicate.com/stability-ai/sdxl (trainings and predictions), 2026-12' },
  // Not confirmed: the salesforce/blip page's hardware line could not be read for this table
  // (searched 2026-12). Priced like an unlisted model, at the dearest documented rate; a caption
  // bills a second or two, so the overestimate is a fraction of a cent per picture.
  'salesforce/blip': { hardware: 'Nvidia H100', source: 'unconfirmed (2026-12): priced at the dearest documented rate' },
};

export const UNLISTED_MODEL_HARDWARE: Hardware = 'Nvidia H100';

/** The kinds of paid work, each run on its own configured model. */
export type PaidWork = 'generation' | 'training' | 'captioning';

export interface Price {
  usdPerSecond: number;
  /** The hardware it was taken from; absent when `GPU_PRICE_PER_SECOND` overrides it. */
  hardware?: Hardware;
}

/** `owner/name:version` → `owner/name`, as the hardware table is keyed. */
export function modelName(ref: string): string {
  return ref.split(':')[0]!.toLowerCase();
}

/**
 * The model that does a kind of work under this configuration. Captioning on Hugging Face is not
 * billed per GPU second (an Inference Endpoint bills by the hour, providers by their own terms):
 * it records no GPU time, and its estimate is priced like an unlisted model.
 */
export function modelFor(config: Config, work: PaidWork): string {
  if (work === 'generation') return modelName(config.REPLICATE_GENERATOR);
  if (work === 'training') return modelName(config.REPLICATE_TRAINER);
  return config.CAPTION_BACKEND === 'hf' ? 'huggingface' : modelName(config.REPLICATE_CAPTIONER);
}

export function priceOf(config: Config, work: PaidWork): Price {
  // The class's own Cog servers (GPU_BACKEND=cog) cost nothing per second: GPU time is still counted.
  // Captions through Hugging Face are billed there even then.
  if (config.GPU_BACKEND === 'cog' && !(work === 'captioning' && config.CAPTION_BACKEND === 'hf')) return { usdPerSecond: 0 };
  if (config.GPU_PRICE_PER_SECOND !== undefined) return { usdPerSecond: config.GPU_PRICE_PER_SECOND };
  const hardware = MODEL_HARDWARE[modelFor(config, work)]?.hardware ?? UNLISTED_MODEL_HARDWARE;
  return { usdPerSecond: HARDWARE_PRICES[hardware], hardware };
}

/** USD per GPU second of a kind of work. */
export const usdPerSecond = (config: Config, work: PaidWork): number => priceOf(config, work).usdPerSecond;
