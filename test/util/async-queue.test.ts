import { describe, expect, it, vi } from 'vitest';
import { AsyncQueue } from '../../src/util/async-queue.js';

async function drain<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of iterable) out.push(value);
  return out;
}

describe('AsyncQueue', () => {
  it('gives values pushed before and after the pull, in order, and ends the loop on end()', async () => {
    const queue = new AsyncQueue<number>();
    queue.push(1);
    queue.push(2);
    const all = drain(queue);
    queue.push(3);
    queue.end();
    expect(queue.push(4)).toBe(false);
    await expect(all).resolves.toEqual([1, 2, 3]);
  });

  it('hands a value to a waiting reader at once, without waiting for another push or a timer', async () => {
    const queue = new AsyncQueue<string>();
    const next = queue.next();
    queue.push('now');
    // Settled within the microtasks of this turn: a macrotask would lose the race.
    const winner = await Promise.race([next, new Promise((r) => setImmediate(() => r('late')))]);
    expect(winner).toEqual({ done: false, value: 'now' });
  });

  it('throws the error from the loop after the values pushed before it, once', async () => {
    const queue = new AsyncQueue<number>();
    queue.push(1);
    queue.fail(new Error('boom'));
    const seen: number[] = [];
    await expect(async () => {
      for await (const value of queue) seen.push(value);
    }).rejects.toThrow('boom');
    expect(seen).toEqual([1]);
    await expect(queue.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('rejects a reader that is already waiting when the producer fails', async () => {
    const queue = new AsyncQueue<number>();
    const next = queue.next();
    queue.fail(new Error('late boom'));
    await expect(next).rejects.toThrow('late boom');
  });

  it('on break: drops what is buffered, runs onCancel once, and returns only after it', async () => {
    let finished = false;
    const onCancel = vi.fn(async () => {
      await new Promise((r) => setTimeout(r, 50));
      finished = true;
    });
    const queue = new AsyncQueue<number>({ onCancel });
    queue.push(1);
    queue.push(2);
    for await (const value of queue) {
      expect(value).toBe(1);
      break;
    }
    expect(finished).toBe(true);
    expect(onCancel).toHaveBeenCalledTimes(1);
    expect(queue.open).toBe(false);
    expect(queue.push(3)).toBe(false);
    await expect(queue.next()).resolves.toMatchObject({ done: true });
    await queue.return();
    expect(onCancel).toHaveBeenCalledTimes(1);
  });

  it('return() ends a pending next(), and is a no-op for onCancel after a normal end', async () => {
    const onCancel = vi.fn();
    const queue = new AsyncQueue<number>({ onCancel });
    const pending = queue.next();
    await queue.return();
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
    expect(onCancel).toHaveBeenCalledTimes(1);

    const ended = new AsyncQueue<number>({ onCancel });
    ended.end();
    await ended.return();
    expect(onCancel).toHaveBeenCalledTimes(1);
  });
});
