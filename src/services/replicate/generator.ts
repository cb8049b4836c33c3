import type Replicate from 'replicate';
import type { Logger } from '../../log.js';
import { ServiceError, type GeneratedImage, type GenerationRequest, type Generator } from '../types.js';
import { modelTarget, type ReplicateRun } from './client.js';
import { runPrediction, type RunOptions } from './prediction.js';

export interface ReplicateGeneratorOptions {
  client: Replicate;
  /** `REPLICATE_GENERATOR`: a cog-sdxl version that accepts `replicate_weights`. */
  model: string;
  log: Logger;
  fetch?: typeof fetch;
  poll?: RunOptions['poll'];
  timeoutMs?: RunOptions['timeoutMs'];
  throttleRetry?: RunOptions['throttleRetry'];
  /** With `PUBLIC_URL`: predictions report by webhook and are polled only as a safety net. */
  webhooks?: RunOptions['webhooks'];
}

/**
 * Generation through cog-sdxl's `predict` with a checkpoint's LoRA. `/kmplz`, `/compare` and the
 * checkpoint previews all come through here, so what the class votes on is what it gets.
 */
export function createReplicateGenerator({
  client,
  model,
  log,
  fetch: fetchImpl = fetch,
  poll,
  timeoutMs,
  throttleRetry,
  webhooks,
}: ReplicateGeneratorOptions): Generator {
  return {
    async generate(request, { signal, onProgress, onCreated, follow, recoverSince } = {}) {
      const target = await chooseTarget(model, request, fetchImpl);
      const input = {
        prompt: request.prompt,
        negative_prompt: request.negativePrompt ?? '',
        num_inference_steps: request.steps,
        // cog-sdxl refuses guidance_scale below 1, while /kmplz offers 0–20. In diffusers any
        // scale ≤ 1 turns classifier-free guidance off, so 0…1 all draw the same picture as 1.
        guidance_scale: Math.max(1, request.guidance),
        width: request.width,
        height: request.height,
        seed: request.seed,
        num_outputs: 1,
        ...target.input,
      };
      const finished = await runPrediction(client, target.ref, input, { signal, poll, timeoutMs, throttleRetry, log, onProgress, onCreated, follow, recoverSince, webhooks });
      return downloadOutput(finished, fetchImpl);
    },
  };
}

async function chooseTarget(
  model: string,
  { weights }: GenerationRequest,
  fetchImpl: typeof fetch,
): Promise<{ ref: { version: string } | { model: string }; input: Record<string, string> }> {
  if (weights.weightsUrl && !(weights.version && (await isGone(weights.weightsUrl, fetchImpl)))) {
    return { ref: modelTarget(model), input: { replicate_weights: weights.weightsUrl } };
  }
  if (weights.version) {
    // The trained version carries its own LoRA: no replicate_weights needed.
    return { ref: modelTarget(weights.version), input: {} };
  }
  throw new ServiceError('failed', `checkpoint ${weights.step} has neither weights nor a trained version`);
}

/** Replicate deletes files after a while; a checkpoint whose weights are gone falls back to its trained version. */
async function isGone(url: string, fetchImpl: typeof fetch): Promise<boolean> {
  try {
    const response = await fetchImpl(url, { method: 'HEAD', signal: AbortSignal.timeout(10_000) });
    return response.status === 404 || response.status === 410;
  } catch {
    return false;
  }
}

async function downloadOutput(prediction: ReplicateRun, fetchImpl: typeof fetch): Promise<GeneratedImage> {
  const output = prediction.output;
  const url = Array.isArray(output) ? output.find((item): item is string => typeof item === 'string') : typeof output === 'string' ? output : undefined;
  const gpuSeconds = prediction.metrics?.predict_time ?? 0;
  if (!url) throw new ServiceError('failed', 'the prediction succeeded without an image', gpuSeconds);
  const response = await fetchImpl(url, { signal: AbortSignal.timeout(60_000) });
  if (!response.ok) throw new ServiceError('failed', `the image could not be downloaded (HTTP ${response.status})`, gpuSeconds);
  return {
    data: Buffer.from(await response.arrayBuffer()),
    contentType: response.headers.get('content-type') ?? 'image/png',
    predictionId: prediction.id,
    gpuSeconds,
  };
}
