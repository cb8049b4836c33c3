import type Replicate from 'replicate';

/**
 * The secret Replicate signs webhooks with: `REPLICATE_WEBHOOK_SECRET` when set, else asked of
 * the API once (`GET /webhooks/default/secret`) and kept; a failed ask is asked again next time.
 */
export function webhookSecretSource(client: Replicate, configured: string | undefined): () => Promise<string> {
  let secret: Promise<string> | undefined = configured ? Promise.resolve(configured) : undefined;
  return () =>
    (secret ??= client.webhooks.default.secret.get().then((answer) => {
      if (!answer.key?.startsWith('whsec_')) throw new Error('Replicate answered without a whsec_ webhook secret');
      return answer.key;
    })).catch((error: unknown) => {
      secret = undefined;
      throw error;
    });
}
