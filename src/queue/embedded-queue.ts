import type { Logger } from 'pino';
import { AutocoderError } from '../engine/errors.js';
import type { TaskRecord, TaskStore } from '../store/tasks.js';

/** The reason a task's signal fires when the process shuts down: the task is resumed after the restart. */
export class ShutdownError extends AutocoderError {
  constructor() {
    super('cancelled', 'autocoder is shutting down; the run will start again after the restart', { retryable: true });
  }
}

export function isShutdown(signal: AbortSignal): boolean {
  return signal.aborted && signal.reason instanceof ShutdownError;
}

/** Runs one task to its end; it records the outcome itself. */
export type TaskExecutor = (task: TaskRecord, signal: AbortSignal) => Promise<void>;

export interface RunQueue {
  /** Starts taking work; tasks left `running` by a previous process are recovered first. */
  start(): void;
  /** A task was queued: take it when a slot is free. */
  notify(): void;
  /** Stops a running task (true) — queued tasks are cancelled in the store by the caller. */
  abort(taskId: string, reason?: unknown): boolean;
  /** Task ids running in this process. */
  running(): string[];
  /** Stops taking work and waits for running tasks up to the timeout, then aborts them. */
  stop(timeoutMs?: number): Promise<void>;
}

export interface EmbeddedQueueOptions {
  store: TaskStore;
  concurrency: number;
  /** How to execute tasks, by their source (`github`, `api`); tasks of other sources wait. */
  executors: Map<string, TaskExecutor>;
  /** A task that was running when the process stopped and will not be tried again. */
  onAbandoned: (task: TaskRecord) => Promise<void>;
  log: Logger;
  /** Times a task is started in all before an interrupted one is given up (default 2). */
  maxAttempts?: number;
}

/** The queue in one process: the SQLite store is the queue, this schedules up to `concurrency` at once. */
export class EmbeddedQueue implements RunQueue {
  private readonly active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private accepting = false;

  constructor(private readonly options: EmbeddedQueueOptions) {}

  start(): void {
    const { store, log } = this.options;
    const maxAttempts = this.options.maxAttempts ?? 2;
    for (const task of store.inState('running')) {
      if (task.attempts < maxAttempts) {
        log.warn({ taskId: task.id, attempts: task.attempts }, 'task was interrupted by a restart; queued again');
        store.update(task.id, { state: 'queued' });
      } else {
        log.error({ taskId: task.id, attempts: task.attempts }, 'task was interrupted again; giving up');
        store.update(task.id, {
          state: 'finished',
          endReason: 'failed',
          error: 'autocoder stopped while this run was in progress, more than once',
          finishedAt: new Date().toISOString(),
        });
        void this.options.onAbandoned(store.get(task.id)!).catch((error) => {
          log.error({ err: error, taskId: task.id }, 'could not report an abandoned task');
        });
      }
    }
    this.accepting = true;
    this.notify();
  }

  notify(): void {
    if (!this.accepting) return;
    while (this.active.size < this.options.concurrency) {
      const task = this.options.store.claimNext([...this.options.executors.keys()]);
      if (!task) return;
      this.launch(task);
    }
  }

  private launch(task: TaskRecord): void {
    const controller = new AbortController();
    const done = this.options.executors
      .get(task.source)!(task, controller.signal)
      .catch((error) => {
        this.options.log.error({ err: error, taskId: task.id }, 'task executor failed');
        const current = this.options.store.get(task.id);
        if (current?.state === 'running') {
          this.options.store.update(task.id, {
            state: 'finished',
            endReason: 'failed',
            error: error instanceof Error ? error.message : String(error),
            finishedAt: new Date().toISOString(),
          });
        }
      })
      .finally(() => {
        this.active.delete(task.id);
        // Stopped by a shutdown, not by anyone's wish: leave it to be taken up again.
        if (isShutdown(controller.signal)) {
          this.options.store.update(task.id, { state: 'queued', endReason: null, finishedAt: null, error: null });
        }
        this.notify();
      });
    this.active.set(task.id, { controller, done });
  }

  abort(taskId: string, reason?: unknown): boolean {
    const entry = this.active.get(taskId);
    if (!entry) return false;
    entry.controller.abort(reason);
    return true;
  }

  running(): string[] {
    return [...this.active.keys()];
  }

  async stop(timeoutMs = 30_000): Promise<void> {
    this.accepting = false;
    const all = Promise.all([...this.active.values()].map((entry) => entry.done));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([all.then(() => 'done' as const), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      for (const entry of this.active.values()) entry.controller.abort(new ShutdownError());
      await all;
    }
  }
}
