/**
 * Bounded exponential backoff with "equal jitter": each wait is between half and all of its
 * ceiling, so processes throttled together spread out but none retries at once. The replicate
 * client retries 429/5xx six times back to back with no delay (docs/services.md#the-client-replicate-140), which does not help
 * against real throttling; what the bot repeats (polls, re-creates after a 429) waits with this
 * instead.
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  attempts: number;
  random?: () => number;
}

/** How the waits grow, for a loop that counts its own attempts (polls until a result). */
export type BackoffDelays = Omit<BackoffOptions, 'attempts'>;

/** The wait before retry `attempt` (0-based): within [ceiling/2, ceiling], ceiling = min(maxMs, baseMs·2^attempt). */
export function backoffDelay(attempt: number, { baseMs, maxMs, random = Math.random }: BackoffDelays): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs `attempt` until it succeeds or `shouldRetry` says no or the attempts run out; the last error is thrown. */
export async function retryWithBackoff<T>(
  attempt: (n: number) => Promise<T>,
  shouldRetry: (error: unknown) => boolean,
  options: BackoffOptions & { signal?: AbortSignal; onRetry?: (error: unknown, delayMs: number) => void },
): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (n + 1 >= options.attempts || !shouldRetry(error)) throw error;
      const delay = backoffDelay(n, options);
      options.onRetry?.(error, delay);
      await sleep(delay, options.signal);
    }
  }
}
