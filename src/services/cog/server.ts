import { sleep } from '../../util/backoff.js';
import { ServiceError } from '../types.js';

/**
 * One Cog container's HTTP API as Cog documents it (replicate/cog docs/http.md; the Rust server's
 * routes in crates/coglet/src/transport/http/routes.rs, commit 6110c912). Only what kmplz uses:
 * `GET /health-check`, `GET /openapi.json`, `PUT /predictions/{id}` with `Prefer: respond-async`,
 * `POST /predictions/{id}/cancel`. There is no `GET /predictions/{id}`: a PUT with the id of the
 * prediction in flight answers its current state instead (see `rejoin`).
 */
export type CogHealth = 'STARTING' | 'READY' | 'BUSY' | 'SETUP_FAILED' | 'DEFUNCT' | 'UNHEALTHY';

/** The prediction JSON of webhooks and of a re-PUT (prediction.rs `build_state_snapshot`). */
export interface CogPrediction {
  id: string;
  status: 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled';
  logs?: string;
  output?: unknown;
  error?: string;
  metrics?: { predict_time?: number };
  input?: Record<string, unknown>;
}

export type PutResult =
  | { kind: 'accepted'; prediction?: CogPrediction }
  | { kind: 'busy' }
  | { kind: 'not-ready' }
  | { kind: 'invalid'; detail: string };

export class CogServer {
  constructor(
    readonly url: string,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  async health(signal?: AbortSignal): Promise<CogHealth | undefined> {
    return (await this.healthCheck(signal))?.status;
  }

  /** The status, and when the server's `setup()` began: a later time than a prediction's means the server restarted since. */
  async healthCheck(signal?: AbortSignal): Promise<{ status: CogHealth; setupStartedAt?: number } | undefined> {
    try {
      const response = await this.fetchImpl(`${this.url}/health-check`, { signal: signal ?? AbortSignal.timeout(10_000) });
      const body = (await response.json()) as { status?: unknown; setup?: { started_at?: unknown } };
      if (typeof body.status !== 'string') return undefined;
      const started = typeof body.setup?.started_at === 'string' ? Date.parse(body.setup.started_at) : NaN;
      return { status: body.status as CogHealth, ...(Number.isNaN(started) ? {} : { setupStartedAt: started }) };
    } catch (error) {
      if (signal?.aborted) throw error;
      return undefined;
    }
  }

  /** Waits while the model sets up (STARTING) or the server is away; fails for a setup that failed. */
  async waitReady(signal?: AbortSignal, everyMs = 1000): Promise<'READY' | 'BUSY'> {
    for (;;) {
      const status = await this.health(signal);
      if (status === 'READY' || status === 'BUSY') return status;
      if (status === 'SETUP_FAILED' || status === 'DEFUNCT') throw new ServiceError('failed', `the Cog server at ${this.url} says ${status}: its model could not start`);
      await sleep(everyMs, signal);
    }
  }

  async schema(): Promise<unknown> {
    const response = await this.fetchImpl(`${this.url}/openapi.json`, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`GET ${this.url}/openapi.json answered ${response.status}`);
    return response.json();
  }

  /** Starts a prediction under kmplz's own id; the same id again while it runs creates nothing. */
  async put(id: string, body: { input: Record<string, unknown>; webhook?: string; webhook_events_filter?: string[] }, signal?: AbortSignal): Promise<PutResult> {
    const response = await this.fetchImpl(`${this.url}/predictions/${encodeURIComponent(id)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', prefer: 'respond-async' },
      body: JSON.stringify({ id, ...body }),
      signal: signal ?? AbortSignal.timeout(30_000),
    }).catch((error: unknown) => {
      throw new ServiceError('unavailable', `the Cog server at ${this.url} could not be reached: ${(error as Error)?.message ?? String(error)}`);
    });
    const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (response.status === 202) return { kind: 'accepted', prediction: 'status' in json && 'logs' in json ? (json as unknown as CogPrediction) : undefined };
    if (response.status === 409) return { kind: 'busy' };
    if (response.status === 503) return { kind: 'not-ready' };
    if (response.status === 422) return { kind: 'invalid', detail: describe422(json) };
    throw new ServiceError(response.status >= 500 ? 'unavailable' : 'failed', `the Cog server at ${this.url} answered ${response.status}: ${JSON.stringify(json).slice(0, 200)}`);
  }

  /**
   * The prediction `id` if this server is running it now, else undefined. Cog has no GET: a PUT
   * with the same id answers the one in flight without reading the input (routes.rs
   * `create_prediction_idempotent`). Sent with an empty input, so a server that no longer runs it
   * refuses with 422 rather than starting anything — safe only for a model with a required input
   * (the trainer's `input_images`).
   */
  async rejoin(id: string): Promise<CogPrediction | undefined> {
    const result = await this.put(id, { input: {} });
    if (result.kind === 'accepted' && result.prediction) return result.prediction;
    if (result.kind === 'accepted') {
      // A model without required inputs started an empty prediction: stop it at once.
      await this.cancel(id);
    }
    return undefined;
  }

  /** True when the server had the prediction (200), false when it did not (404). */
  async cancel(id: string): Promise<boolean> {
    const response = await this.fetchImpl(`${this.url}/predictions/${encodeURIComponent(id)}/cancel`, { method: 'POST', signal: AbortSignal.timeout(10_000) }).catch((error: unknown) => {
      throw new ServiceError('unavailable', `the Cog server at ${this.url} could not be reached: ${(error as Error)?.message ?? String(error)}`);
    });
    await response.body?.cancel();
    return response.ok;
  }
}

function describe422(json: Record<string, unknown>): string {
  const detail = Array.isArray(json.detail) ? (json.detail as { loc?: unknown[]; msg?: unknown }[]) : [];
  return detail.map((d) => `${(d.loc ?? []).slice(2).join('.') || 'input'}: ${String(d.msg)}`).join('; ') || JSON.stringify(json).slice(0, 200);
}

/** kmplz's prediction ids: Cog's recommended form (docs/http.md), 26 base32 characters. */
export function newCogId(random: () => Uint8Array = () => crypto.getRandomValues(new Uint8Array(16))): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = '';
  for (const byte of random()) bits += byte.toString(2).padStart(8, '0');
  return (bits.match(/.{1,5}/g) ?? []).map((chunk) => alphabet[parseInt(chunk.padEnd(5, '0'), 2)]).join('');
}
