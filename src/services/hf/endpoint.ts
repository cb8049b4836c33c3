import { ServiceError } from '../types.js';
import { HfHttpError } from './errors.js';

/**
 * One image through a dedicated Inference Endpoint (`HF_CAPTION_ENDPOINT`), called directly.
 *
 * An endpoint running transformers' `image-to-text` pipeline answers a list,
 * `[{"generated_text": "…"}]` (the pipeline's `postprocess` returns one record per output);
 * a custom handler or an older deployment may answer the bare object. @huggingface/inference
 * 4.13.30's `imageToText` accepts only the object and throws on the list, so kmplz posts the
 * bytes itself, exactly as that client would (raw body, `Authorization: Bearer`), and reads
 * either shape (docs/services.md#what-hugging-face-serves-for-captions).
 */
export async function captionOnEndpoint(
  { endpointUrl, token, fetch }: { endpointUrl: string; token: string; fetch: typeof globalThis.fetch },
  image: { data: Buffer; contentType: string },
  signal?: AbortSignal,
): Promise<string> {
  const response = await fetch(endpointUrl, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': image.contentType, accept: 'application/json' },
    body: new Uint8Array(image.data),
    signal,
  });
  const text = await response.text();
  const body = parseJson(text);
  if (!response.ok) throw new HfHttpError(response.status, errorText(body) ?? (text.slice(0, 200) || response.statusText));
  const caption = generatedText(body);
  if (caption === undefined) throw new ServiceError('failed', `the endpoint answered without a caption: ${text.slice(0, 200)}`);
  return caption;
}

/** `[{generated_text}]` (the pipeline) or `{generated_text}` (a custom handler). */
function generatedText(body: unknown): string | undefined {
  const first = Array.isArray(body) ? body[0] : body;
  const text = (first as { generated_text?: unknown } | undefined)?.generated_text;
  return typeof text === 'string' ? text : undefined;
}

function errorText(body: unknown): string | undefined {
  const error = (body as { error?: unknown } | undefined)?.error;
  return typeof error === 'string' ? error : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
