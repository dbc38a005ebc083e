import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { SessionRecord, SessionStore } from '../engine/session.js';

/** Schema versions, applied in order; a database remembers how far it got in `user_version`. */
const MIGRATIONS: string[] = [
  `CREATE TABLE sessions (
     id TEXT PRIMARY KEY,
     cwd TEXT NOT NULL,
     model TEXT NOT NULL,
     messages TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE INDEX sessions_by_cwd ON sessions (cwd, updated_at);`,
  `CREATE TABLE tasks (
     id TEXT PRIMARY KEY,
     source TEXT NOT NULL,
     state TEXT NOT NULL,
     end_reason TEXT,
     thread_key TEXT,
     delivery_id TEXT UNIQUE,
     repo TEXT,
     issue_number INTEGER,
     title TEXT,
     model TEXT,
     request TEXT NOT NULL,
     data TEXT NOT NULL DEFAULT '{}',
     result TEXT,
     error TEXT,
     attempts INTEGER NOT NULL DEFAULT 0,
     cancel_requested INTEGER NOT NULL DEFAULT 0,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     started_at TEXT,
     finished_at TEXT
   );
   CREATE INDEX tasks_by_state ON tasks (state, created_at);
   CREATE INDEX tasks_by_thread ON tasks (thread_key, created_at);
   CREATE TABLE events (
     task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
     seq INTEGER NOT NULL,
     type TEXT NOT NULL,
     body TEXT NOT NULL,
     PRIMARY KEY (task_id, seq)
   );`,
  // A thread's runs, plans and pull requests without reading the whole thread (src/store/tasks.ts:
  // its queries repeat these WHERE terms word for word). Partial, so a delivery that is stored
  // adds no entry to them (its data is '{}'), and each holds only the few rows of its kind.
  `CREATE INDEX tasks_runs_by_thread ON tasks (thread_key, created_at)
     WHERE json_extract(data, '$.run') IS NOT NULL;
   CREATE INDEX tasks_active_runs_by_thread ON tasks (thread_key, created_at)
     WHERE state IN ('received', 'queued', 'running') AND json_extract(data, '$.run') IS NOT NULL;
   CREATE INDEX tasks_plans_by_thread ON tasks (thread_key, created_at)
     WHERE json_type(data, '$.planCommentId') IN ('integer', 'real');
   CREATE INDEX tasks_pull_requests_by_thread ON tasks (thread_key, created_at)
     WHERE json_type(data, '$.pullRequestNumber') IN ('integer', 'real');`,
  // Webhook deliveries as they are answered (src/store/inbox.ts): one row appended, one page
  // written, instead of a task row and its six indexes; moved into tasks in batches afterwards,
  // by one INSERT ... SELECT, so the columns are the tasks' own.
  `CREATE TABLE inbox (
     seq INTEGER PRIMARY KEY,
     id TEXT NOT NULL,
     source TEXT NOT NULL,
     state TEXT NOT NULL,
     thread_key TEXT,
     delivery_id TEXT,
     repo TEXT,
     issue_number INTEGER,
     title TEXT,
     model TEXT,
     request TEXT NOT NULL,
     data TEXT NOT NULL,
     created_at TEXT NOT NULL
   );`,
  // The daily budgets' count of a repository's runs today (TaskStore.repoUsage), read from that
  // repository's runs of the day instead of every task in those states. The query compares
  // `repo = @repo COLLATE NOCASE` (owners and names are case-insensitive on GitHub), so the
  // column is NOCASE here, or the index would not be used; its partial term is the query's own,
  // word for word, and deliveries and commands (no `data.run`) add no entry. The query's state
  // filter stays out, so the index holds whether or not that list changes.
  `CREATE INDEX tasks_runs_by_repo ON tasks (repo COLLATE NOCASE, created_at)
     WHERE json_extract(data, '$.run') IS NOT NULL;`,
];

export type Db = Database.Database;

/** Opens (creating and migrating) the embedded store `autocoder.db` under the data directory. */
export function openDatabase(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true });
  // The default data folder (./.data) often sits inside a repository: keep git from ever adding it.
  const ignore = join(dataDir, '.gitignore');
  if (!existsSync(ignore)) writeFileSync(ignore, '# autocoder data: sessions, runs, mirrors; never commit\n*\n');
  const db = new Database(join(dataDir, 'autocoder.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let i = version; i < MIGRATIONS.length; i++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[i]);
      db.pragma(`user_version = ${i + 1}`);
    })();
  }
  return db;
}

interface SessionRow {
  id: string;
  cwd: string;
  model: string;
  messages: string;
  created_at: string;
  updated_at: string;
}

function toRecord(row: SessionRow | undefined): SessionRecord | undefined {
  if (!row) return undefined;
  return {
    id: row.id,
    cwd: row.cwd,
    model: row.model,
    messages: JSON.parse(row.messages),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function createSessionStore(db: Db): SessionStore {
  const get = db.prepare<[string], SessionRow>('SELECT * FROM sessions WHERE id = ?');
  const latest = db.prepare<[string], SessionRow>(
    'SELECT * FROM sessions WHERE cwd = ? ORDER BY updated_at DESC, rowid DESC LIMIT 1',
  );
  const upsert = db.prepare(
    `INSERT INTO sessions (id, cwd, model, messages, created_at, updated_at)
     VALUES (@id, @cwd, @model, @messages, @now, @now)
     ON CONFLICT (id) DO UPDATE SET cwd = @cwd, model = @model, messages = @messages, updated_at = @now`,
  );
  return {
    async getSession(id) {
      return toRecord(get.get(id));
    },
    async latestSession(cwd) {
      return toRecord(latest.get(cwd));
    },
    async saveSession(record) {
      upsert.run({
        id: record.id,
        cwd: record.cwd,
        model: record.model,
        messages: JSON.stringify(record.messages),
        now: new Date().toISOString(),
      });
    },
  };
}
