import type { Clock } from '../clock.js';
import type { BotEventBus } from '../events.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import type { TrainingRef } from '../training/records.js';
import type { Route } from './server.js';
import { verifyWebhook } from './standard-webhooks.js';
import { keys } from '../store/keys.js';

export const REPLICATE_WEBHOOK_PATH = '/webhooks/replicate';
/** The query that marks a prediction's webhook URL (a training's names its server and training). */
export const PREDICTION_WEBHOOK_QUERY = 'kind=prediction';

/** Replicate retries a failed `completed` delivery for a while; a day covers every retry. */
const SEEN_TTL_MS = 24 * 3600_000;
/** A training's JSON carries its whole log: tqdm redraws make it large. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

export interface ReplicateWebhookOptions {
  store: Store;
  clock: Clock;
  log: Logger;
  /** Where refused and duplicate deliveries are told (tests and metrics watch them). */
  events: Pick<BotEventBus, 'emit'>;
  /** The `whsec_…` signing secret (configured, or fetched from the API once). */
  secret(): Promise<string>;
  /** Takes a verified, first-seen delivery about one of the bot's trainings. */
  onTraining(ref: TrainingRef, body: unknown): Promise<void>;
  /** Takes a verified, first-seen delivery about one of the bot's predictions (a picture, a preview). */
  onPrediction?(body: unknown): Promise<void>;
}

const ID = /^[\w-]{1,64}$/;

/**
 * `POST /webhooks/replicate`: checks the signature over the raw body and the timestamp, takes
 * each `webhook-id` once (a redelivery gets its 2xx and nothing else), and answers at once —
 * the training is updated after the answer, since Replicate wants one within seconds.
 */
export function replicateWebhookRoute({ store, clock, log, events, secret, onTraining, onPrediction }: ReplicateWebhookOptions): Route {
  return {
    method: 'POST',
    path: REPLICATE_WEBHOOK_PATH,
    maxBodyBytes: MAX_BODY_BYTES,
    async handle({ headers, body, query }) {
      const header = (name: string) => (typeof headers[name] === 'string' ? (headers[name] as string) : undefined);
      let key: string;
      try {
        key = await secret();
      } catch (error) {
        // Without the secret nothing can be checked; a 5xx makes Replicate try `completed` again.
        log.error({ err: error }, 'no webhook secret: cannot check webhooks');
        return { status: 503, body: { error: 'webhook secret unavailable' } };
      }
      const verdict = verifyWebhook({ id: header('webhook-id'), timestamp: header('webhook-timestamp'), signature: header('webhook-signature') }, body, key, clock.now());
      if (!verdict.ok) {
        log.warn({ reason: verdict.reason, webhookId: header('webhook-id') }, 'webhook refused');
        events.emit('webhook.refused', { reason: verdict.reason, webhookId: header('webhook-id') });
        return { status: verdict.reason === 'missing-headers' ? 400 : 401, body: { error: verdict.reason } };
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        return { status: 400, body: { error: 'body is not JSON' } };
      }
      if (!(await store.setIfAbsent(keys.replicateWebhookSeen(verdict.id), clock.now(), SEEN_TTL_MS))) {
        log.debug({ webhookId: verdict.id }, 'duplicate webhook ignored');
        events.emit('webhook.duplicate', { webhookId: verdict.id });
        return { status: 200, body: { duplicate: true } };
      }
      if (query.get('kind') === 'prediction' && onPrediction) return { status: 204, afterResponse: () => onPrediction(parsed) };
      const guildId = query.get('guild');
      const trainingId = query.get('training');
      if (!guildId || !trainingId || !ID.test(guildId) || !ID.test(trainingId)) {
        log.debug({ webhookId: verdict.id }, 'webhook about nothing the bot follows');
        return { status: 204 };
      }
      return { status: 204, afterResponse: () => onTraining({ guildId, trainingId }, parsed) };
    },
  };
}
