import { hostname } from 'node:os';
import { WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { AutocoderError } from '../engine/errors.js';
import { isShutdown, ShutdownError, type TaskExecutor } from './embedded-queue.js';
import { connectRedis, logQueueErrors } from './redis-connection.js';
import { CANCEL_CHANNEL, cancelKey, RUN_QUEUE, type RunJobData } from './redis-protocol.js';
import { RemoteTaskStore } from './remote-store.js';
import { within } from './within.js';

/** How long a stopping worker waits for each step after its runs (their last writes, BullMQ's close). */
const STOP_STEP_MS = 10_000;

export interface RunWorkerOptions {
  url: string;
  concurrency: number;
  /**
   * The executors by task source, built on the worker's store: `executors(store)` is called once,
   * with the store that serves every job this worker runs.
   */
  executors: (store: RemoteTaskStore) => Map<string, TaskExecutor>;
  log: Logger;
  /** How long a job's lock lasts without renewal: a worker that died is noticed after about this long. */
  lockMs?: number;
  /** Times a job may be found stalled (its worker gone) and taken up again before it fails. */
  maxStalledCount?: number;
  /** This worker's name in the task's data (`worker`); default host:pid. */
  id?: string;
}

/**
 * `autocoder worker`'s engine: a BullMQ worker that runs queued tasks with the same executors as
 * the server, on a store served from the job and written back through Redis; stops a run when
 * the web process publishes its id on the cancel channel.
 */
export class RunWorker {
  readonly id: string;
  readonly store: RemoteTaskStore;
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly jobsConnection: Redis;
  private readonly worker: Worker<RunJobData>;
  private readonly active = new Map<string, AbortController>();
  /** Each running job's processing, to the end (the writes after the executor included). */
  private readonly processing = new Set<Promise<unknown>>();
  private readonly executors: Map<string, TaskExecutor>;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly options: RunWorkerOptions) {
    const { url, log } = options;
    this.id = options.id ?? `${hostname()}:${process.pid}`;
    this.redis = connectRedis(url, { log, role: 'worker' });
    this.subscriber = connectRedis(url, { log, role: 'worker-cancel' });
    this.jobsConnection = connectRedis(url, { log, role: 'worker-jobs' });
    this.store = new RemoteTaskStore(this.redis);
    this.executors = options.executors(this.store);
    const lockMs = options.lockMs ?? 30_000;
    this.worker = new Worker<RunJobData>(RUN_QUEUE, (job, token) => this.track(this.process(job, token)), {
      connection: this.jobsConnection,
      concurrency: options.concurrency,
      lockDuration: lockMs,
      stalledInterval: lockMs,
      maxStalledCount: options.maxStalledCount ?? 1,
      autorun: false,
    });
    this.worker.on('error', logQueueErrors(this.jobsConnection, log, 'worker queue error'));
    this.worker.on('failed', (job, error) => log.warn({ err: error, taskId: job?.id, attempts: job?.attemptsMade }, 'run attempt failed'));
    this.subscriber.on('message', (_channel, taskId: string) => {
      const controller = this.active.get(taskId);
      if (!controller) return;
      log.info({ taskId }, 'cancel requested; stopping the run');
      controller.abort(new AutocoderError('cancelled', 'cancelled on request'));
    });
  }

  async start(): Promise<void> {
    await this.subscriber.subscribe(CANCEL_CHANNEL);
    void this.worker.run().catch((error) => this.options.log.error({ err: error }, 'the worker stopped'));
    await this.worker.waitUntilReady();
    // The web process tells a run that goes on here from one lost with a Redis that lost its data.
    this.heartbeat = setInterval(() => {
      if (this.active.size > 0) this.store.send({ op: 'alive', worker: this.id, taskIds: [...this.active.keys()], at: new Date().toISOString() });
    }, Math.max(250, Math.floor((this.options.lockMs ?? 30_000) / 2)));
    this.heartbeat.unref();
  }

  /** Task ids running here. */
  running(): string[] {
    return [...this.active.keys()];
  }

  private track<T>(work: Promise<T>): Promise<T> {
    const settled: Promise<unknown> = work.catch(() => undefined).finally(() => this.processing.delete(settled));
    this.processing.add(settled);
    return work;
  }

  private async process(job: Job<RunJobData>, token?: string): Promise<void> {
    const data = job.data;
    const taskId = data.task.id;
    const log = this.options.log.child({ taskId, worker: this.id });
    const execute = this.executors.get(data.task.source);
    if (!execute) throw new AutocoderError('config_invalid', `this worker cannot run tasks of source "${data.task.source}"`);
    if (await this.redis.exists(cancelKey(taskId))) {
      // Cancelled while it waited (or between a worker's death and this one): it never starts.
      this.store.send({ op: 'cancelled', taskId, at: new Date().toISOString() });
      await this.store.flush();
      return;
    }
    const controller = new AbortController();
    this.active.set(taskId, controller);
    let finished = false;
    try {
      await this.store.open(data, controller.signal);
      this.store.started(taskId, this.id, data.task.attempts + job.attemptsStarted);
      log.info({ attempt: job.attemptsStarted }, 'run started');
      try {
        await execute(this.store.get(taskId)!, controller.signal);
        finished = !isShutdown(controller.signal);
      } catch (error) {
        // A crash of the executor itself: BullMQ tries the job again with backoff, up to its attempts.
        if (!isShutdown(controller.signal)) {
          log.error({ err: error }, 'task executor failed');
          throw error;
        }
      }
    } finally {
      this.active.delete(taskId);
      await this.store.close(taskId, finished);
    }
    if (isShutdown(controller.signal)) {
      // Not failed, not done: back on the queue for the next worker, without using an attempt.
      log.warn('worker shutting down: the run goes back on the queue');
      this.store.send({ op: 'requeue', taskId });
      await this.store.flush();
      await job.moveToWait(token);
      throw new WaitingError();
    }
  }

  /**
   * Gone at once, as with `kill -9`: no lock renewed, nothing finished or written any more. What
   * it ran is found stalled by the other workers. For tests of that fault in one process.
   */
  async vanish(): Promise<void> {
    clearInterval(this.heartbeat);
    for (const connection of [this.redis, this.subscriber, this.jobsConnection]) connection.disconnect();
    await this.worker.close(true).catch(() => {});
  }

  /**
   * Stops taking jobs and waits for running ones up to the timeout; then stops them with a
   * ShutdownError, so they go back on the queue for another worker. Every wait is bounded: with
   * Redis down, the worker still ends (what it could not write, Redis's stalled check recovers).
   */
  async stop(timeoutMs = 30_000): Promise<void> {
    const closing = this.worker.close().catch(() => undefined);
    const runs = () => Promise.all([...this.processing]);
    if ((await within(runs(), timeoutMs)) === 'timeout') {
      for (const controller of this.active.values()) controller.abort(new ShutdownError());
      await within(runs(), STOP_STEP_MS);
    }
    clearInterval(this.heartbeat);
    // The runs' last writes go out; with Redis down they would wait for ever, so not beyond a bound.
    await within(this.store.flush(), STOP_STEP_MS);
    await within(closing, STOP_STEP_MS);
    for (const connection of [this.subscriber, this.redis, this.jobsConnection]) connection.disconnect();
  }
}
