import { generatorInput } from '../replicate/generator.js';
import { ServiceError, type Captioner, type Generator } from '../types.js';
import { captionerInput } from '../replicate/captioner.js';
import { outcome, readFileOutput, runOnCog, type CogContext } from './run.js';

/**
 * cog-sdxl on the class's own GPU: the same inputs as on Replicate (`replicate_weights` is the
 * checkpoint's URL, which a Cog trainer's upload made a kmplz URL), one picture per server at a
 * time. The picture comes back as Cog returns it without `--upload-url`: a data URI in the
 * `completed` webhook (a PNG of a few MB; docs/services.md says why the trainer uploads instead).
 */
export function createCogGenerator(ctx: CogContext, urls: readonly string[], fetchImpl: typeof fetch = fetch): Generator {
  return {
    async generate(request, { signal, onProgress } = {}) {
      if (!request.weights.weightsUrl) throw new ServiceError('failed', `checkpoint ${request.weights.step} has no weights file the Cog generator can read`);
      const input = { ...generatorInput(request), replicate_weights: request.weights.weightsUrl };
      const done = outcome(await runOnCog(ctx, urls, input, { signal, onProgress }));
      const gpuSeconds = done.metrics?.predict_time ?? 0;
      const first = Array.isArray(done.output) ? done.output.find((item): item is string => typeof item === 'string') : typeof done.output === 'string' ? done.output : undefined;
      if (!first) throw new ServiceError('failed', 'the prediction succeeded without an image', gpuSeconds);
      const file = await readFileOutput(first, fetchImpl);
      return { data: file.data, contentType: file.contentType === 'application/octet-stream' ? 'image/png' : file.contentType, predictionId: done.id, gpuSeconds };
    },
  };
}

/** BLIP on the class's own GPU; the image goes in the request as a data URI (no upload needed). */
export function createCogCaptioner(ctx: CogContext, urls: readonly string[]): Captioner {
  return {
    async caption(image, { signal } = {}) {
      const input = captionerInput(`data:${image.contentType};base64,${image.data.toString('base64')}`);
      const done = outcome(await runOnCog(ctx, urls, input, { signal }));
      if (typeof done.output !== 'string') throw new ServiceError('failed', 'BLIP answered without a caption', done.metrics?.predict_time ?? 0);
      return { raw: done.output, gpuSeconds: done.metrics?.predict_time ?? 0 };
    },
  };
}
