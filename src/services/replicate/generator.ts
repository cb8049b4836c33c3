import type Replicate from 'replicate';
import { UserError } from '../../errors.js';
import { msg } from '../../i18n/index.js';
import type { Logger } from '../../log.js';
import { ServiceError, type GeneratedImage, type GenerationRequest, type Generator } from '../types.js';
import type { ReplicateRun } from './client.js';
import { runPrediction, toServiceError, type RunOptions } from './prediction.js';
import { VersionResolver } from './versions.js';

export interface ReplicateGeneratorOptions {
  client: Replicate;
  /** `REPLICATE_GENERATOR`: a cog-sdxl version that accepts `replicate_weights`. */
  model: string;
  /** Shared with the other adapters, so one name resolves to one version for the whole process. */
  versions?: VersionResolver;
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
  versions = new VersionResolver(client),
  log,
  fetch: fetchImpl = fetch,
  poll,
  timeoutMs,
  throttleRetry,
  webhooks,
}: ReplicateGeneratorOptions): Generator {
  const weightsSeen = new WeightsSeen(fetchImpl);
  return {
    async generate(request, { signal, onProgress, onCreated, follow, recoverSince } = {}) {
      const target = await chooseTarget(model, request, weightsSeen, fetchImpl, versions).catch((error: unknown) => {
        if (error instanceof UserError) throw error;
        throw toServiceError(error);
      });
      const input = { ...generatorInput(request), ...target.input };
      const finished = await runPrediction(client, target.ref, input, { signal, poll, timeoutMs, throttleRetry, log, onProgress, onCreated, follow, recoverSince, webhooks });
      return downloadOutput(finished, fetchImpl);
    },
  };
}

/** cog-sdxl `predict()` inputs of a request (without the LoRA, which depends on where it lives). */
export function generatorInput(request: Omit<GenerationRequest, 'weights'>): Record<string, unknown> {
  return {
    prompt: request.prompt,
    negative_prompt: request.negativePrompt ?? '',
    num_inference_steps: request.steps,
    // cog-sdxl refuses guidance_scale below 1, while /kmplz offers 0–20. In diffusers any
    // scale ≤ 1 turns classifier-free guidance off, so 0…1 all draw the same picture as 1.
    guidance_scale: Math.max(1, request.guidance),
    // Always sent: left out, cog-sdxl would apply its own 0.6, a scale nobody chose.
    lora_scale: request.strength,
    width: request.width,
    height: request.height,
    seed: request.seed,
    num_outputs: 1,
  };
}

async function chooseTarget(
  model: string,
  { weights }: GenerationRequest,
  weightsSeen: WeightsSeen,
  fetchImpl: typeof fetch,
  versions: VersionResolver,
): Promise<{ ref: { version: string }; input: Record<string, string> }> {
  // Checked even without a fallback: an expired URL would fail the prediction only after it was billed.
  if (weights.weightsUrl && !(await weightsSeen.isGone(weights.weightsUrl))) {
    return { ref: { version: await versions.id(model) }, input: { replicate_weights: weights.weightsUrl } };
  }
  // The same archive, kept by kmplz and served at PUBLIC_URL, or kept on the Hub by /publish: the
  // same generator version draws with it. Replicate fetches it without a token, so a private
  // repository's (401) or a copy kmplz has let go (404) does not count.
  for (const url of [weights.keptUrl, weights.publishedUrl]) {
    if (url && (await isReachable(url, fetchImpl))) return { ref: { version: await versions.id(model) }, input: { replicate_weights: url } };
  }
  if (weights.version) {
    // The trained version carries its own LoRA: no replicate_weights needed.
    return { ref: { version: await versions.id(weights.version) }, input: {} };
  }
  if (weights.weightsUrl) throw new UserError('weights-expired', msg('error.weights-expired', { step: weights.step }));
  throw new ServiceError('failed', `checkpoint ${weights.step} has neither weights nor a trained version`);
}

/**
 * Asks whether weights are still at Replicate before every picture: an expired URL would fail the
 * prediction only after it was billed, and an answer remembered for long would miss the deletion
 * (Replicate removes outputs about an hour after they were made). The pictures of a burst that ask
 * at the same moment share one request instead of sending one each.
 */
class WeightsSeen {
  private readonly asking = new Map<string, Promise<boolean>>();

  constructor(private readonly fetchImpl: typeof fetch) {}

  isGone(url: string): Promise<boolean> {
    let answer = this.asking.get(url);
    if (!answer) {
      answer = isGone(url, this.fetchImpl).finally(() => this.asking.delete(url));
      this.asking.set(url, answer);
    }
    return answer;
  }
}

/** Replicate deletes files after a while; a checkpoint whose weights are gone falls back to kmplz's copy, its published archive or trained version. */
async function isGone(url: string, fetchImpl: typeof fetch): Promise<boolean> {
  try {
    const response = await fetchImpl(url, { method: 'HEAD', signal: AbortSignal.timeout(10_000) });
    return response.status === 404 || response.status === 410;
  } catch {
    return false;
  }
}


/** Can anyone fetch it (as Replicate will, without a token)? The Hub answers 401 for a private repository. */
async function isReachable(url: string, fetchImpl: typeof fetch): Promise<boolean> {
  try {
    const response = await fetchImpl(url, { method: 'HEAD', signal: AbortSignal.timeout(10_000) });
    return response.ok;
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
