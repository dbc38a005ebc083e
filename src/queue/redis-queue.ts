import { Queue, QueueEvents, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RunEvent } from '../engine/events.js';
import { utcDay } from '../github/budgets.js';
import type { SessionStore } from '../engine/session.js';
import type { DispatchStore } from '../store/dispatch-store.js';
import { ACTIVE_STATES, type TaskRecord, type TaskStore } from '../store/tasks.js';
import type { EventBus } from './event-bus.js';
import type { RunQueue } from './embedded-queue.js';
import { connectRedis, logQueueErrors, redisAnswers } from './redis-connection.js';
import { within } from './within.js';
import {
  CANCEL_CHANNEL,
  cancelKey,
  KEY_TTL_SECONDS,
  RUN_QUEUE,
  sessionIdsOf,
  UPDATES_STREAM,
  type RunJobData,
  type RunUpdate,
} from './redis-protocol.js';

export interface RedisQueueOptions {
  url: string;
  store: TaskStore;
  dispatch: DispatchStore;
  sessions: SessionStore;
  bus: EventBus;
  /** The sources workers execute (`github`, `api`): tasks of other sources are never queued. */
  sources: () => string[];
  /** A task whose job failed for good (crashed too often, or stalled past the limit). */
  onAbandoned: (task: TaskRecord) => Promise<void>;
  log: Logger;
  /** Attempts of a job whose executor crashes (BullMQ retries with exponential backoff). */
  jobAttempts?: number;
  /** The workers' lock (AUTOCODER_WORKER_LOCK_MS): a run not heard of for twice this long is lost. */
  lockMs?: number;
  backoffMs?: number;
}

const isActive = (task: TaskRecord) => ACTIVE_STATES.includes(task.state);

/**
 * The run queue of a web process with REDIS_URL: it executes nothing. A dispatcher puts each
 * claimable task (the oldest queued one of a thread with nothing running or on the queue) on the
 * BullMQ queue, jobId = task id, with what a worker needs; workers' writes come back on a stream
 * and are applied to SQLite and the event bus, so every view shows every run.
 */
export class RedisRunQueue implements RunQueue {
  private readonly redis: Redis;
  private readonly reader: Redis;
  private readonly health: Redis;
  private readonly eventsConnection: Redis;
  private readonly queue: Queue;
  private readonly queueEvents: QueueEvents;
  private accepting = false;
  private stopped = false;
  private pumping = false;
  private pumpAgain = false;
  private reading: Promise<void> | undefined;
  private readonly unsubscribe: () => void;
  private readonly jobOptions: JobsOptions;
  /** When each run was last heard of from its worker (heartbeats); in memory, from this start on. */
  private readonly aliveAt = new Map<string, number>();
  private readonly startedAt = Date.now();
  private recheck: NodeJS.Timeout | undefined;

  constructor(private readonly options: RedisQueueOptions) {
    const { url, log } = options;
    this.redis = connectRedis(url, { log, role: 'web' });
    this.reader = connectRedis(url, { log, role: 'web-updates' });
    this.health = connectRedis(url, { log, role: 'web-health', failFast: true });
    this.eventsConnection = connectRedis(url, { log, role: 'web-queue-events' });
    this.queue = new Queue(RUN_QUEUE, { connection: this.redis });
    this.queueEvents = new QueueEvents(RUN_QUEUE, { connection: this.eventsConnection, autorun: false });
    this.jobOptions = {
      attempts: options.jobAttempts ?? 3,
      backoff: { type: 'exponential', delay: options.backoffMs ?? 2_000 },
      // A finished task is never queued again; done jobs are kept an hour (a restarted web process
      // still finds them), failed ones a week, for reading.
      removeOnComplete: { age: 3600 },
      removeOnFail: { age: KEY_TTL_SECONDS },
    };
    this.queue.on('error', logQueueErrors(this.redis, log, 'run queue error'));
    this.queueEvents.on('error', logQueueErrors(this.eventsConnection, log, 'run queue events error'));
    this.queueEvents.on('failed', ({ jobId, failedReason }) => {
      void this.jobFailed(jobId, failedReason).catch((error) => log.error({ err: error, taskId: jobId }, 'could not record a failed job'));
    });
    this.queueEvents.on('stalled', ({ jobId }) => log.warn({ taskId: jobId }, 'a worker stopped answering during this run; another takes it up'));
    this.unsubscribe = options.bus.onTaskChanged((taskId) => this.taskChanged(taskId));
    // Redis may have lost its data while away (no persistence): check what is on the queue.
    let connectedOnce = false;
    this.redis.on('ready', () => {
      if (connectedOnce && this.accepting) void this.reconcile();
      connectedOnce = true;
    });
  }

  start(): void {
    const { store, dispatch, log } = this.options;
    // Tasks left running without a job (a process that ran them itself before REDIS_URL was set).
    for (const task of store.inState('running')) {
      if (!dispatch.isDispatched(task.id)) {
        log.warn({ taskId: task.id }, 'task was running when the server stopped; queued again');
        store.update(task.id, { state: 'queued' });
      }
    }
    this.accepting = true;
    void this.queueEvents.run().catch((error) => {
      if (!this.stopped) log.error({ err: error }, 'run queue events stopped');
    });
    this.reading = this.readUpdates();
    void this.reconcile();
  }

  notify(): void {
    if (!this.accepting) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    // Never inside the caller's transaction: dispatching is its own.
    setImmediate(() => {
      void this.pump().finally(() => {
        this.pumping = false;
        if (this.pumpAgain) {
          this.pumpAgain = false;
          this.notify();
        }
      });
    });
  }

  /** Whether a webhook delivery may be accepted: Redis must answer, or runs could not be queued. */
  async ready(): Promise<boolean> {
    return redisAnswers(this.health);
  }

  abort(taskId: string, reason?: unknown): boolean {
    const task = this.options.store.get(taskId);
    if (!task || !isActive(task)) return false;
    void this.sendCancel(taskId, false);
    this.options.log.info({ taskId, reason: reason instanceof Error ? reason.message : undefined }, 'asked the workers to stop a run');
    return task.state === 'running' || this.options.dispatch.isDispatched(taskId);
  }

  /** Tasks running on some worker, as far as this process knows. */
  running(): string[] {
    return this.options.store.inState('running').map((task) => task.id);
  }

  async stop(): Promise<void> {
    this.accepting = false;
    this.stopped = true;
    this.unsubscribe();
    clearTimeout(this.recheck);
    // Ends the blocking XREAD; the loop sees `stopped` and returns.
    this.reader.disconnect();
    await this.reading?.catch(() => {});
    // Bounded: with Redis down, BullMQ's close would wait for it.
    await within(Promise.all([this.queueEvents.close(), this.queue.close()]).catch(() => {}), 5_000);
    for (const connection of [this.redis, this.health, this.eventsConnection]) connection.disconnect();
  }

  private async pump(): Promise<void> {
    const { dispatch, log } = this.options;
    while (this.accepting) {
      const task = dispatch.claimNext(this.options.sources());
      if (!task) return;
      try {
        await this.queue.add(task.source, await this.jobData(task), { ...this.jobOptions, jobId: task.id });
        log.debug({ taskId: task.id }, 'run put on the Redis queue');
      } catch (error) {
        dispatch.release(task.id);
        log.error({ err: error, taskId: task.id }, 'could not put a run on the Redis queue; trying again shortly');
        setTimeout(() => this.notify(), 2_000).unref();
        return;
      }
    }
  }

  private async jobData(task: TaskRecord): Promise<RunJobData> {
    const { store, sessions } = this.options;
    const found = await Promise.all(sessionIdsOf(task).map((id) => sessions.getSession(id)));
    const day = utcDay(new Date());
    return {
      repoUsage: task.repo ? { repo: task.repo, from: day.start, to: day.end, ...store.repoUsage(task.repo, day.start, day.end, task.id) } : undefined,
      task,
      thread: task.threadKey ? store.byThread(task.threadKey) : [task],
      events: store.events(task.id),
      sessions: found.filter((s) => s !== undefined),
    };
  }

  /** A task changed: one that ended frees its thread (and, when cancelled, its job is taken off the queue). */
  private taskChanged(taskId: string): void {
    const { store, dispatch } = this.options;
    if (!dispatch.isDispatched(taskId)) return;
    const task = store.get(taskId);
    if (task && isActive(task)) return;
    dispatch.release(taskId);
    this.forget(taskId);
    if (task?.cancelRequested) void this.sendCancel(taskId, true);
    this.notify();
  }

  private async sendCancel(taskId: string, removeJob: boolean): Promise<void> {
    try {
      await this.redis.multi().set(cancelKey(taskId), '1', 'EX', KEY_TTL_SECONDS).publish(CANCEL_CHANNEL, taskId).exec();
      // A job no worker has taken yet never runs; one that is running is stopped by its worker.
      if (removeJob) await this.queue.remove(taskId).catch(() => 0);
    } catch (error) {
      this.options.log.error({ err: error, taskId }, 'could not send a cancel to the workers');
    }
  }

  /** A job failed for good: the task fails, and its front-end says so (the progress comment). */
  private async jobFailed(jobId: string, reason: string): Promise<void> {
    const job = await this.queue.getJob(jobId);
    if (job && (await job.getState()) !== 'failed') return;
    const task = this.options.store.get(jobId);
    if (task && isActive(task)) await this.abandon(task, reason);
  }

  private async abandon(task: TaskRecord, reason: string): Promise<void> {
    const { store, log } = this.options;
    log.error({ taskId: task.id, reason }, 'run failed on the workers; giving up');
    store.update(task.id, {
      state: 'finished',
      endReason: 'failed',
      error: `the run could not be completed by a worker: ${reason}`,
      finishedAt: new Date().toISOString(),
    });
    await this.options.onAbandoned(store.get(task.id)!).catch((error) => {
      log.error({ err: error, taskId: task.id }, 'could not report an abandoned task');
    });
  }

  /** Start and after Redis came back: every dispatched task still has its job, or is queued again. */
  private async reconcile(): Promise<void> {
    const { store, dispatch, log } = this.options;
    try {
      for (const taskId of dispatch.dispatched()) {
        const task = store.get(taskId);
        if (!task || !isActive(task)) {
          dispatch.release(taskId);
          continue;
        }
        const job = await this.queue.getJob(taskId);
        if (!job) {
          // Redis restarted without its data. A run that a worker still executes goes on (its
          // writes still arrive); one not heard of for two lock periods is queued again.
          const lockMs = this.options.lockMs ?? 30_000;
          const lastSign = Math.max(Date.parse(task.updatedAt) || 0, this.aliveAt.get(taskId) ?? 0, this.startedAt);
          if (task.state === 'running' && Date.now() - lastSign < 2 * lockMs) {
            clearTimeout(this.recheck);
            this.recheck = setTimeout(() => void this.reconcile(), lockMs).unref();
            continue;
          }
          log.warn({ taskId }, 'the queue lost this run (Redis restarted without its data); queued again');
          dispatch.release(taskId);
          if (task.state === 'running') store.update(taskId, { state: 'queued' });
          continue;
        }
        if ((await job.getState()) === 'failed') await this.abandon(task, job.failedReason);
      }
    } catch (error) {
      log.warn({ err: error }, 'could not check the Redis queue');
    }
    this.notify();
  }

  private async readUpdates(): Promise<void> {
    const { dispatch, log } = this.options;
    let last = dispatch.cursor(UPDATES_STREAM) ?? '0';
    while (!this.stopped) {
      let reply: [string, [string, string[]][]][] | null;
      try {
        reply = (await this.reader.xread('COUNT', 200, 'BLOCK', 5_000, 'STREAMS', UPDATES_STREAM, last)) as typeof reply;
      } catch (error) {
        if (this.stopped) return;
        log.warn({ err: error }, 'could not read the workers’ updates; trying again');
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      if (!reply) continue;
      for (const [, entries] of reply) {
        for (const [id, fields] of entries) {
          const published: RunEvent[] = [];
          try {
            const update = JSON.parse(fields[fields.indexOf('u') + 1]) as RunUpdate;
            dispatch.applyAt(UPDATES_STREAM, id, () => this.apply(update, published));
          } catch (error) {
            // One bad entry must not stop every later one.
            log.error({ err: error, entry: id }, 'could not apply a worker’s update; skipped');
            dispatch.applyAt(UPDATES_STREAM, id, () => {});
          }
          for (const event of published) this.options.bus.publish(event);
          last = id;
        }
      }
      // Applied entries are of no more use to anyone. Not awaited: the loop ends as soon as it is stopped.
      void this.redis.xtrim(UPDATES_STREAM, 'MINID', last).catch(() => {});
    }
  }

  private apply(update: RunUpdate, published: RunEvent[]): void {
    const { store, sessions } = this.options;
    if (update.op === 'event') {
      if (!store.get(update.event.taskId)) return;
      store.appendEvent(update.event);
      published.push(update.event);
      return;
    }
    if (update.op === 'alive') {
      const at = Date.parse(update.at) || Date.now();
      for (const taskId of update.taskIds) this.aliveAt.set(taskId, Math.max(at, this.aliveAt.get(taskId) ?? 0));
      return;
    }
    if (update.op === 'session') {
      // The SQLite session store writes synchronously, inside this transaction.
      void sessions.saveSession(update.record);
      return;
    }
    const task = store.get(update.taskId);
    if (!task) return;
    switch (update.op) {
      case 'started':
        if (!isActive(task)) {
          // Ended here (cancelled) while a worker took it: that worker stops it.
          void this.sendCancel(task.id, false);
          return;
        }
        store.update(task.id, {
          state: 'running',
          attempts: Math.max(task.attempts, update.attempts),
          startedAt: update.at,
          endReason: null,
          finishedAt: null,
          error: null,
          data: { worker: update.worker },
        });
        return;
      case 'update': {
        this.aliveAt.set(task.id, Date.now());
        const patch = { ...update.patch };
        // A task that ended here does not come back to life from a late write.
        if (!isActive(task) && patch.state && patch.state !== 'finished') delete patch.state;
        store.update(task.id, patch);
        return;
      }
      case 'requeue':
        if (isActive(task)) store.update(task.id, { state: 'queued', endReason: null, finishedAt: null, error: null });
        return;
      case 'cancelled':
        if (isActive(task)) store.update(task.id, { state: 'finished', endReason: 'cancelled', cancelRequested: true, finishedAt: update.at });
        return;
    }
  }

  /** Forgets heartbeats of runs that ended. */
  private forget(taskId: string): void {
    this.aliveAt.delete(taskId);
  }
}
