import Replicate from 'replicate';

export interface ReplicateClientOptions {
  token: string;
  baseUrl: string;
  fetch?: typeof fetch;
}

/**
 * The one way the bot builds a replicate client. `useFileOutput: false` keeps outputs as URL
 * strings: the client only wraps https/data URLs, and a 404 while reading a wrapped one surfaces
 * as "init is not defined" (SERVICES.md). Never `fileEncodingStrategy: "data-uri"`: replicate
 * 1.4.0 then sends the client object, token included, as input.
 */
export function createReplicateClient({ token, baseUrl, fetch }: ReplicateClientOptions): Replicate {
  return new Replicate({ auth: token, baseUrl, fetch, useFileOutput: false });
}

/** `owner/name:version` → a version id for `/predictions`; `owner/name` → the model's own endpoint. */
export function modelTarget(ref: string): { version: string } | { model: string } {
  const [model, version] = ref.split(':');
  return version ? { version } : { model: model! };
}

/** The HTTP status of a failed call through the replicate client (its ApiError carries the response). */
export function httpStatusOf(error: unknown): number | undefined {
  const response = (error as { response?: { status?: unknown } } | undefined)?.response;
  return typeof response?.status === 'number' ? response.status : undefined;
}

export interface ReplicateRun {
  id: string;
  status: 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled' | 'aborted';
  output?: unknown;
  error?: unknown;
  logs?: string | null;
  metrics?: { predict_time?: number; total_time?: number } | null;
}

export const isTerminal = (status: ReplicateRun['status']): boolean => status !== 'starting' && status !== 'processing';
