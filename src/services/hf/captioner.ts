import { InferenceClient } from '@huggingface/inference';
import type { Logger } from '../../log.js';
import { retryWithBackoff } from '../../util/backoff.js';
import { ServiceError, type Captioner } from '../types.js';

const DEFAULT_MODEL = 'Salesforce/blip-image-captioning-large';

export interface HfCaptionerOptions {
  token: string;
  /** `HF_CAPTION_ENDPOINT`; without it the model goes through Hugging Face's provider routing. */
  endpointUrl?: string;
  fetch?: typeof fetch;
  log: Logger;
  retry?: { baseMs: number; maxMs: number; attempts: number };
}

/**
 * BLIP through Hugging Face image-to-text. The client's own retry on 503 ("model is loading")
 * is unbounded and immediate, so it is switched off and replaced by a bounded backoff here.
 */
export function createHfCaptioner({ token, endpointUrl, fetch, log, retry = { baseMs: 2000, maxMs: 20_000, attempts: 5 } }: HfCaptionerOptions): Captioner {
  const client = new InferenceClient(token);
  return {
    async caption(image, { signal } = {}) {
      const data = new Blob([new Uint8Array(image.data)], { type: image.contentType });
      const args = endpointUrl ? { endpointUrl, data } : { model: DEFAULT_MODEL, data };
      try {
        const answer = await retryWithBackoff(
          () => client.imageToText(args, { retry_on_error: false, fetch, signal }),
          (error) => [429, 503].includes(statusOf(error) ?? 0),
          { ...retry, signal, onRetry: (error, delayMs) => log.warn({ status: statusOf(error), delayMs }, 'captioning service busy; waiting') },
        );
        if (typeof answer.generated_text !== 'string') throw new ServiceError('failed', 'BLIP answered without a caption');
        return { raw: answer.generated_text, gpuSeconds: 0 };
      } catch (error) {
        if (error instanceof ServiceError) throw error;
        const status = statusOf(error);
        if (status === 429) throw new ServiceError('throttled', 'Hugging Face is throttling requests');
        if (status === 503 || (status !== undefined && status >= 500)) throw new ServiceError('unavailable', `Hugging Face answered ${status}`);
        throw new ServiceError('failed', (error as Error).message);
      }
    },
  };
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { httpResponse?: { status?: unknown } } | undefined)?.httpResponse?.status;
  return typeof status === 'number' ? status : undefined;
}
