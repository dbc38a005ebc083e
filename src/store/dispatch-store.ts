import type { Db } from './sqlite.js';
import type { TaskRecord, TaskStore } from './tasks.js';

/**
 * Which tasks the web process has put on the Redis queue, and how far it has read the workers'
 * updates stream. Kept in SQLite beside the tasks, so a restarted web process neither queues a
 * task twice nor loses or re-applies an update. Tables of their own (created if missing), so the
 * task store's schema and behaviour stay as they are.
 */
export class DispatchStore {
  private readonly statements;

  constructor(
    private readonly db: Db,
    private readonly tasks: TaskStore,
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS dispatches (
               task_id TEXT PRIMARY KEY,
               dispatched_at TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS stream_cursors (
               name TEXT PRIMARY KEY,
               last_id TEXT NOT NULL
             );`);
    this.statements = {
      // The oldest queued task whose thread has nothing running or on the queue: one active run per thread.
      next: db.prepare<[string], { id: string }>(
        `SELECT t.id FROM tasks t WHERE t.state = 'queued'
           AND t.source IN (SELECT value FROM json_each(?))
           AND NOT EXISTS (SELECT 1 FROM dispatches d WHERE d.task_id = t.id)
           AND NOT EXISTS (
             SELECT 1 FROM tasks r WHERE r.thread_key = t.thread_key AND r.id != t.id
               AND (r.state = 'running' OR EXISTS (SELECT 1 FROM dispatches d2 WHERE d2.task_id = r.id)))
         ORDER BY t.created_at, t.rowid LIMIT 1`,
      ),
      insert: db.prepare('INSERT OR IGNORE INTO dispatches (task_id, dispatched_at) VALUES (?, ?)'),
      remove: db.prepare('DELETE FROM dispatches WHERE task_id = ?'),
      has: db.prepare<[string], { task_id: string }>('SELECT task_id FROM dispatches WHERE task_id = ?'),
      all: db.prepare<[], { task_id: string }>('SELECT task_id FROM dispatches ORDER BY dispatched_at'),
      cursor: db.prepare<[string], { last_id: string }>('SELECT last_id FROM stream_cursors WHERE name = ?'),
      saveCursor: db.prepare(
        'INSERT INTO stream_cursors (name, last_id) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET last_id = excluded.last_id',
      ),
    };
  }

  /** Picks the next task to put on the queue and records it as dispatched, in one transaction. */
  claimNext(sources: string[]): TaskRecord | undefined {
    return this.db.transaction(() => {
      const row = this.statements.next.get(JSON.stringify(sources));
      if (!row) return undefined;
      this.statements.insert.run(row.id, new Date().toISOString());
      return this.tasks.get(row.id);
    })();
  }

  isDispatched(taskId: string): boolean {
    return this.statements.has.get(taskId) !== undefined;
  }

  release(taskId: string): void {
    this.statements.remove.run(taskId);
  }

  dispatched(): string[] {
    return this.statements.all.all().map((row) => row.task_id);
  }

  cursor(name: string): string | undefined {
    return this.statements.cursor.get(name)?.last_id;
  }

  /** Runs `apply` and moves the cursor in one transaction: an update is applied exactly once. */
  applyAt(name: string, id: string, apply: () => void): void {
    this.db.transaction(() => {
      apply();
      this.statements.saveCursor.run(name, id);
    })();
  }
}
