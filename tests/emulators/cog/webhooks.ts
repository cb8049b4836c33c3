import type { Scheduler } from '../replicate/clock.js';

/**
 * One prediction's webhooks as coglet sends them (replicate/cog@6110c912
 * crates/coglet/src/webhook.rs): `POST` of the state snapshot; `logs` at most once per 500 ms
 * (`COG_THROTTLE_RESPONSE_INTERVAL`; a throttled update is dropped, not delayed), `output` and
 * `start` never throttled and fire-and-forget; `completed` retried on 429/5xx and network errors
 * up to 12 times, 100 ms × 2^attempt apart (about 7 minutes in all, scaled like the emulator's
 * clock). The `logs` throttle counts real time, as the real one does.
 */
export class CogWebhooks {
  private lastSent = -Infinity;
  private dropped = false;

  constructor(
    private readonly url: string,
    private readonly filter: Set<string>,
    private readonly scheduler: Scheduler,
    private readonly authToken?: string,
  ) {}

  send(event: 'start' | 'output' | 'logs', payload: Record<string, unknown>): void {
    if (this.dropped || !this.filter.has(event)) return;
    // Real time, not emulated: a sped-up run would otherwise send a webhook per log line.
    if (event === 'logs' && performance.now() - this.lastSent < 500) return;
    this.lastSent = performance.now();
    void this.post(payload).catch(() => undefined);
  }

  completed(payload: Record<string, unknown>): void {
    if (this.dropped || !this.filter.has('completed')) return;
    void (async () => {
      for (let attempt = 0; attempt <= 12 && !this.dropped; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, this.scheduler.realMs(0.1 * 2 ** Math.min(attempt, 10))));
        try {
          const response = await this.post(payload);
          if (response.ok || ![429, 500, 502, 503, 504].includes(response.status)) return;
        } catch {
          // A network error: retried like a 5xx.
        }
      }
    })();
  }

  /** The process that would send them is gone. */
  drop(): void {
    this.dropped = true;
  }

  private post(payload: Record<string, unknown>): Promise<Response> {
    return fetch(this.url, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'coglet/0.23.1', ...(this.authToken ? { authorization: `Bearer ${this.authToken}` } : {}) }, body: JSON.stringify(payload), signal: AbortSignal.timeout(30_000) });
  }
}
