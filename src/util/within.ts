/** What `within` gives when the time ran out first. */
export const TIMED_OUT = Symbol('timed out');

/**
 * Waits for `promise` at most `ms`: its value, or TIMED_OUT. The promise itself goes on (nothing
 * here can stop it); the timer does not keep the process alive.
 */
export function within<T>(ms: number, promise: Promise<T>): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
