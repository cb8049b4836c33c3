import Replicate from 'replicate';

export interface ReplicateClientOptions {
  token: string;
  baseUrl: string;
  fetch?: typeof fetch;
}

/**
 * The one way the bot builds a replicate client. `useFileOutput: false` keeps outputs as URL
 * strings: the client only wraps https/data URLs, and a 404 while reading a wrapped one surfaces
 * as "init is not defined" (docs/services.md#the-client-replicate-140). Never `fileEncodingStrategy: "data-uri"`: replicate
 * 1.4.0 then sends the client object, token included, as input.
 */
export function createReplicateClient({ token, baseUrl, fetch = globalThis.fetch }: ReplicateClientOptions): Replicate {
  return new Replicate({ auth: token, baseUrl, fetch: surfaceLostAnswers(fetch), useFileOutput: false });
}

/**
 * The replicate client retries a request whose answer never came (a reset, a timeout) whatever
 * its method, so a create whose answer was lost would be created, and billed, twice. Here such a
 * failure of anything but a GET comes back as a 599 answer, which the client does not retry: the
 * training supervisor then looks for the run before creating it again, and a generation reports
 * the service as unavailable instead of paying for a second picture.
 */
function surfaceLostAnswers(fetchImpl: typeof fetch): typeof fetch {
  return async (input, init) => {
    try {
      return await fetchImpl(input, init);
    } catch (error) {
      const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
      if (method === 'GET' || init?.signal?.aborted) throw error;
      return new Response(JSON.stringify({ detail: `no answer: ${(error as Error)?.message ?? String(error)}` }), { status: 599, statusText: 'No Answer' });
    }
  };
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
  input?: unknown;
  created_at?: string;
}

export const isTerminal = (status: ReplicateRun['status']): boolean => status !== 'starting' && status !== 'processing';
