/**
 * A push-to-pull bridge: a producer that calls back (`push`, `end`, `fail`) feeds a consumer
 * that pulls with `for await`. One consumer; values wait in memory until pulled (producers
 * here are runs, whose event count is bounded by their step budget, so no backpressure).
 *
 * A value pushed while the consumer waits is handed over at once, never held for a timer or
 * the next push. A consumer that stops early (`break`, `return()`) closes the queue and runs
 * `onCancel`, which `return()` awaits, so after the loop nothing the producer started is left
 * running.
 */

export interface AsyncQueueOptions {
  /** Called once when the consumer stops before the end; `return()` waits for it. */
  onCancel?: () => void | Promise<void>;
}

interface Waiter<T> {
  resolve(result: IteratorResult<T>): void;
  reject(error: unknown): void;
}

type State = 'open' | 'ended' | 'failed' | 'cancelled';

const DONE: IteratorResult<never> = { done: true, value: undefined };

export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private readonly buffer: T[] = [];
  private readonly waiters: Waiter<T>[] = [];
  private state: State = 'open';
  private error: unknown;
  /** The error is given to one `next()` only; after it the queue reads as done. */
  private errorDelivered = false;
  private cancelling: Promise<void> | undefined;

  constructor(private readonly options: AsyncQueueOptions = {}) {}

  /** Whether the consumer may still see pushed values. */
  get open(): boolean {
    return this.state === 'open';
  }

  /** Hands `value` to the consumer; false (and the value dropped) once the queue is closed. */
  push(value: T): boolean {
    if (this.state !== 'open') return false;
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve({ done: false, value });
    else this.buffer.push(value);
    return true;
  }

  /** No more values: the consumer's loop ends after the buffered ones. */
  end(): void {
    if (this.state !== 'open') return;
    this.state = 'ended';
    // Waiters exist only while the buffer is empty.
    for (const waiter of this.waiters.splice(0)) waiter.resolve(DONE);
  }

  /** The producer failed: the consumer gets the buffered values, then `error` is thrown from its loop. */
  fail(error: unknown): void {
    if (this.state !== 'open') return;
    this.state = 'failed';
    this.error = error;
    const [first, ...rest] = this.waiters.splice(0);
    if (first) {
      this.errorDelivered = true;
      first.reject(error);
    }
    for (const waiter of rest) waiter.resolve(DONE);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) return Promise.resolve({ done: false, value: this.buffer.shift() as T });
    if (this.state === 'failed' && !this.errorDelivered) {
      this.errorDelivered = true;
      return Promise.reject(this.error);
    }
    if (this.state !== 'open') return Promise.resolve(DONE);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** The consumer stops: buffered values are dropped, pending `next()` calls end, `onCancel` runs. */
  async return(): Promise<IteratorResult<T>> {
    if (this.state === 'open') {
      this.state = 'cancelled';
      this.buffer.length = 0;
      for (const waiter of this.waiters.splice(0)) waiter.resolve(DONE);
      this.cancelling = Promise.resolve().then(() => this.options.onCancel?.());
    }
    await this.cancelling;
    return DONE;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
