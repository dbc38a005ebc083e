import type { Logger } from 'pino';
import type { Db } from './sqlite.js';
import type { NewTask, TaskStore } from './tasks.js';

/**
 * Most deliveries moved into the task table in one transaction, which blocks the event loop for
 * its duration (~15 µs a task, with what the intake does on hearing of it): 500 at a time held
 * back the deliveries answered meanwhile enough to double the p99 at concurrency 64; 64 cost
 * nothing measurable at concurrency 1.
 */
const MOVE_BATCH = 64;
/** After a failed move (the disk full, say), the next try; the deliveries stay in the inbox meanwhile. */
const RETRY_MS = 1_000;

type Moved = (task: NewTask, inserted: boolean) => void;

/**
 * Where a webhook delivery is stored before GitHub gets its answer, and from where it becomes a
 * task a moment later.
 *
 * A task row costs a commit that writes seven pages (the row, its primary key, the delivery's
 * unique index, the state and thread indexes, and the partial ones), each a 4 KB frame of the
 * log: measured on this machine kind, 60-80 µs for every delivery that arrives alone, the largest
 * part of the intake's time to the 2xx. An inbox row is one page appended to one table. The rows
 * are then moved into the task table in batches, many tasks to one commit, each move deleting
 * the rows it took in the same transaction, so that a crash at any point loses nothing and moves
 * nothing twice. A delivery seen before is recognised there, by the tasks' unique delivery ids.
 *
 * Moves come at once when the inbox has been quiet, and at most every `moveEveryMs` while
 * deliveries keep arriving, so that they are batched under load; a batch that leaves more behind
 * is followed by the next one after the event loop has taken the deliveries waiting meanwhile.
 */
export class DeliveryInbox {
  private readonly statements;
  private readonly pending: { task: string; resolve: () => void; reject: (error: unknown) => void }[] = [];
  private listener: Moved = () => {};
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private lastMove = 0;
  private waiters: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly store: TaskStore,
    private readonly log?: Logger,
    private readonly moveEveryMs = 10,
  ) {
    this.statements = {
      add: db.prepare('INSERT INTO inbox (task) VALUES (?)'),
      next: db.prepare<[number], { seq: number; task: string }>('SELECT seq, task FROM inbox ORDER BY seq LIMIT ?'),
      removeUpTo: db.prepare('DELETE FROM inbox WHERE seq <= ?'),
      count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM inbox'),
    };
    this.addMany = db.transaction((tasks: string[]) => {
      for (const task of tasks) this.statements.add.run(task);
    });
  }

  // Made once: better-sqlite3 builds a transaction's wrapper anew on every `transaction()` call.
  private readonly addMany: (tasks: string[]) => void;

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
      this.pending.push({ task: JSON.stringify(task), resolve, reject });
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
      if (batch.length === 1) this.statements.add.run(batch[0].task);
      else this.addMany(batch.map(({ task }) => task));
    } catch (error) {
      for (const { reject } of batch) reject(error);
      this.wakeWaiters();
      return;
    }
    for (const { resolve } of batch) resolve();
    this.schedule();
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
    const rows = this.statements.next.all(MOVE_BATCH);
    if (rows.length === 0) return 0;
    const tasks = rows.map((row) => JSON.parse(row.task) as NewTask);
    const inserted = this.store.insertBatch(tasks, () => this.statements.removeUpTo.run(rows[rows.length - 1].seq));
    tasks.forEach((task, i) => {
      try {
        this.listener(task, inserted[i]);
      } catch (error) {
        this.log?.error({ err: error, taskId: task.id }, 'a stored delivery could not be taken further');
      }
    });
    return rows.length;
  }

  private wakeWaiters(): void {
    if (this.pending.length > 0 || this.timer) return;
    this.waiters.splice(0).forEach((wake) => wake());
  }
}
