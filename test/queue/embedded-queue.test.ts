import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedQueue, isShutdown, type TaskExecutor } from '../../src/queue/embedded-queue.js';
import { openDatabase, type Db } from '../../src/store/sqlite.js';
import { TaskStore } from '../../src/store/tasks.js';
import { makeTempDir } from '../helpers/temp-repo.js';

const log = pino({ level: 'silent' });
const dbs: Db[] = [];
afterEach(() => {
  while (dbs.length) dbs.pop()!.close();
});

async function setup(dir?: string) {
  const db = openDatabase(dir ?? (await makeTempDir('autocoder-queue-')));
  dbs.push(db);
  return new TaskStore(db);
}

function queued(store: TaskStore, id: string, threadKey?: string) {
  store.insert({ id, source: 'test', state: 'queued', threadKey, request: {} });
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
};

describe('the embedded queue', () => {
  it('runs at most `concurrency` tasks at once and one per thread, in order', async () => {
    const store = await setup();
    let running = 0;
    let most = 0;
    const order: string[] = [];
    const release = new Map<string, () => void>();
    const execute: TaskExecutor = async (task) => {
      running++;
      most = Math.max(most, running);
      order.push(task.id);
      await new Promise<void>((r) => release.set(task.id, r));
      running--;
      store.update(task.id, { state: 'finished', endReason: 'completed' });
    };
    const queue = new EmbeddedQueue({ store, concurrency: 2, executors: new Map([['test', execute]]), log, onAbandoned: async () => {} });
    queued(store, 'a', 'issue-1');
    queued(store, 'b', 'issue-1');
    queued(store, 'c', 'issue-2');
    queued(store, 'd', 'issue-3');
    queue.start();
    await until(() => order.length === 2);
    // b waits behind a (same thread) although a slot is free for c.
    expect(order).toEqual(['a', 'c']);
    expect(store.get('b')!.state).toBe('queued');
    release.get('a')!();
    await until(() => order.length === 3);
    expect(order[2]).toBe('b');
    release.get('c')!();
    await until(() => order.length === 4);
    release.get('b')!();
    release.get('d')!();
    await until(() => store.inState('finished').length === 4);
    expect(most).toBe(2);
  });

  it('leaves tasks stopped by a shutdown queued, to be taken up again', async () => {
    const store = await setup();
    const execute: TaskExecutor = (task, signal) =>
      new Promise((resolve) => {
        signal.addEventListener('abort', () => {
          expect(isShutdown(signal)).toBe(true);
          store.update(task.id, { state: 'finished', endReason: 'cancelled' });
          resolve();
        });
      });
    const queue = new EmbeddedQueue({ store, concurrency: 1, executors: new Map([['test', execute]]), log, onAbandoned: async () => {} });
    queued(store, 'x');
    queue.start();
    await until(() => store.get('x')!.state === 'running');
    await queue.stop(50);
    expect(store.get('x')).toMatchObject({ state: 'queued', endReason: undefined });
  });

  it('after a crash, queues interrupted tasks again once, then gives them up and reports it', async () => {
    const dir = await makeTempDir('autocoder-queue-');
    const store = await setup(dir);
    queued(store, 'y');
    store.claimNext(['test']);
    store.claimNext(['test']);
    queued(store, 'z');
    store.claimNext(['test']);
    store.update('y', { attempts: 2 });
    const abandoned: string[] = [];
    const started: string[] = [];
    const queue = new EmbeddedQueue({
      store,
      concurrency: 2,
      executors: new Map([['test', async (task) => {
        started.push(task.id);
        store.update(task.id, { state: 'finished', endReason: 'completed' });
      }]]),
      log,
      onAbandoned: async (task) => {
        abandoned.push(task.id);
      },
    });
    queue.start();
    await until(() => started.length === 1 && abandoned.length === 1);
    expect(started).toEqual(['z']);
    expect(abandoned).toEqual(['y']);
    expect(store.get('y')).toMatchObject({ state: 'finished', endReason: 'failed' });
  });

  it('does not take tasks of a source it has no executor for', async () => {
    const store = await setup();
    store.insert({ id: 'g', source: 'github', state: 'queued', request: {} });
    const queue = new EmbeddedQueue({ store, concurrency: 1, executors: new Map([['api', async () => {}]]), log, onAbandoned: async () => {} });
    queue.start();
    await new Promise((r) => setTimeout(r, 50));
    expect(store.get('g')!.state).toBe('queued');
  });
});
