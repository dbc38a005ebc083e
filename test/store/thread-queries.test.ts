import { afterEach, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../src/store/sqlite.js';
import { ACTIVE_STATES, TaskStore, type TaskRecord, type TaskState } from '../../src/store/tasks.js';
import { makeTempDir } from '../helpers/temp-repo.js';

// The intake's thread queries (src/store/tasks.ts), each checked against what the intake used to
// compute from the whole thread (`byThread` filtered in JavaScript), on a real SQLite file.

let db: Db | undefined;
let dir: string | undefined;
afterEach(async () => {
  db?.close();
  db = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function open() {
  dir = await makeTempDir('autocoder-store-');
  db = openDatabase(dir);
  n = 0;
  return { db, store: new TaskStore(db) };
}

const THREAD = 'acme/widgets#5';
let n = 0;

/** A task on the thread, as the intake and the runner leave it. */
function add(store: TaskStore, state: TaskState, data: Record<string, unknown> = {}, threadKey = THREAD): TaskRecord {
  const id = `task-${++n}`;
  store.insert({ id, source: 'github', state: 'received', threadKey, deliveryId: `d-${id}`, repo: 'acme/widgets', issueNumber: 5, request: { id } });
  return store.update(id, { state, data })!;
}
const run = (mode: 'run' | 'plan' | 'revision', extra: Record<string, unknown> = {}) => ({ run: { mode, branch: 'autocoder/issue-5', issueNumber: 5 }, ...extra });

/** What intake.ts computed before, from the whole thread. */
function reference(store: TaskStore, self: string) {
  const others = store.byThread(THREAD).filter((t) => t.id !== self);
  const planning = others.filter((t) => typeof t.data.planCommentId === 'number' || ((t.data.run as { mode?: string } | undefined)?.mode === 'plan' && ACTIVE_STATES.includes(t.state)));
  let lastPullRequest: number | undefined;
  for (const t of others) if (typeof t.data.pullRequestNumber === 'number') lastPullRequest = t.data.pullRequestNumber;
  return {
    lastRun: others.filter((t) => t.data.run).at(-1)?.id,
    lastChangeRun: others.filter((t) => t.data.run && (t.data.run as { mode?: string }).mode !== 'plan').at(-1)?.id,
    activeRuns: others.filter((t) => ACTIVE_STATES.includes(t.state) && t.data.run).map((t) => t.id),
    planning: planning.map((t) => t.id),
    lastPullRequest,
  };
}

function actual(store: TaskStore, self: string) {
  return {
    lastRun: store.lastRunInThread(THREAD, self)?.id,
    lastChangeRun: store.lastChangeRunInThread(THREAD, self)?.id,
    activeRuns: store.activeRunsInThread(THREAD, self).map((t) => t.id),
    planning: store.plansInThread(THREAD, self).map((t) => t.id),
    lastPullRequest: store.lastPullRequestInThread(THREAD, self),
  };
}

describe('TaskStore thread queries', () => {
  it('answer what the whole thread filtered in JavaScript answered, as the thread grows', async () => {
    const { store } = await open();
    const self = add(store, 'received').id;
    expect(actual(store, self)).toEqual({ lastRun: undefined, lastChangeRun: undefined, activeRuns: [], planning: [], lastPullRequest: undefined });

    // Another thread's tasks never count.
    add(store, 'queued', run('run', { pullRequestNumber: 99, planCommentId: 98 }), 'acme/widgets#6');
    // Commands and rejected triggers have no run.
    add(store, 'done');
    add(store, 'rejected');
    const steps: [TaskState, Record<string, unknown>][] = [
      ['finished', run('run', { pullRequestNumber: 12 })],
      ['finished', run('plan', { planCommentId: 301 })],
      ['received', {}],
      ['queued', run('run')],
      ['running', run('plan')],
      ['finished', run('revision', { pullRequestNumber: 14 })],
      ['queued', run('plan', { planCommentId: 302 })],
      ['finished', { pullRequestNumber: 'not a number', planCommentId: '7' }],
      ['done', {}],
    ];
    for (const [state, data] of steps) {
      add(store, state, data);
      expect(actual(store, self)).toEqual(reference(store, self));
    }
    // The last of each kind, to show the comparison above compared something.
    expect(actual(store, self)).toMatchObject({ lastRun: 'task-11', lastChangeRun: 'task-10', lastPullRequest: 14, activeRuns: ['task-8', 'task-9', 'task-11'], planning: ['task-6', 'task-9', 'task-11'] });
    // The task asking is left out, whatever it is.
    expect(actual(store, 'task-11')).toEqual(reference(store, 'task-11'));
    expect(store.lastRunInThread(THREAD, 'task-11')?.id).toBe('task-10');
  });

  it('follows tasks as they change state and data', async () => {
    const { store } = await open();
    const self = add(store, 'received').id;
    const queued = add(store, 'queued', run('run'));
    expect(store.activeRunsInThread(THREAD, self).map((t) => t.id)).toEqual([queued.id]);
    store.update(queued.id, { state: 'finished', endReason: 'completed', data: { pullRequestNumber: 21 } });
    expect(store.activeRunsInThread(THREAD, self)).toEqual([]);
    expect(store.lastPullRequestInThread(THREAD, self)).toBe(21);
    expect(store.lastRunInThread(THREAD, self)?.data).toMatchObject({ pullRequestNumber: 21, run: { mode: 'run' } });
    expect(actual(store, self)).toEqual(reference(store, self));
  });

  it('orders tasks stored in the same millisecond as they were stored', async () => {
    const { db, store } = await open();
    const tasks = Array.from({ length: 5 }, (_, i) => ({ id: `same-${i}`, source: 'github', state: 'queued' as const, threadKey: THREAD, request: {}, data: run(i % 2 ? 'plan' : 'run', { planCommentId: 400 + i, pullRequestNumber: 500 + i }) }));
    for (const task of tasks) store.insert(task);
    // Only the insertion order tells them apart now.
    db.prepare("UPDATE tasks SET created_at = '2026-12-01T10:00:00.000Z'").run();
    expect(actual(store, '')).toEqual(reference(store, ''));
    expect(store.lastPullRequestInThread(THREAD)).toBe(504);
    expect(store.lastChangeRunInThread(THREAD)?.id).toBe('same-4');
    expect(store.lastRunInThread(THREAD)?.id).toBe('same-4');
    expect(store.plansInThread(THREAD).map((t) => t.id)).toEqual(['same-0', 'same-1', 'same-2', 'same-3', 'same-4']);
  });

  it('counts the tasks in a state', async () => {
    const { store } = await open();
    expect(store.countInState('queued')).toBe(0);
    add(store, 'queued', run('run'));
    add(store, 'queued', run('run'), 'acme/widgets#6');
    add(store, 'running', run('run'));
    expect(store.countInState('queued')).toBe(store.inState('queued').length);
    expect(store.countInState('queued')).toBe(2);
    expect(store.countInState('finished')).toBe(0);
  });

  it('read the thread through its indexes, not the whole thread', async () => {
    const { db, store } = await open();
    // The statements TaskStore prepared (private: read here only to explain their query plans).
    const statements = store['statements'] as unknown as Record<string, { source: string }>;
    const plan = (name: string) => {
      const sql = statements[name].source;
      const params = sql.includes('@thread') ? [{ thread: THREAD, except: '' }] : [THREAD, ''].slice(0, sql.split('?').length - 1);
      return db
        .prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .all(...params)
        .map((row) => (row as { detail: string }).detail)
        .join('\n');
    };
    const expected: Record<string, string[]> = {
      lastRunInThread: ['tasks_runs_by_thread'],
      lastChangeRunInThread: ['tasks_runs_by_thread'],
      activeRunsInThread: ['tasks_active_runs_by_thread'],
      plansInThread: ['tasks_plans_by_thread', 'tasks_active_runs_by_thread'],
      lastPullRequestInThread: ['tasks_pull_requests_by_thread'],
    };
    for (const [name, indexes] of Object.entries(expected)) {
      const detail = plan(name);
      for (const index of indexes) expect(detail, `${name}: ${detail}`).toContain(`USING INDEX ${index}`);
      if (name !== 'plansInThread') expect(detail, `${name}: ${detail}`).not.toContain('TEMP B-TREE');
    }
    expect(plan('countInState')).toContain('USING COVERING INDEX tasks_by_state');
  });
});

describe('TaskStore.repoUsage', () => {
  const DAY = { from: '2026-12-01T00:00:00.000Z', to: '2026-12-02T00:00:00.000Z' };

  /** A task of `repo` stored at `createdAt`, as the intake and the runner leave it. */
  function stored(store: TaskStore, db: Db, repo: string, createdAt: string, state: TaskState, data: Record<string, unknown>, result?: unknown) {
    const id = `task-${++n}`;
    store.insert({ id, source: 'github', state: 'received', threadKey: `${repo}#${n}`, deliveryId: `d-${id}`, repo, issueNumber: n, request: { id } });
    store.update(id, { state, data });
    // The result as the runner stores it, reduced to what is counted.
    db.prepare('UPDATE tasks SET created_at = ?, result = ? WHERE id = ?').run(createdAt, result ? JSON.stringify(result) : null, id);
    return id;
  }

  /** What repoUsage counts, from every task filtered in JavaScript. */
  function reference(db: Db, repo: string, except: string) {
    const rows = db.prepare<[], { id: string; repo: string | null; state: string; data: string; result: string | null; created_at: string }>('SELECT id, repo, state, data, result, created_at FROM tasks').all();
    let runs = 0;
    let tokens = 0;
    for (const row of rows) {
      const data = JSON.parse(row.data);
      const result = row.result ? JSON.parse(row.result) : undefined;
      if (row.repo?.toLowerCase() !== repo.toLowerCase() || row.id === except || !['queued', 'running', 'finished'].includes(row.state) || data.run == null) continue;
      if (row.created_at < DAY.from || row.created_at >= DAY.to) continue;
      runs++;
      tokens += result?.usage?.totalTokens ?? data.usage?.totalTokens ?? 0;
    }
    return { runs, tokens };
  }

  it('counts a repository’s runs of the window and their tokens, whatever the case of its name, as the whole table filtered did', async () => {
    const { db, store } = await open();
    const runData = (extra: Record<string, unknown> = {}) => run('run', extra);
    const ids = [
      stored(store, db, 'acme/widgets', '2026-12-01T00:00:00.000Z', 'finished', runData(), { usage: { totalTokens: 100 } }),
      stored(store, db, 'Acme/Widgets', '2026-12-01T10:00:00.000Z', 'running', runData({ usage: { totalTokens: 40 } })),
      stored(store, db, 'ACME/WIDGETS', '2026-12-01T23:59:59.999Z', 'queued', runData()),
      // Left out: the day before and the day after, a command, a rejected trigger, a run not yet queued, another repository.
      stored(store, db, 'acme/widgets', '2026-11-30T23:59:59.999Z', 'finished', runData(), { usage: { totalTokens: 1000 } }),
      stored(store, db, 'acme/widgets', '2026-12-02T00:00:00.000Z', 'queued', runData()),
      stored(store, db, 'acme/widgets', '2026-12-01T11:00:00.000Z', 'done', {}),
      stored(store, db, 'acme/widgets', '2026-12-01T11:00:00.000Z', 'rejected', {}),
      stored(store, db, 'acme/widgets', '2026-12-01T11:00:00.000Z', 'received', runData()),
      stored(store, db, 'acme/gadgets', '2026-12-01T11:00:00.000Z', 'finished', runData(), { usage: { totalTokens: 7 } }),
    ];
    for (const repo of ['acme/widgets', 'ACME/widgets', 'acme/gadgets', 'acme/none']) {
      for (const except of ['', ids[1]]) expect(store.repoUsage(repo, DAY.from, DAY.to, except), `${repo} except ${except}`).toEqual(reference(db, repo, except));
    }
    // The figures, to show the comparison above compared something.
    expect(store.repoUsage('acme/WIDGETS', DAY.from, DAY.to)).toEqual({ runs: 3, tokens: 140 });
    expect(store.repoUsage('acme/widgets', DAY.from, DAY.to, ids[1])).toEqual({ runs: 2, tokens: 100 });
    expect(store.repoUsage('acme/gadgets', DAY.from, DAY.to)).toEqual({ runs: 1, tokens: 7 });
  });

  it('reads the repository’s runs of the day through tasks_runs_by_repo, not every task in those states', async () => {
    const { db, store } = await open();
    const statements = store['statements'] as unknown as Record<string, { source: string }>;
    const detail = db
      .prepare(`EXPLAIN QUERY PLAN ${statements.repoUsage.source}`)
      .all({ repo: 'acme/widgets', from: DAY.from, to: DAY.to, except: '' })
      .map((row) => (row as { detail: string }).detail)
      .join('\n');
    expect(detail).toContain('USING INDEX tasks_runs_by_repo (repo=? AND created_at>? AND created_at<?)');
    expect(detail).not.toContain('SCAN');
    expect(detail).not.toContain('tasks_by_state');
  });
});

describe('schema versions 3, 4 and 5', () => {
  it('adds the thread indexes, the inbox and the repository index to a database made by version 2, keeping its tasks', async () => {
    dir = await makeTempDir('autocoder-store-');
    // A version 2 database: the first two migrations' tables, one task with a pull request.
    const old = new Database(join(dir, 'autocoder.db'));
    old.exec(`CREATE TABLE sessions (id TEXT PRIMARY KEY, cwd TEXT NOT NULL, model TEXT NOT NULL, messages TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
      CREATE TABLE tasks (id TEXT PRIMARY KEY, source TEXT NOT NULL, state TEXT NOT NULL, end_reason TEXT, thread_key TEXT, delivery_id TEXT UNIQUE, repo TEXT, issue_number INTEGER,
        title TEXT, model TEXT, request TEXT NOT NULL, data TEXT NOT NULL DEFAULT '{}', result TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 0,
        cancel_requested INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, started_at TEXT, finished_at TEXT);
      CREATE INDEX tasks_by_state ON tasks (state, created_at);
      CREATE INDEX tasks_by_thread ON tasks (thread_key, created_at);
      CREATE TABLE events (task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE, seq INTEGER NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (task_id, seq));
      INSERT INTO tasks (id, source, state, end_reason, thread_key, request, data, created_at, updated_at)
        VALUES ('old-run', 'github', 'finished', 'completed', '${THREAD}', '{}', '{"run":{"mode":"run"},"pullRequestNumber":33}', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');
      PRAGMA user_version = 2;`);
    old.close();

    db = openDatabase(dir);
    expect(db.pragma('user_version', { simple: true })).toBe(5);
    expect(db.prepare('SELECT COUNT(*) AS n FROM inbox').get()).toEqual({ n: 0 });
    const indexes = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'tasks_%_by_thread'").all().map((r) => r.name).sort();
    expect(indexes).toEqual(['tasks_active_runs_by_thread', 'tasks_plans_by_thread', 'tasks_pull_requests_by_thread', 'tasks_runs_by_thread']);
    const store = new TaskStore(db);
    expect(store.lastPullRequestInThread(THREAD, 'new')).toBe(33);
    expect(store.lastRunInThread(THREAD, 'new')?.id).toBe('old-run');
  });

  it('adds the repository index to a database made by version 4, and its runs are counted through it', async () => {
    dir = await makeTempDir('autocoder-store-');
    // A version 4 database: what the first four migrations made, by hand, with one run of the day.
    const old = new Database(join(dir, 'autocoder.db'));
    old.exec(`CREATE TABLE sessions (id TEXT PRIMARY KEY, cwd TEXT NOT NULL, model TEXT NOT NULL, messages TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
      CREATE INDEX sessions_by_cwd ON sessions (cwd, updated_at);
      CREATE TABLE tasks (id TEXT PRIMARY KEY, source TEXT NOT NULL, state TEXT NOT NULL, end_reason TEXT, thread_key TEXT, delivery_id TEXT UNIQUE, repo TEXT, issue_number INTEGER,
        title TEXT, model TEXT, request TEXT NOT NULL, data TEXT NOT NULL DEFAULT '{}', result TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 0,
        cancel_requested INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, started_at TEXT, finished_at TEXT);
      CREATE INDEX tasks_by_state ON tasks (state, created_at);
      CREATE INDEX tasks_by_thread ON tasks (thread_key, created_at);
      CREATE TABLE events (task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE, seq INTEGER NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (task_id, seq));
      CREATE INDEX tasks_runs_by_thread ON tasks (thread_key, created_at) WHERE json_extract(data, '$.run') IS NOT NULL;
      CREATE INDEX tasks_active_runs_by_thread ON tasks (thread_key, created_at) WHERE state IN ('received', 'queued', 'running') AND json_extract(data, '$.run') IS NOT NULL;
      CREATE INDEX tasks_plans_by_thread ON tasks (thread_key, created_at) WHERE json_type(data, '$.planCommentId') IN ('integer', 'real');
      CREATE INDEX tasks_pull_requests_by_thread ON tasks (thread_key, created_at) WHERE json_type(data, '$.pullRequestNumber') IN ('integer', 'real');
      CREATE TABLE inbox (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, source TEXT NOT NULL, state TEXT NOT NULL, thread_key TEXT, delivery_id TEXT, repo TEXT, issue_number INTEGER,
        title TEXT, model TEXT, request TEXT NOT NULL, data TEXT NOT NULL, created_at TEXT NOT NULL);
      INSERT INTO tasks (id, source, state, end_reason, thread_key, repo, request, data, result, created_at, updated_at)
        VALUES ('old-run', 'github', 'finished', 'completed', '${THREAD}', 'Acme/Widgets', '{}', '{"run":{"mode":"run"}}', '{"usage":{"totalTokens":250}}', '2026-12-01T09:00:00.000Z', '2026-12-01T09:00:00.000Z');
      PRAGMA user_version = 4;`);
    old.close();

    db = openDatabase(dir);
    expect(db.pragma('user_version', { simple: true })).toBe(5);
    expect(db.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'tasks_runs_by_repo'").get()).toEqual({
      sql: expect.stringMatching(/ON tasks \(repo COLLATE NOCASE, created_at\)\s+WHERE json_extract\(data, '\$\.run'\) IS NOT NULL$/),
    });
    const store = new TaskStore(db);
    expect(store.repoUsage('acme/widgets', '2026-12-01T00:00:00.000Z', '2026-12-02T00:00:00.000Z')).toEqual({ runs: 1, tokens: 250 });
    // Opening it again applies nothing twice.
    db.close();
    db = openDatabase(dir);
    expect(db.pragma('user_version', { simple: true })).toBe(5);
  });
});
