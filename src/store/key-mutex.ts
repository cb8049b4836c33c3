/**
 * One queue per key: tasks for the same key run one after another in call order, tasks for
 * different keys run freely. A key's entry disappears when its queue empties, so the map only
 * holds keys that are busy right now.
 */
export class KeyMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Tails never reject (they only wait for `done`), so a failed task cannot break the queue.
    const tail = previous.then(() => done);
    this.tails.set(key, tail);
    await previous;
    try {
      return await task();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
