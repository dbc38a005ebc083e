import type { Redis } from 'ioredis';
import type { RunEvent } from '../engine/events.js';
import type { SessionRecord, SessionStore } from '../engine/session.js';
import type { RunStore } from '../store/run-store.js';
import type { TaskPatch, TaskRecord } from '../store/tasks.js';
import { isShutdown } from './embedded-queue.js';
import { eventsKey, KEY_TTL_SECONDS, UPDATES_STREAM, type RunJobData, type RunUpdate } from './redis-protocol.js';

/** One run this worker executes: its task as the run sees it, its thread, events and sessions. */
interface RunContext {
  task: TaskRecord;
  thread: TaskRecord[];
  events: RunEvent[];
  sessions: Map<string, SessionRecord>;
  repoUsage: RunJobData['repoUsage'];
  signal: AbortSignal;
}

function applyPatch(task: TaskRecord, patch: TaskPatch): TaskRecord {
  const next = { ...task, updatedAt: new Date().toISOString() } as TaskRecord & Record<string, unknown>;
  for (const [key, value] of Object.entries(patch)) {
    if (key === 'data') continue;
    next[key] = value === null ? undefined : value;
  }
  if (patch.data) next.data = { ...task.data, ...patch.data };
  return next;
}

/**
 * The store and the session store of a worker process, for the executors: served from the data
 * of the jobs it runs (one context per running task, found by task id, thread or session id),
 * every write applied here and sent to the web process on the updates stream, in order.
 */
export class RemoteTaskStore implements RunStore, SessionStore {
  private readonly runs = new Map<string, RunContext>();
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly redis: Redis) {}

  /** Registers a run; events a worker wrote before this one took the job up are added. */
  async open(data: RunJobData, signal: AbortSignal): Promise<TaskRecord> {
    const earlier = (await this.redis.lrange(eventsKey(data.task.id), 0, -1)).map((line) => JSON.parse(line) as RunEvent);
    const bySeq = new Map<number, RunEvent>();
    for (const event of [...data.events, ...earlier]) bySeq.set(event.seq, event);
    this.runs.set(data.task.id, {
      task: data.task,
      thread: data.thread,
      events: [...bySeq.values()].sort((a, b) => a.seq - b.seq),
      sessions: new Map(data.sessions.map((s) => [s.id, s])),
      repoUsage: data.repoUsage,
      signal,
    });
    return data.task;
  }

  /** The run is over: its writes are on their way (awaited) and it is forgotten. */
  async close(taskId: string, finished: boolean): Promise<void> {
    this.runs.delete(taskId);
    if (finished) this.track(this.redis.del(eventsKey(taskId)));
    await this.flush();
  }

  /** Waits until every write sent so far has reached Redis. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Sends one update; Redis keeps the order of one connection's commands. */
  send(update: RunUpdate): void {
    this.track(this.redis.xadd(UPDATES_STREAM, '*', 'u', JSON.stringify(update)));
  }

  private track(promise: Promise<unknown>): void {
    const tracked = promise.finally(() => this.pending.delete(tracked));
    // A write that failed for good is lost; the web process still learns the run's end from BullMQ.
    tracked.catch(() => {});
    this.pending.add(tracked);
  }

  started(taskId: string, worker: string, attempts: number): void {
    const run = this.runs.get(taskId);
    if (!run) return;
    const at = new Date().toISOString();
    run.task = applyPatch(run.task, { state: 'running', attempts, startedAt: at, data: { worker } });
    this.send({ op: 'started', taskId, worker, attempts, at });
  }

  // --- RunStore

  get<Request = unknown>(id: string): TaskRecord<Request> | undefined {
    return this.runs.get(id)?.task as TaskRecord<Request> | undefined;
  }

  update(id: string, patch: TaskPatch): TaskRecord | undefined {
    const run = this.runs.get(id);
    if (!run) return undefined;
    let sent = patch;
    // A run stopped by a shutdown is not over: it is queued again (see RunWorker), not finished.
    if (isShutdown(run.signal) && patch.state === 'finished') {
      const { state: _s, endReason: _e, finishedAt: _f, ...rest } = patch;
      sent = rest;
    }
    run.task = applyPatch(run.task, sent);
    if (Object.keys(sent).length > 0) this.send({ op: 'update', taskId: id, patch: sent });
    return run.task;
  }

  events(taskId: string, afterSeq = -1): RunEvent[] {
    return (this.runs.get(taskId)?.events ?? []).filter((event) => event.seq > afterSeq);
  }

  appendEvent(event: RunEvent): void {
    const run = this.runs.get(event.taskId);
    if (!run) return;
    if (run.events.some((e) => e.seq === event.seq)) return;
    run.events.push(event);
    const line = JSON.stringify(event);
    this.track(this.redis.multi().rpush(eventsKey(event.taskId), line).expire(eventsKey(event.taskId), KEY_TTL_SECONDS).exec());
    this.send({ op: 'event', event });
  }

  nextSeq(taskId: string): number {
    const events = this.runs.get(taskId)?.events ?? [];
    return events.length === 0 ? 0 : Math.max(...events.map((e) => e.seq)) + 1;
  }

  /** The day's usage of the repository as the web process counted it when the run was queued. */
  repoUsage(repo: string, fromIso: string, toIso: string, exceptTaskId = ''): { runs: number; tokens: number } {
    for (const run of this.runs.values()) {
      const usage = run.repoUsage;
      if (!usage || usage.repo.toLowerCase() !== repo.toLowerCase() || usage.from !== fromIso || usage.to !== toIso) continue;
      // Counted without its own task; any other running here is counted already.
      if (exceptTaskId && exceptTaskId !== run.task.id) continue;
      return { runs: usage.runs, tokens: usage.tokens };
    }
    return { runs: 0, tokens: 0 };
  }

  byThread(threadKey: string): TaskRecord[] {
    for (const run of this.runs.values()) {
      if (run.task.threadKey !== threadKey) continue;
      return run.thread.map((task) => (task.id === run.task.id ? run.task : task));
    }
    return [];
  }

  // --- SessionStore

  async getSession(id: string): Promise<SessionRecord | undefined> {
    for (const run of this.runs.values()) {
      const found = run.sessions.get(id);
      if (found) return found;
    }
    return undefined;
  }

  async latestSession(cwd: string): Promise<SessionRecord | undefined> {
    const all = [...this.runs.values()].flatMap((run) => [...run.sessions.values()]).filter((s) => s.cwd === cwd);
    return all.sort((a, b) => a.updatedAt.localeCompare(b.updatedAt)).at(-1);
  }

  async saveSession(record: Omit<SessionRecord, 'createdAt' | 'updatedAt'>): Promise<void> {
    const now = new Date().toISOString();
    for (const run of this.runs.values()) {
      if (run.sessions.has(record.id) || run.task.threadKey && record.id === `github:${run.task.threadKey}` || (run.task.request as { session?: unknown })?.session === record.id) {
        run.sessions.set(record.id, { ...record, createdAt: run.sessions.get(record.id)?.createdAt ?? now, updatedAt: now });
      }
    }
    this.send({ op: 'session', record });
  }
}
