import { createHmac, randomBytes } from 'node:crypto';
import type { Scheduler } from './clock.js';
import type { JobRecord, WebhookEvent } from './jobs.js';

/** One event sent (or to be sent) to a job's webhook. */
export interface WebhookDelivery {
  /** `webhook-id`: retries and redeliveries keep it, as Standard Webhooks requires. */
  readonly id: string;
  readonly jobId: string;
  readonly event: WebhookEvent;
  readonly url: string;
  /** The raw JSON body (the job as `GET` returned it at the time of the event). */
  readonly body: string;
  readonly attempts: WebhookAttempt[];
}

export interface WebhookAttempt {
  /** `webhook-timestamp`, Unix seconds. */
  readonly timestamp: number;
  readonly signature: string;
  /** What a control changed on purpose (see {@link WebhookSender.redeliver}). */
  readonly tampered?: 'signature' | 'timestamp';
  /** HTTP status of the receiver's answer; absent when the request failed. */
  status?: number;
  error?: string;
}

export interface RedeliverOptions {
  /** Sign with the wrong key, so a receiver that checks signatures must reject it. */
  badSignature?: boolean;
  /** Shift `webhook-timestamp` (and sign that shifted value correctly): e.g. -600 for a stale one. */
  timestampOffsetSeconds?: number;
}

/** A Standard Webhooks secret as Replicate hands it out: `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** `v1,<base64 HMAC-SHA256 of "${id}.${timestamp}.${body}">`, keyed by the base64-decoded secret. */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

// Throttle window of `logs` and `output` events (the API's "at most once every 500ms").
const THROTTLE_SECONDS = 0.5;

/**
 * Sends webhooks the way Replicate does: only the events in `webhook_events_filter`, `logs` and
 * `output` throttled, `start` and `completed` always; only `completed` retried when the receiver
 * fails. Deliveries of one job go out one at a time, in event order.
 */
export class WebhookSender {
  readonly deliveries: WebhookDelivery[] = [];
  private readonly throttles = new Map<string, { lastReal: number; cancel?: () => void }>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();

  constructor(
    private readonly secret: string,
    private readonly scheduler: Scheduler,
    /** Wall clock (ms) for `webhook-timestamp`: receivers compare it with their own clock. */
    private readonly now: () => number,
    /** The job's JSON at the time of the event. */
    private readonly snapshot: (job: JobRecord) => string,
    /** Emulated seconds to wait before each retry of a failed `completed` delivery. */
    private readonly retryDelays: readonly number[],
  ) {}

  notify(job: JobRecord, event: WebhookEvent): void {
    // Nothing but `completed` follows a terminal state: throttled trailing deliveries are dropped.
    if (event === 'completed') this.dropPending(job.id);
    if (!job.webhook || !job.webhookEventsFilter.includes(event) || this.abort.signal.aborted) return;
    if (event !== 'logs' && event !== 'output') {
      this.enqueue(job, event);
      return;
    }
    const key = `${job.id}:${event}`;
    const throttle = this.throttles.get(key);
    const window = this.scheduler.realMs(THROTTLE_SECONDS);
    const sinceLast = throttle ? performance.now() - throttle.lastReal : Infinity;
    if (sinceLast >= window) {
      this.throttles.set(key, { lastReal: performance.now() });
      this.enqueue(job, event);
    } else if (throttle && !throttle.cancel) {
      // Trailing delivery: the state at the end of the window reaches the receiver.
      throttle.cancel = this.scheduler.later(this.scheduler.emulatedSeconds(window - sinceLast), () => {
        this.throttles.set(key, { lastReal: performance.now() });
        this.enqueue(job, event);
      });
    }
  }

  /** Resolves once every queued delivery (retries included) is done. */
  async idle(): Promise<void> {
    let pending = [...this.queues.values()];
    while (pending.length > 0) {
      await Promise.all(pending);
      const now = [...this.queues.values()];
      pending = now.filter((queue) => !pending.includes(queue));
    }
  }

  /**
   * Sends a past delivery again with the same `webhook-id` (a duplicate, as after a lost
   * acknowledgement), optionally tampered with. Returns the receiver's HTTP status.
   */
  async redeliver(deliveryId: string, options: RedeliverOptions = {}): Promise<number | undefined> {
    const delivery = this.deliveries.find((d) => d.id === deliveryId);
    if (!delivery) throw new Error(`no webhook delivery ${deliveryId}`);
    const timestamp = Math.floor(this.now() / 1000) + (options.timestampOffsetSeconds ?? 0);
    const secret = options.badSignature ? newWebhookSecret() : this.secret;
    const tampered = options.badSignature ? 'signature' : options.timestampOffsetSeconds ? 'timestamp' : undefined;
    const attempt = await this.post(delivery, timestamp, secret, tampered);
    return attempt.status;
  }

  close(): void {
    this.abort.abort();
  }

  private dropPending(jobId: string): void {
    for (const event of ['logs', 'output'] as const) {
      this.throttles.get(`${jobId}:${event}`)?.cancel?.();
      this.throttles.delete(`${jobId}:${event}`);
    }
  }

  private enqueue(job: JobRecord, event: WebhookEvent): void {
    const delivery: WebhookDelivery = {
      id: `msg_${randomBytes(12).toString('hex')}`,
      jobId: job.id,
      event,
      url: job.webhook ?? '',
      body: this.snapshot(job),
      attempts: [],
    };
    this.deliveries.push(delivery);
    const previous = this.queues.get(job.id) ?? Promise.resolve();
    const next = previous.then(() => this.deliver(delivery));
    this.queues.set(job.id, next);
    void next.then(() => {
      if (this.queues.get(job.id) === next) this.queues.delete(job.id);
    });
  }

  private async deliver(delivery: WebhookDelivery): Promise<void> {
    const retries = delivery.event === 'completed' ? this.retryDelays : [];
    for (let attempt = 0; ; attempt++) {
      const result = await this.post(delivery, Math.floor(this.now() / 1000), this.secret);
      const ok = result.status !== undefined && result.status >= 200 && result.status < 300;
      const delay = retries[attempt];
      if (ok || delay === undefined || this.abort.signal.aborted) return;
      try {
        await this.scheduler.sleep(delay, this.abort.signal);
      } catch {
        return;
      }
    }
  }

  private async post(
    delivery: WebhookDelivery,
    timestamp: number,
    secret: string,
    tampered?: WebhookAttempt['tampered'],
  ): Promise<WebhookAttempt> {
    const signature = signWebhook(secret, delivery.id, timestamp, delivery.body);
    const attempt: WebhookAttempt = { timestamp, signature, ...(tampered ? { tampered } : {}) };
    delivery.attempts.push(attempt);
    try {
      const response = await fetch(delivery.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Replicate-Webhooks/1.0',
          'webhook-id': delivery.id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signature,
        },
        body: delivery.body,
        // Replicate does not follow redirects when sending webhooks.
        redirect: 'manual',
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(10_000)]),
      });
      await response.arrayBuffer();
      attempt.status = response.status;
    } catch (error) {
      attempt.error = error instanceof Error ? error.message : String(error);
    }
    return attempt;
  }
}
