/**
 * Maps `source` through `fn` with at most `concurrency` calls in flight, results in source order.
 * The source is pulled lazily, so with an async generator (a zip read entry by entry) no more than
 * `concurrency` items are held at once: that is what keeps memory flat on a 64-image archive.
 * The first rejection stops the pulling and is rethrown once the calls in flight have settled.
 */
export async function mapConcurrent<T, R>(
  source: Iterable<T> | AsyncIterable<T>,
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  const iterator =
    Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  const results: R[] = [];
  let next = 0;
  let failed = false;
  let failure: unknown;
  const fail = (error: unknown): void => {
    if (!failed) {
      failed = true;
      failure = error;
    }
  };
  const worker = async (): Promise<void> => {
    while (!failed) {
      // Taken before awaiting so that indexes follow the order of the next() calls.
      const index = next++;
      let step: IteratorResult<T>;
      try {
        // Async generators queue concurrent next() calls, so two workers never get the same item.
        step = await iterator.next();
      } catch (error) {
        fail(error);
        return;
      }
      if (step.done || failed) return;
      try {
        results[index] = await fn(step.value, index);
      } catch (error) {
        fail(error);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    // Lets a zip reader release its file when the mapping stops early.
    await iterator.return?.();
  }
  if (failed) throw failure;
  return results;
}
