import type { Logger } from 'pino';
import type { Db } from './sqlite.js';
import { newTaskRow, type NewTask, type NewTaskRow, type TaskState, type TaskStore } from './tasks.js';

/**
 * Most deliveries moved into the task table in one transaction, which blocks the event loop for
 * its duration (~15 µs a task, with what the intake does on hearing of it): 500 at a time held
 * back the deliveries answered meanwhile enough to double the p99 at concurrency 64; 64 cost
 * nothing measurable at concurrency 1.
 */
const MOVE_BATCH = 64;
/** After a failed move (the disk full, say), the next try; the deliveries stay in the inbox meanwhile. */
const RETRY_MS = 1_000;

/** What a moved delivery's listener is told of it. */
export interface MovedTask {
  id: string;
  state: TaskState;
  deliveryId: string | null;
  repo: string | null;
  issueNumber: number | null;
}

type Moved = (task: MovedTask, inserted: boolean) => void;

/**
 * Where a webhook delivery is stored before GitHub gets its answer, and from where it becomes a
 * task a moment later.
 *
 * A task row costs a commit that writes seven pages (the row, its primary key, the delivery's
 * unique index, the state and thread indexes, and the partial ones), each a 4 KB frame of the
 * log: measured on this machine kind, 60-80 µs for every delivery that arrives alone, the largest
 * part of the intake's time to the 2xx. An inbox row is one page appended to one table. The rows
 * are then moved into the task table in batches, many tasks to one commit, by one INSERT ...
 * SELECT in SQLite (no row goes through JavaScript), each move deleting the rows it took in the
 * same transaction, so that a crash at any point loses nothing and moves nothing twice. A
 * delivery seen before is recognised there, by the tasks' unique delivery ids.
 *
 * Moves come at once when the inbox has been quiet, and at most every `moveEveryMs` while
 * deliveries keep arriving, so that they are batched under load; a batch that leaves more behind
 * is followed by the next one after the event loop has taken the deliveries waiting meanwhile.
 */
export class DeliveryInbox {
  private readonly statements;
  private readonly pending: { row: NewTaskRow; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private listener: Moved = () => {};
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private lastMove = 0;
  private waiters: (() => void)[] = [];
  private stopped = false;

  constructor(
    db: Db,
    private readonly store: TaskStore,
    private readonly log?: Logger,
    private readonly moveEveryMs = 10,
  ) {
    this.statements = {
      add: db.prepare<NewTaskRow>(
        `INSERT INTO inbox (id, source, state, thread_key, delivery_id, repo, issue_number, title, model, request, data, created_at)
         VALUES (@id, @source, @state, @threadKey, @deliveryId, @repo, @issueNumber, @title, @model, @request, @data, @now)`,
      ),
      batch: db.prepare<[number], MovedTask & { seq: number }>(
        'SELECT seq, id, state, delivery_id AS deliveryId, repo, issue_number AS issueNumber FROM inbox ORDER BY seq LIMIT ?',
      ),
      // In arrival order (the task table's order within a thread is created_at, then rowid);
      // OR IGNORE leaves out a delivery id seen before, and RETURNING names the ones stored.
      move: db.prepare<[number], { id: string }>(
        `INSERT OR IGNORE INTO tasks (id, source, state, thread_key, delivery_id, repo, issue_number, title, model, request, data, created_at, updated_at)
         SELECT id, source, state, thread_key, delivery_id, repo, issue_number, title, model, request, data, created_at, created_at
           FROM inbox WHERE seq <= ? ORDER BY seq
         RETURNING id`,
      ),
      removeUpTo: db.prepare('DELETE FROM inbox WHERE seq <= ?'),
      count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM inbox'),
    };
    this.addMany = db.transaction((rows: NewTaskRow[]) => {
      for (const row of rows) this.statements.add.run(row);
    });
    this.moveUpTo = db.transaction((seq: number) => {
      const stored = new Set(this.statements.move.all(seq).map((row) => row.id));
      this.statements.removeUpTo.run(seq);
      return stored;
    });
  }

  // Made once: better-sqlite3 builds a transaction's wrapper anew on every `transaction()` call.
  private readonly addMany: (rows: NewTaskRow[]) => void;
  private readonly moveUpTo: (seq: number) => Set<string>;

  /** Hears every task as it is moved into the store; `inserted` is false for a delivery seen before. */
  onMoved(listener: Moved): void {
    this.listener = listener;
  }

  /**
   * Stores a delivery's task; resolves once it is committed, so that a handler that awaits it
   * answers GitHub only when the delivery is safe. The ones added in the same turn of the event
   * loop share one commit.
   */
  add(task: NewTask): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ row: newTaskRow(task), resolve, reject });
      if (this.pending.length === 1) setImmediate(() => this.flush());
    });
  }

  /** Deliveries stored and not yet moved into the task table. */
  size(): number {
    return this.statements.count.get()!.n;
  }

  /** Moves everything in the inbox into the task table now: at start, and when stopping. */
  moveAll(): void {
    this.cancelTimer();
    while (this.moveBatch() === MOVE_BATCH);
    this.wakeWaiters();
  }

  /** Resolves once every delivery added so far has been moved (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.length > 0 || this.timer) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Moves what is left and schedules nothing more. */
  stop(): void {
    if (this.stopped) return;
    this.flush();
    this.moveAll();
    this.stopped = true;
  }

  private flush(): void {
    const batch = this.pending.splice(0);
    if (batch.length === 0) return;
    try {
      // One row alone is one statement, committed by itself: no BEGIN and COMMIT around it.
      if (batch.length === 1) this.statements.add.run(batch[0].row);
      else this.addMany(batch.map(({ row }) => row));
      for (const { resolve } of batch) resolve();
    } catch (error) {
      if (batch.length === 1) batch[0].reject(error);
      else {
        // One row that cannot be stored must not fail the others: each on its own.
        for (const { row, resolve, reject } of batch) {
          try {
            this.statements.add.run(row);
            resolve();
          } catch (rowError) {
            reject(rowError);
          }
        }
      }
    }
    this.schedule();
    this.wakeWaiters();
  }

  private schedule(delayMs?: number): void {
    if (this.timer || this.stopped) return;
    const wait = delayMs ?? Math.max(0, this.lastMove + this.moveEveryMs - Date.now());
    const run = () => {
      this.timer = undefined;
      this.moveSoon();
    };
    this.timer = wait === 0 ? setImmediate(run) : setTimeout(run, wait);
  }

  private cancelTimer(): void {
    if (!this.timer) return;
    clearTimeout(this.timer as NodeJS.Timeout);
    clearImmediate(this.timer as NodeJS.Immediate);
    this.timer = undefined;
  }

  private moveSoon(): void {
    try {
      // One batch per turn: under a flood, answering the next deliveries goes first.
      if (this.moveBatch() === MOVE_BATCH) this.schedule(0);
    } catch (error) {
      this.log?.error({ err: error }, 'stored webhook deliveries could not be moved into the task table; trying again');
      this.schedule(RETRY_MS);
    }
    this.wakeWaiters();
  }

  /** One transaction: up to MOVE_BATCH tasks stored, their inbox rows deleted. Returns how many it took. */
  private moveBatch(): number {
    this.lastMove = Date.now();
    const rows = this.statements.batch.all(MOVE_BATCH);
    if (rows.length === 0) return 0;
    const stored = this.moveUpTo(rows[rows.length - 1].seq);
    const tasks = rows.map(({ seq: _seq, ...task }) => task);
    this.store.announceAdded(tasks.filter((task) => stored.has(task.id)));
    for (const task of tasks) {
      try {
        this.listener(task, stored.has(task.id));
      } catch (error) {
        this.log?.error({ err: error, taskId: task.id }, 'a stored delivery could not be taken further');
      }
    }
    return rows.length;
  }

  private wakeWaiters(): void {
    if (this.pending.length > 0 || this.timer) return;
    this.waiters.splice(0).forEach((wake) => wake());
  }
}
