import type { EndReason, RunEvent } from '../engine/events.js';
import type Database from 'better-sqlite3';
import type { Db } from './sqlite.js';

/**
 * A task's life: `received` (a trigger is stored, not yet checked) → `queued` → `running` →
 * `finished` (with an end reason); or `rejected` (not allowed, invalid config) and `done` (a
 * command such as status or help, answered without a run).
 */
export type TaskState = 'received' | 'queued' | 'running' | 'finished' | 'rejected' | 'done';
export const ACTIVE_STATES: TaskState[] = ['received', 'queued', 'running'];

export interface TaskRecord<Request = unknown> {
  id: string;
  source: string;
  state: TaskState;
  endReason?: EndReason;
  threadKey?: string;
  deliveryId?: string;
  repo?: string;
  issueNumber?: number;
  title?: string;
  model?: string;
  request: Request;
  /** What the front-end keeps about the task (progress comment, pull request, ...). */
  data: Record<string, unknown>;
  result?: TaskResult;
  error?: string;
  attempts: number;
  cancelRequested: boolean;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface TaskResult {
  summary: string;
  changedFiles: { path: string; change: string }[];
  usage: { promptTokens: number; completionTokens: number; totalTokens: number };
  steps: number;
  durationMs: number;
  sessionId?: string;
  patch?: string;
  [key: string]: unknown;
}

export interface NewTask {
  id: string;
  source: string;
  state: TaskState;
  threadKey?: string;
  deliveryId?: string;
  repo?: string;
  issueNumber?: number;
  title?: string;
  model?: string;
  request: unknown;
  data?: Record<string, unknown>;
}

export interface TaskPatch {
  state?: TaskState;
  endReason?: EndReason | null;
  title?: string;
  model?: string;
  /** Merged into the existing data. */
  data?: Record<string, unknown>;
  result?: TaskResult;
  error?: string | null;
  attempts?: number;
  cancelRequested?: boolean;
  startedAt?: string | null;
  finishedAt?: string | null;
}

export interface TaskFilter {
  state?: TaskState;
  source?: string;
  repo?: string;
  limit?: number;
}

interface Row {
  id: string;
  source: string;
  state: TaskState;
  end_reason: EndReason | null;
  thread_key: string | null;
  delivery_id: string | null;
  repo: string | null;
  issue_number: number | null;
  title: string | null;
  model: string | null;
  request: string;
  data: string;
  result: string | null;
  error: string | null;
  attempts: number;
  cancel_requested: number;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** A new task as the named values of its row's columns (`@id` … `@now`), serialised now. */
export type NewTaskRow = Record<'id' | 'source' | 'state' | 'request' | 'data' | 'now', string> &
  Record<'threadKey' | 'deliveryId' | 'repo' | 'title' | 'model', string | null> & { issueNumber: number | null };

/** {@link NewTaskRow} of a task; a value JSON cannot hold fails here. The inbox stores the same row. */
export function newTaskRow(task: NewTask): NewTaskRow {
  return {
    id: task.id,
    source: task.source,
    state: task.state,
    threadKey: task.threadKey ?? null,
    deliveryId: task.deliveryId ?? null,
    repo: task.repo ?? null,
    issueNumber: task.issueNumber ?? null,
    title: task.title ?? null,
    model: task.model ?? null,
    request: JSON.stringify(task.request),
    data: JSON.stringify(task.data ?? {}),
    now: new Date().toISOString(),
  };
}

function toRecord(row: Row): TaskRecord {
  return {
    id: row.id,
    source: row.source,
    state: row.state,
    endReason: row.end_reason ?? undefined,
    threadKey: row.thread_key ?? undefined,
    deliveryId: row.delivery_id ?? undefined,
    repo: row.repo ?? undefined,
    issueNumber: row.issue_number ?? undefined,
    title: row.title ?? undefined,
    model: row.model ?? undefined,
    request: JSON.parse(row.request),
    data: JSON.parse(row.data),
    result: row.result ? JSON.parse(row.result) : undefined,
    error: row.error ?? undefined,
    attempts: row.attempts,
    cancelRequested: row.cancel_requested === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at ?? undefined,
    finishedAt: row.finished_at ?? undefined,
  };
}

// The WHERE terms of the partial indexes in src/store/sqlite.ts (schema version 3), word for
// word: SQLite uses a partial index only for a query whose WHERE clause contains its terms.
const HAS_RUN = "json_extract(data, '$.run') IS NOT NULL";
const IS_ACTIVE = "state IN ('received', 'queued', 'running')";
const HAS_PLAN_COMMENT = "json_type(data, '$.planCommentId') IN ('integer', 'real')";
const HAS_PULL_REQUEST = "json_type(data, '$.pullRequestNumber') IN ('integer', 'real')";

const COLUMNS: Record<Exclude<keyof TaskPatch, 'data'>, string> = {
  state: 'state',
  endReason: 'end_reason',
  title: 'title',
  model: 'model',
  result: 'result',
  error: 'error',
  attempts: 'attempts',
  cancelRequested: 'cancel_requested',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
};

/** Tasks and their events in the embedded SQLite store. Every method is one short transaction. */
export class TaskStore {
  private readonly statements;

  /**
   * `onChange` hears of every task that was added or changed (live views follow it); for one just
   * added, also the state it was added in (so a listener need not read it back per delivery).
   */
  constructor(
    private readonly db: Db,
    private readonly onChange: (taskId: string, addedState?: TaskState) => void = () => {},
  ) {
    this.statements = {
      insert: db.prepare(
        `INSERT OR IGNORE INTO tasks (id, source, state, thread_key, delivery_id, repo, issue_number, title, model, request, data, created_at, updated_at)
         VALUES (@id, @source, @state, @threadKey, @deliveryId, @repo, @issueNumber, @title, @model, @request, @data, @now, @now)`,
      ),
      get: db.prepare<[string], Row>('SELECT * FROM tasks WHERE id = ?'),
      stateOf: db.prepare<[string], { state: TaskState }>('SELECT state FROM tasks WHERE id = ?'),
      byDelivery: db.prepare<[string], Row>('SELECT * FROM tasks WHERE delivery_id = ?'),
      byThread: db.prepare<[string], Row>('SELECT * FROM tasks WHERE thread_key = ? ORDER BY created_at, rowid'),
      nextQueued: db.prepare<[string], Row>(
        `SELECT * FROM tasks t WHERE state = 'queued'
           AND source IN (SELECT value FROM json_each(?))
           AND NOT EXISTS (SELECT 1 FROM tasks r WHERE r.state = 'running' AND r.thread_key = t.thread_key)
         ORDER BY created_at, rowid LIMIT 1`,
      ),
      claim: db.prepare("UPDATE tasks SET state = 'running', attempts = attempts + 1, started_at = @now, updated_at = @now WHERE id = @id"),
      inState: db.prepare<[string], Row>('SELECT * FROM tasks WHERE state = ? ORDER BY created_at, rowid'),
      countInState: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM tasks WHERE state = ?'),
      // The thread queries below read one thread's few rows of a kind through the partial indexes
      // of schema version 3 (src/store/sqlite.ts); their WHERE terms repeat the indexes' own, so
      // that SQLite can use them. A thread can hold thousands of tasks (a label added again and
      // again): reading and parsing all of them per delivery was the intake's largest cost.
      lastRunInThread: db.prepare<[string, string], Row>(
        `SELECT * FROM tasks WHERE thread_key = ? AND id != ? AND ${HAS_RUN}
         ORDER BY created_at DESC, rowid DESC LIMIT 1`,
      ),
      lastChangeRunInThread: db.prepare<[string, string], Row>(
        `SELECT * FROM tasks WHERE thread_key = ? AND id != ? AND ${HAS_RUN} AND json_extract(data, '$.run.mode') IS NOT 'plan'
         ORDER BY created_at DESC, rowid DESC LIMIT 1`,
      ),
      activeRunsInThread: db.prepare<[string, string], Row>(
        `SELECT * FROM tasks WHERE thread_key = ? AND id != ? AND ${IS_ACTIVE} AND ${HAS_RUN}
         ORDER BY created_at, rowid`,
      ),
      plansInThread: db.prepare<{ thread: string; except: string }, Row & { seq: number }>(
        `SELECT *, rowid AS seq FROM tasks WHERE thread_key = @thread AND id != @except AND ${HAS_PLAN_COMMENT}
         UNION
         SELECT *, rowid AS seq FROM tasks WHERE thread_key = @thread AND id != @except AND ${IS_ACTIVE} AND ${HAS_RUN}
           AND json_extract(data, '$.run.mode') = 'plan'
         ORDER BY created_at, seq`,
      ),
      lastPullRequestInThread: db.prepare<[string, string], { n: number }>(
        `SELECT json_extract(data, '$.pullRequestNumber') AS n FROM tasks WHERE thread_key = ? AND id != ? AND ${HAS_PULL_REQUEST}
         ORDER BY created_at DESC, rowid DESC LIMIT 1`,
      ),
      appendEvent: db.prepare('INSERT OR IGNORE INTO events (task_id, seq, type, body) VALUES (?, ?, ?, ?)'),
      events: db.prepare<[string, number], { body: string }>('SELECT body FROM events WHERE task_id = ? AND seq > ? ORDER BY seq'),
      lastSeq: db.prepare<[string], { seq: number | null }>('SELECT MAX(seq) AS seq FROM events WHERE task_id = ?'),
      // Read through tasks_runs_by_repo (schema v5): keep `repo = @repo COLLATE NOCASE` and the `data.run` term as they are.
      repoUsage: db.prepare<{ repo: string; from: string; to: string; except: string }, { runs: number; tokens: number | null }>(
        `SELECT COUNT(*) AS runs,
                SUM(COALESCE(json_extract(result, '$.usage.totalTokens'), json_extract(data, '$.usage.totalTokens'), 0)) AS tokens
           FROM tasks
          WHERE repo = @repo COLLATE NOCASE AND created_at >= @from AND created_at < @to AND id != @except
            AND state IN ('queued', 'running', 'finished') AND json_extract(data, '$.run') IS NOT NULL`,
      ),
      countByState: db.prepare<[], { state: TaskState; n: number }>('SELECT state, COUNT(*) AS n FROM tasks GROUP BY state'),
      countByOutcome: db.prepare<[], { state: TaskState; end_reason: EndReason | null; source: string; n: number }>(
        'SELECT state, end_reason, source, COUNT(*) AS n FROM tasks GROUP BY state, end_reason, source',
      ),
    };
  }

  /** Stores a new task; false when a task for the same delivery exists already. */
  insert(task: NewTask): boolean {
    const inserted = this.insertRow(task);
    if (inserted) this.onChange(task.id, task.state);
    return inserted;
  }

  /** Tells the store's listeners of tasks that another writer of the table added (the inbox's moves). */
  announceAdded(tasks: { id: string; state: TaskState }[]): void {
    for (const task of tasks) this.onChange(task.id, task.state);
  }

  private insertRow(task: NewTask): boolean {
    return this.statements.insert.run(newTaskRow(task)).changes === 1;
  }

  get<Request = unknown>(id: string): TaskRecord<Request> | undefined {
    const row = this.statements.get.get(id);
    return row ? (toRecord(row) as TaskRecord<Request>) : undefined;
  }

  /** A task's state alone, without reading (and parsing) the whole row. */
  stateOf(id: string): TaskState | undefined {
    return this.statements.stateOf.get(id)?.state;
  }

  byDelivery(deliveryId: string): TaskRecord | undefined {
    const row = this.statements.byDelivery.get(deliveryId);
    return row ? toRecord(row) : undefined;
  }

  byThread(threadKey: string): TaskRecord[] {
    return this.statements.byThread.all(threadKey).map(toRecord);
  }

  inState(state: TaskState): TaskRecord[] {
    return this.statements.inState.all(state).map(toRecord);
  }

  /** How many tasks are in a state, counted on the state index without reading the rows. */
  countInState(state: TaskState): number {
    return this.statements.countInState.get(state)?.n ?? 0;
  }

  // Thread queries: `exceptId` is the task asking, left out as it is not "earlier" for itself.
  // "A run" is a task with `data.run` (what the intake queued), as in {@link repoUsage}.

  /** The thread's newest run in any state. */
  lastRunInThread(threadKey: string, exceptId = ''): TaskRecord | undefined {
    const row = this.statements.lastRunInThread.get(threadKey, exceptId);
    return row ? toRecord(row) : undefined;
  }

  /** The thread's newest run that makes changes (a run whose mode is not `plan`). */
  lastChangeRunInThread(threadKey: string, exceptId = ''): TaskRecord | undefined {
    const row = this.statements.lastChangeRunInThread.get(threadKey, exceptId);
    return row ? toRecord(row) : undefined;
  }

  /** The thread's runs that are received, queued or running, oldest first. */
  activeRunsInThread(threadKey: string, exceptId = ''): TaskRecord[] {
    return this.statements.activeRunsInThread.all(threadKey, exceptId).map(toRecord);
  }

  /**
   * What approving a plan looks at, in thread order (oldest first): the tasks that posted a plan
   * comment (`data.planCommentId`), and the plan runs still under way.
   */
  plansInThread(threadKey: string, exceptId = ''): TaskRecord[] {
    return this.statements.plansInThread.all({ thread: threadKey, except: exceptId }).map(toRecord);
  }

  /** The number of the newest pull request the thread's tasks opened (`data.pullRequestNumber`). */
  lastPullRequestInThread(threadKey: string, exceptId = ''): number | undefined {
    return this.statements.lastPullRequestInThread.get(threadKey, exceptId)?.n;
  }

  update(id: string, patch: TaskPatch): TaskRecord | undefined {
    const updated = this.db.transaction(() => {
      const current = this.statements.get.get(id);
      if (!current) return undefined;
      const sets: string[] = ['updated_at = @now'];
      const params: Record<string, unknown> = { id, now: new Date().toISOString() };
      for (const [key, column] of Object.entries(COLUMNS) as [keyof typeof COLUMNS, string][]) {
        if (!(key in patch)) continue;
        let value = patch[key] as unknown;
        if (key === 'result' && value !== undefined) value = JSON.stringify(value);
        if (key === 'cancelRequested') value = value ? 1 : 0;
        sets.push(`${column} = @${key}`);
        params[key] = value ?? null;
      }
      if (patch.data) {
        sets.push('data = @data');
        params.data = JSON.stringify({ ...JSON.parse(current.data), ...patch.data });
      }
      this.updateStatement(sets).run(params);
      return toRecord(this.statements.get.get(id)!);
    })();
    if (updated) this.onChange(id);
    return updated;
  }

  // One UPDATE per set of columns, prepared the first time it is needed: the code uses a few
  // dozen combinations, and preparing costs more than running.
  private readonly updates = new Map<string, Database.Statement>();

  private updateStatement(sets: string[]): Database.Statement {
    const sql = `UPDATE tasks SET ${sets.join(', ')} WHERE id = @id`;
    let statement = this.updates.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.updates.set(sql, statement);
    }
    return statement;
  }

  /**
   * Takes the oldest queued task whose thread has nothing running and marks it running, in one
   * transaction, so two takers never get the same task and a thread never runs twice at once.
   * Only tasks of the given sources are taken (those this process can execute).
   */
  claimNext(sources: string[]): TaskRecord | undefined {
    const claimed = this.db.transaction(() => {
      const row = this.statements.nextQueued.get(JSON.stringify(sources));
      if (!row) return undefined;
      const now = new Date().toISOString();
      this.statements.claim.run({ id: row.id, now });
      return toRecord(this.statements.get.get(row.id)!);
    })();
    if (claimed) this.onChange(claimed.id);
    return claimed;
  }

  list(filter: TaskFilter = {}): TaskRecord[] {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: filter.limit ?? 100 };
    if (filter.state) {
      where.push('state = @state');
      params.state = filter.state;
    }
    if (filter.source) {
      where.push('source = @source');
      params.source = filter.source;
    }
    if (filter.repo) {
      where.push('repo = @repo');
      params.repo = filter.repo;
    }
    const sql = `SELECT * FROM tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, rowid DESC LIMIT @limit`;
    return this.db.prepare<Record<string, unknown>, Row>(sql).all(params).map(toRecord);
  }

  countByState(): Record<string, number> {
    return Object.fromEntries(this.statements.countByState.all().map((row) => [row.state, row.n]));
  }

  /** Task counts by state, end reason and source (for metrics). */
  countByOutcome(): { state: TaskState; endReason?: EndReason; source: string; count: number }[] {
    return this.statements.countByOutcome.all().map((row) => ({
      state: row.state,
      endReason: row.end_reason ?? undefined,
      source: row.source,
      count: row.n,
    }));
  }

  /**
   * Runs asked for on one repository in a time window (GitHub runs: those with a run planned,
   * queued, running or finished; commands and rejected triggers are not runs), and the tokens
   * they used: the result's, or for a run still going the live count it keeps in `data.usage`.
   */
  repoUsage(repo: string, fromIso: string, toIso: string, exceptTaskId = ''): { runs: number; tokens: number } {
    const row = this.statements.repoUsage.get({ repo, from: fromIso, to: toIso, except: exceptTaskId });
    return { runs: row?.runs ?? 0, tokens: row?.tokens ?? 0 };
  }

  appendEvent(event: RunEvent): void {
    this.statements.appendEvent.run(event.taskId, event.seq, event.type, JSON.stringify(event));
  }

  events(taskId: string, afterSeq = -1): RunEvent[] {
    return this.statements.events.all(taskId, afterSeq).map((row) => JSON.parse(row.body) as RunEvent);
  }

  /** The next sequence number for a task's events (runs that are retried go on numbering). */
  nextSeq(taskId: string): number {
    const row = this.statements.lastSeq.get(taskId);
    return row?.seq === null || row?.seq === undefined ? 0 : row.seq + 1;
  }
}
