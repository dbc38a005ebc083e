/**
 * The Redis run queue with a real redis-server: the web process's dispatcher and updates reader
 * and `autocoder worker`'s BullMQ worker in this one test process, over a real SQLite store. The
 * executors are small fakes here, since the point is the queue: what runs where, once, in order.
 */
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEmitter, type RunEvent } from '../../src/engine/events.js';
import { EventBus } from '../../src/queue/event-bus.js';
import type { TaskExecutor } from '../../src/queue/embedded-queue.js';
import { RUN_QUEUE } from '../../src/queue/redis-protocol.js';
import { RedisRunQueue } from '../../src/queue/redis-queue.js';
import { RunWorker } from '../../src/queue/run-worker.js';
import type { RemoteTaskStore } from '../../src/queue/remote-store.js';
import { DispatchStore } from '../../src/store/dispatch-store.js';
import { createSessionStore, openDatabase } from '../../src/store/sqlite.js';
import { TaskStore, type TaskRecord } from '../../src/store/tasks.js';
import { waitFor } from '../e2e/app-process.js';
import { hasRedis, redisSkipNote, startRedis, warnIfNoRedis, type RedisServer } from '../helpers/redis-server.js';
import { makeTempDir } from '../helpers/temp-repo.js';

warnIfNoRedis('the Redis run queue');
const log = pino({ level: 'silent' });

let redis: RedisServer;
const cleanups: (() => Promise<void>)[] = [];

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** The web process: SQLite store of record, event bus, the dispatcher and updates reader. */
function openWeb(dataDir: string, options: { jobAttempts?: number; lockMs?: number } = {}) {
  const db = openDatabase(dataDir);
  const bus = new EventBus();
  const store = new TaskStore(db, (id) => bus.taskChanged(id));
  const sessions = createSessionStore(db);
  const dispatch = new DispatchStore(db, store);
  const abandoned: TaskRecord[] = [];
  const queue = new RedisRunQueue({
    url: redis.url,
    store,
    dispatch,
    sessions,
    bus,
    sources: () => ['api'],
    onAbandoned: async (task) => {
      abandoned.push(task);
    },
    log,
    jobAttempts: options.jobAttempts ?? 2,
    backoffMs: 50,
    lockMs: options.lockMs ?? 2_000,
  });
  queue.start();
  let closed = false;
  const web = {
    db,
    bus,
    store,
    sessions,
    dispatch,
    queue,
    abandoned,
    /** Queues a task as the intake or the REST API does. */
    add(id: string, threadKey?: string, request: Record<string, unknown> = { prompt: id }) {
      store.insert({ id, source: 'api', state: 'queued', threadKey, request, repo: 'acme/widgets' });
      queue.notify();
    },
    async close() {
      if (closed) return;
      closed = true;
      await queue.stop();
      db.close();
    },
  };
  cleanups.push(() => web.close());
  return web;
}

interface Started {
  id: string;
  worker: string;
  signal: AbortSignal;
  task: TaskRecord;
}

/** Fake runs: each emits an event, waits for the test to let it end (or for its signal), and finishes. */
function fakeRuns() {
  const started: Started[] = [];
  const gates = new Map<string, ReturnType<typeof deferred>>();
  const running = new Set<string>();
  const overlaps: string[] = [];
  const gate = (id: string) => {
    if (!gates.has(id)) gates.set(id, deferred());
    return gates.get(id)!;
  };
  return {
    started,
    overlaps,
    running,
    release: (id: string) => gate(id).resolve(),
    /** The executors a worker named `name` is given. */
    executors:
      (name: string, crash?: (task: TaskRecord) => boolean) =>
      (store: RemoteTaskStore): Map<string, TaskExecutor> =>
        new Map([
          [
            'api',
            async (task: TaskRecord, signal: AbortSignal) => {
              if (crash?.(task)) throw new Error('the executor crashed');
              if (task.threadKey && [...running].some((id) => started.find((s) => s.id === id)?.task.threadKey === task.threadKey)) overlaps.push(task.id);
              running.add(task.id);
              started.push({ id: task.id, worker: name, signal, task });
              const emit = createEmitter(task.id, (event) => store.appendEvent(event), store.nextSeq(task.id));
              emit({ type: 'phase', phase: 'working' });
              store.update(task.id, { data: { progress: { phase: 'working' } } });
              await Promise.race([gate(task.id).promise, new Promise((r) => signal.addEventListener('abort', r, { once: true }))]);
              running.delete(task.id);
              emit({ type: 'phase', phase: 'publishing' });
              await store.saveSession({ id: `ses-${task.id}`, cwd: 'acme/widgets', model: 'm', messages: [{ role: 'user', content: 'hello' }] });
              store.update(task.id, {
                state: 'finished',
                endReason: signal.aborted ? 'cancelled' : 'completed',
                finishedAt: new Date().toISOString(),
                data: { ranBy: name },
              });
            },
          ],
        ]),
  };
}

async function startWorker(name: string, executors: (store: RemoteTaskStore) => Map<string, TaskExecutor>, options: { concurrency?: number; lockMs?: number } = {}) {
  const worker = new RunWorker({ url: redis.url, concurrency: options.concurrency ?? 1, executors, log, id: name, lockMs: options.lockMs ?? 2_000 });
  await worker.start();
  let stopped = false;
  const stop = async (timeoutMs = 5_000) => {
    if (stopped) return;
    stopped = true;
    await worker.stop(timeoutMs);
  };
  cleanups.push(() => stop(1_000));
  return { worker, stop, vanish: () => ((stopped = true), worker.vanish()) };
}

const finished = (web: ReturnType<typeof openWeb>, id: string) => {
  const task = web.store.get(id);
  return task?.state === 'finished' ? task : undefined;
};

async function jobCounts() {
  const queue = new Queue(RUN_QUEUE, { connection: { host: '127.0.0.1', port: redis.port } });
  try {
    return await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed');
  } finally {
    await queue.close();
  }
}

describe.skipIf(!hasRedis)(`the Redis run queue ${redisSkipNote}`, () => {
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
    // Every test starts from an empty Redis.
    await redis.kill();
    await redis.restart();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('queues a task once, however often it is notified and even after the web process restarts', async () => {
    const dir = await makeTempDir('autocoder-redis-');
    const web = openWeb(dir);
    web.add('run_once1');
    for (let i = 0; i < 5; i++) web.queue.notify();
    await waitFor(async () => (await jobCounts()).waiting === 1, 'the job to be queued');
    await web.close();
    // A new web process over the same data: the task is dispatched already, and not queued again.
    const again = openWeb(dir);
    again.queue.notify();
    await new Promise((r) => setTimeout(r, 300));
    expect(await jobCounts()).toMatchObject({ waiting: 1, active: 0 });

    const runs = fakeRuns();
    await startWorker('w1', runs.executors('w1'));
    await waitFor(() => runs.started.length === 1, 'the run to start');
    runs.release('run_once1');
    const task = await waitFor(() => finished(again, 'run_once1'), 'the run to finish');
    expect(task.endReason).toBe('completed');
    expect(task.data.worker).toBe('w1');
    expect(task.attempts).toBe(1);
    expect(runs.started.map((s) => s.id)).toEqual(['run_once1']);
    // Events and the session the worker wrote are in SQLite.
    expect(again.store.events('run_once1').map((e) => (e as RunEvent & { phase?: string }).phase)).toEqual(['working', 'publishing']);
    expect((await again.sessions.getSession('ses-run_once1'))?.messages).toEqual([{ role: 'user', content: 'hello' }]);
  });

  it('runs one task per thread at a time, and tasks of other threads beside it', async () => {
    const web = openWeb(await makeTempDir('autocoder-redis-'));
    web.add('run_t1a', 'acme/widgets#1');
    web.add('run_t1b', 'acme/widgets#1');
    web.add('run_t2a', 'acme/widgets#2');
    const runs = fakeRuns();
    await startWorker('w1', runs.executors('w1'), { concurrency: 3 });
    await waitFor(() => runs.started.length === 2, 'two runs to start');
    expect(runs.started.map((s) => s.id).sort()).toEqual(['run_t1a', 'run_t2a']);
    // The second of thread 1 waits in SQLite, not on the queue.
    expect(web.dispatch.isDispatched('run_t1b')).toBe(false);
    expect(web.store.get('run_t1b')?.state).toBe('queued');
    await new Promise((r) => setTimeout(r, 300));
    expect(runs.started).toHaveLength(2);

    runs.release('run_t1a');
    await waitFor(() => runs.started.length === 3, 'the next run of thread 1 to start');
    expect(runs.started[2].id).toBe('run_t1b');
    expect(finished(web, 'run_t1a')?.endReason).toBe('completed');
    // The thread's earlier tasks reach the worker (a pull request's body sums them up).
    expect(runs.started[2].task.threadKey).toBe('acme/widgets#1');
    runs.release('run_t1b');
    runs.release('run_t2a');
    await waitFor(() => finished(web, 'run_t1b') && finished(web, 'run_t2a'), 'all runs to finish');
    expect(runs.overlaps).toEqual([]);
  });

  it('shares the runs between two workers', async () => {
    const web = openWeb(await makeTempDir('autocoder-redis-'));
    const runs = fakeRuns();
    await startWorker('w1', runs.executors('w1'));
    await startWorker('w2', runs.executors('w2'));
    for (const id of ['run_s1', 'run_s2', 'run_s3', 'run_s4']) web.add(id, `acme/widgets#${id}`);
    // Each worker takes one at a time (concurrency 1): two at once means one on each.
    await waitFor(() => runs.started.length === 2, 'two runs to start');
    expect(new Set(runs.started.map((s) => s.worker))).toEqual(new Set(['w1', 'w2']));
    for (const id of ['run_s1', 'run_s2', 'run_s3', 'run_s4']) runs.release(id);
    await waitFor(() => ['run_s1', 'run_s2', 'run_s3', 'run_s4'].every((id) => finished(web, id)), 'all runs to finish');
    const byWorker = ['run_s1', 'run_s2', 'run_s3', 'run_s4'].map((id) => web.store.get(id)!.data.worker);
    expect(new Set(byWorker)).toEqual(new Set(['w1', 'w2']));
    expect(runs.started).toHaveLength(4);
  });

  it('stops a running task when the web process publishes its cancel, and never starts a cancelled queued one', async () => {
    const web = openWeb(await makeTempDir('autocoder-redis-'));
    const runs = fakeRuns();
    await startWorker('w1', runs.executors('w1'));
    web.add('run_c1', 'acme/widgets#1');
    web.add('run_c2', 'acme/widgets#2');
    await waitFor(() => runs.started.length === 1, 'the first run to start');
    const [first] = runs.started;
    const second = first.id === 'run_c1' ? 'run_c2' : 'run_c1';
    expect(web.store.get(first.id)?.state).toBe('running');
    // The second waits on the queue (the worker takes one at a time); it is cancelled as the intake does.
    expect(web.dispatch.isDispatched(second)).toBe(true);
    web.store.update(second, { cancelRequested: true, state: 'finished', endReason: 'cancelled', finishedAt: new Date().toISOString() });

    web.store.update(first.id, { cancelRequested: true });
    expect(web.queue.abort(first.id)).toBe(true);
    await waitFor(() => first.signal.aborted, 'the worker to stop the run');
    const task = await waitFor(() => finished(web, first.id), 'the run to finish');
    expect(task.endReason).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 500));
    expect(runs.started.map((s) => s.id)).toEqual([first.id]);
    expect(web.store.get(second)?.endReason).toBe('cancelled');
  });

  it('applies every update once, also those written while the web process was down', async () => {
    const dir = await makeTempDir('autocoder-redis-');
    const web = openWeb(dir);
    const seen: RunEvent[] = [];
    web.bus.onAnyEvent((event) => seen.push(event));
    const runs = fakeRuns();
    await startWorker('w1', runs.executors('w1'));
    web.add('run_u1');
    await waitFor(() => web.store.events('run_u1').length === 1 && web.store.get('run_u1')?.state === 'running', 'the first event in SQLite');
    expect(seen.map((e) => e.seq)).toEqual([0]);

    await web.close();
    // The run goes on and ends while nobody reads the stream.
    runs.release('run_u1');
    await new Promise((r) => setTimeout(r, 500));

    const again = openWeb(dir);
    const task = await waitFor(() => finished(again, 'run_u1'), 'the run to finish in the new web process');
    expect(task.data).toMatchObject({ ranBy: 'w1', worker: 'w1', progress: { phase: 'working' } });
    expect(again.store.events('run_u1').map((e) => e.seq)).toEqual([0, 1]);
    expect(again.dispatch.isDispatched('run_u1')).toBe(false);
    await again.close();
    // A third start re-applies nothing: the cursor is in SQLite.
    const third = openWeb(dir);
    const changes: string[] = [];
    third.bus.onTaskChanged((id) => changes.push(id));
    await new Promise((r) => setTimeout(r, 300));
    expect(changes).toEqual([]);
    expect(third.store.events('run_u1')).toHaveLength(2);
  });

  it('puts a run stopped by a worker shutdown back on the queue, and another worker finishes it', async () => {
    const web = openWeb(await makeTempDir('autocoder-redis-'));
    const runs = fakeRuns();
    const first = await startWorker('w1', runs.executors('w1'));
    web.add('run_sd1');
    await waitFor(() => runs.started.length === 1, 'the run to start');
    // SIGTERM: the run does not end within the timeout, so it is stopped with a ShutdownError.
    await first.stop(200);
    expect(runs.started[0].signal.aborted).toBe(true);
    await waitFor(() => web.store.get('run_sd1')?.state === 'queued', 'the task to be queued again');
    expect(web.store.get('run_sd1')?.endReason).toBeUndefined();
    expect(await jobCounts()).toMatchObject({ waiting: 1, failed: 0 });

    await startWorker('w2', runs.executors('w2'));
    await waitFor(() => runs.started.length === 2, 'the run to start again');
    runs.release('run_sd1');
    const task = await waitFor(() => finished(web, 'run_sd1'), 'the run to finish');
    expect(task).toMatchObject({ endReason: 'completed', attempts: 2, data: { worker: 'w2', ranBy: 'w2' } });
    // It numbered its events on from the first worker's.
    expect(web.store.events('run_sd1').map((e) => e.seq)).toEqual([0, 1, 2, 3]);
  });

  it('gives the run of a vanished worker to another, and reports it failed when that one vanishes too', async () => {
    const web = openWeb(await makeTempDir('autocoder-redis-'));
    const runs = fakeRuns();
    const first = await startWorker('w1', runs.executors('w1'), { lockMs: 500 });
    web.add('run_v1');
    await waitFor(() => runs.started.length === 1, 'the run to start');
    await first.vanish();
    const second = await startWorker('w2', runs.executors('w2'), { lockMs: 500 });
    await waitFor(() => runs.started.length === 2, 'the run to be taken up again', 15_000);
    expect(runs.started.map((s) => s.worker)).toEqual(['w1', 'w2']);
    await waitFor(() => web.store.get('run_v1')?.data.worker === 'w2', 'the task to say where it runs now');
    expect(web.store.get('run_v1')).toMatchObject({ state: 'running', attempts: 2 });
    await second.vanish();
    // Stalled a second time: failed for good, and the front-end is told (the progress comment).
    await startWorker('w3', runs.executors('w3'), { lockMs: 500 });
    const task = await waitFor(() => finished(web, 'run_v1'), 'the task to fail', 15_000);
    expect(task.endReason).toBe('failed');
    expect(task.error).toContain('stalled');
    expect(web.abandoned.map((t) => t.id)).toEqual(['run_v1']);
    expect(runs.started).toHaveLength(2);
  }, 60_000);

  it('tries a crashing executor again with backoff, then reports the task failed', async () => {
    const web = openWeb(await makeTempDir('autocoder-redis-'), { jobAttempts: 2 });
    const runs = fakeRuns();
    let crashes = 0;
    await startWorker('w1', runs.executors('w1', () => (crashes++, true)));
    web.add('run_x1');
    const task = await waitFor(() => finished(web, 'run_x1'), 'the task to fail', 15_000);
    expect(crashes).toBe(2);
    expect(task.endReason).toBe('failed');
    expect(task.error).toContain('the executor crashed');
    expect(web.abandoned.map((t) => t.id)).toEqual(['run_x1']);
  });

  it('lets a run go on when Redis restarts without its data mid-run, and gives it to no second worker', async () => {
    const web = openWeb(await makeTempDir('autocoder-redis-'), { lockMs: 500 });
    const runs = fakeRuns();
    await startWorker('w1', runs.executors('w1'), { lockMs: 500 });
    await startWorker('w2', runs.executors('w2'), { lockMs: 500 });
    web.add('run_l1');
    await waitFor(() => web.store.get('run_l1')?.state === 'running', 'the run to start');
    await redis.kill();
    await redis.restart();
    // Several lock periods with the job gone from Redis: the heartbeats say the run goes on.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(runs.started.map((s) => s.id)).toEqual(['run_l1']);
    expect(web.store.get('run_l1')?.state).toBe('running');
    runs.release('run_l1');
    const task = await waitFor(() => finished(web, 'run_l1'), 'the run to finish', 20_000);
    expect(task.endReason).toBe('completed');
    expect(runs.started).toHaveLength(1);
  }, 60_000);

  it('answers "not ready" at once while Redis is down, and goes on taking runs when it is back', async () => {
    const web = openWeb(await makeTempDir('autocoder-redis-'));
    const runs = fakeRuns();
    await startWorker('w1', runs.executors('w1'));
    expect(await web.queue.ready()).toBe(true);
    await redis.kill();
    await waitFor(async () => (await web.queue.ready()) === false, 'the queue to say Redis is down', 5_000);

    web.add('run_r1');
    await redis.restart();
    await waitFor(() => web.queue.ready(), 'Redis to be back');
    await waitFor(() => runs.started.length === 1, 'the worker to take the run', 20_000);
    runs.release('run_r1');
    const task = await waitFor(() => finished(web, 'run_r1'), 'the run to finish', 20_000);
    expect(task.endReason).toBe('completed');
  }, 60_000);
});
