import { InferenceClient } from '@huggingface/inference';
import type { Logger } from '../../log.js';
import { retryWithBackoff } from '../../util/backoff.js';
import type { Captioner } from '../types.js';
import { captionOnEndpoint } from './endpoint.js';
import { statusOf, toServiceError } from './errors.js';
import { captionWithVlm } from './vlm.js';

export interface HfCaptionerOptions {
  token: string;
  /** `HF_CAPTION_ENDPOINT`: a dedicated Inference Endpoint, called directly. */
  endpointUrl?: string;
  /** `HF_CAPTION_MODEL`: the vision-language model Inference Providers run when there is no endpoint. */
  model: string;
  fetch?: typeof fetch;
  log: Logger;
  retry?: { baseMs: number; maxMs: number; attempts: number };
  /** One attempt's deadline. A caption takes seconds; a scaled-to-zero endpoint answers 503 at once rather than stalling. */
  attemptTimeoutMs?: number;
}

/**
 * Captions on Hugging Face, the two ways it serves them today
 * (docs/services.md#what-hugging-face-serves-for-captions): a dedicated endpoint running an
 * image-to-text model (BLIP), or, without one, a vision-language model through Inference
 * Providers' chat completion (no provider serves BLIP). Either way a 503 ("model is loading",
 * an endpoint scaled to zero) or a 429 is waited out with a bounded backoff, never the client's
 * immediate and endless retry.
 */
export function createHfCaptioner({ token, endpointUrl, model, fetch = globalThis.fetch, log, retry = { baseMs: 2000, maxMs: 20_000, attempts: 5 }, attemptTimeoutMs = 60_000 }: HfCaptionerOptions): Captioner {
  const client = new InferenceClient(token);
  const once = endpointUrl
    ? (image: { data: Buffer; contentType: string }, signal?: AbortSignal) => captionOnEndpoint({ endpointUrl, token, fetch }, image, signal)
    : (image: { data: Buffer; contentType: string }, signal?: AbortSignal) => captionWithVlm({ client, model, fetch }, image, signal);
  return {
    async caption(image, { signal } = {}) {
      try {
        const raw = await retryWithBackoff(
          // Neither call has a deadline of its own: a stalled endpoint or provider would hold the caption forever.
          () => once(image, signal ? AbortSignal.any([signal, AbortSignal.timeout(attemptTimeoutMs)]) : AbortSignal.timeout(attemptTimeoutMs)),
          (error) => [429, 503].includes(statusOf(error) ?? 0),
          { ...retry, signal, onRetry: (error, delayMs) => log.warn({ status: statusOf(error), delayMs }, 'captioning service busy; waiting') },
        );
        return { raw, gpuSeconds: 0 };
      } catch (error) {
        throw toServiceError(error, endpointUrl ? undefined : model);
      }
    },
  };
}
