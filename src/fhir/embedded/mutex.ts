/**
 * A FIFO async mutex. The embedded store runs one request at a time through it, so a
 * transaction's entries can never interleave with another request's writes or reads.
 */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    // The next holder waits for this one to settle, whether it succeeded or not.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
