import { ServiceError } from '../types.js';

/** A dedicated endpoint's refusal, from kmplz's own call (see endpoint.ts). */
export class HfHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HfHttpError';
  }
}

/**
 * The captioning model is served by no Inference Provider the token may use: the operator has to
 * choose another one (HF_CAPTION_MODEL) or an endpoint; trying again will not help. The router
 * answers this with a 400 "The requested model '…' is not supported by any provider you have
 * enabled." (docs/services.md#what-hugging-face-serves-for-captions).
 */
export class CaptionModelUnavailableError extends ServiceError {
  constructor(
    readonly model: string,
    message: string,
  ) {
    super('failed', message);
    this.name = 'CaptionModelUnavailableError';
  }
}

/** The HTTP status of a failed call: kmplz's own, or @huggingface/inference's `httpResponse.status`. */
export function statusOf(error: unknown): number | undefined {
  if (error instanceof HfHttpError) return error.status;
  const status = (error as { httpResponse?: { status?: unknown } } | undefined)?.httpResponse?.status;
  return typeof status === 'number' ? status : undefined;
}

/**
 * The service's own words. The client words an OpenAI-style body (`{"error":{"message"}}`) only
 * as "an HTTP error occurred", so the body is read first.
 */
function messageOf(error: unknown): string {
  const body = (error as { httpResponse?: { body?: unknown } } | undefined)?.httpResponse?.body as { error?: unknown } | undefined;
  const inner = body?.error;
  if (typeof inner === 'string') return inner;
  const message = (inner as { message?: unknown } | undefined)?.message;
  if (typeof message === 'string') return message;
  return (error as Error).message;
}

/** What a failed Hugging Face call means for the person who asked. */
export function toServiceError(error: unknown, model?: string): ServiceError {
  if (error instanceof ServiceError) return error;
  if ((error as Error | undefined)?.name === 'TimeoutError') return new ServiceError('timeout', 'Hugging Face did not answer in time');
  const status = statusOf(error);
  const message = messageOf(error);
  if (status === 429) return new ServiceError('throttled', 'Hugging Face is throttling requests');
  if (status !== undefined && status >= 500) return new ServiceError('unavailable', `Hugging Face answered ${status}: ${message}`);
  if (model && (status === 404 || (status === 400 && /not supported by any provider/i.test(message)))) {
    return new CaptionModelUnavailableError(model, message);
  }
  return new ServiceError('failed', message);
}
