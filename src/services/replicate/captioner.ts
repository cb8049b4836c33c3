import type Replicate from 'replicate';
import type { Logger } from '../../log.js';
import { ServiceError, type Captioner } from '../types.js';
import { runPrediction, toServiceError } from './prediction.js';
import { VersionResolver } from './versions.js';

/**
 * BLIP on Replicate (`salesforce/blip`, task `image_captioning`). The image is uploaded with
 * `POST /files` first: the model needs a URL it can read, and a Discord CDN link may expire or
 * be a local file of the dataset.
 */
export function createReplicateCaptioner({
  client,
  model,
  versions = new VersionResolver(client),
  log,
}: {
  client: Replicate;
  model: string;
  /** Shared with the other adapters, so one name resolves to one version for the whole process. */
  versions?: VersionResolver;
  log: Logger;
}): Captioner {
  return {
    async caption(image, { signal } = {}) {
      const version = await versions.id(model).catch((error: unknown) => {
        throw toServiceError(error);
      });
      const uploaded = await client.files
        .create(new File([new Uint8Array(image.data)], image.name, { type: image.contentType }), { kmplz: 'caption' }, { signal })
        .catch((error: unknown) => {
          throw toServiceError(error);
        });
      try {
        const prediction = await runPrediction(client, { version }, captionerInput(uploaded.urls.get), { signal, log, poll: { baseMs: 300, maxMs: 2000 }, timeoutMs: 120_000 });
        if (typeof prediction.output !== 'string') throw new ServiceError('failed', 'BLIP answered without a caption', prediction.metrics?.predict_time ?? 0);
        return { raw: prediction.output, gpuSeconds: prediction.metrics?.predict_time ?? 0 };
      } finally {
        // The upload was only a way to hand the image over; don't leave copies of the class's art behind.
        await client.files.delete(uploaded.id).catch((error: unknown) => log.debug({ err: error }, 'could not delete the uploaded image'));
      }
    },
  };
}

/** salesforce/blip `predict()` inputs (BLIP's predict.py). */
export function captionerInput(imageUrl: string): Record<string, unknown> {
  return { image: imageUrl, task: 'image_captioning' };
}
