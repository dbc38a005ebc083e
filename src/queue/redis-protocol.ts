import type { RunEvent } from '../engine/events.js';
import type { SessionRecord } from '../engine/session.js';
import type { TaskPatch, TaskRecord } from '../store/tasks.js';

/**
 * What the web process and `autocoder worker` processes say to each other through Redis. The
 * web process is the store of record (SQLite); workers get what a run needs in the job's data and
 * send every write back on one stream, which the web process applies in order.
 */
export const RUN_QUEUE = 'autocoder-runs';
/** Workers' writes, read by the web process with a blocking XREAD from the last id it applied. */
export const UPDATES_STREAM = 'autocoder:updates';
/** Task ids to stop, for whichever worker runs them. */
export const CANCEL_CHANNEL = 'autocoder:cancel';
/** Set when a task is cancelled, for a worker that takes the job up after the message went out. */
export const cancelKey = (taskId: string) => `autocoder:cancelled:${taskId}`;
/** A run's events as its workers wrote them, so a worker taking a stalled job up numbers on. */
export const eventsKey = (taskId: string) => `autocoder:events:${taskId}`;
/** How long those keys outlive their run. */
export const KEY_TTL_SECONDS = 7 * 24 * 3600;

/** The job's data: everything the executors read of the store, as it was when it was queued. */
export interface RunJobData {
  task: TaskRecord;
  /** The task's thread, other tasks included (a pull request's body sums up earlier runs). */
  thread: TaskRecord[];
  /** The events the task has so far (a run that is taken up again goes on numbering). */
  events: RunEvent[];
  /** Conversations the run may continue. */
  sessions: SessionRecord[];
  /** The repository's runs and tokens of the UTC day, other runs than this one (daily budgets). */
  repoUsage?: { repo: string; from: string; to: string; runs: number; tokens: number };
}

export type RunUpdate =
  | { op: 'started'; taskId: string; worker: string; attempts: number; at: string }
  | { op: 'update'; taskId: string; patch: TaskPatch }
  | { op: 'event'; event: RunEvent }
  | { op: 'session'; record: Omit<SessionRecord, 'createdAt' | 'updatedAt'> }
  /** A shutdown stopped the run: queued again, the job is back on the queue for another worker. */
  | { op: 'requeue'; taskId: string }
  /** The worker ended it without running it (cancelled before it started). */
  | { op: 'cancelled'; taskId: string; at: string }
  /** A worker's heartbeat: these runs go on there (the web process tells a live run from a lost one). */
  | { op: 'alive'; worker: string; taskIds: string[]; at: string };

/** The session ids a task's run may read: GitHub runs continue their thread, API tasks their `session`. */
export function sessionIdsOf(task: TaskRecord): string[] {
  const ids: string[] = [];
  if (task.threadKey) ids.push(`github:${task.threadKey}`);
  const session = (task.request as { session?: unknown } | null)?.session;
  if (typeof session === 'string') ids.push(session);
  return ids;
}
