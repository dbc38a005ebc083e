import { afterEach, describe, expect, it, vi } from 'vitest';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DeliveryInbox } from '../../src/store/inbox.js';
import { openDatabase, type Db } from '../../src/store/sqlite.js';
import { TaskStore, type NewTask } from '../../src/store/tasks.js';
import { runNodeChild } from '../helpers/child.js';
import { makeTempDir } from '../helpers/temp-repo.js';

let db: Db | undefined;
let dir: string | undefined;
afterEach(async () => {
  db?.close();
  db = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function open(moveEveryMs?: number) {
  dir = await makeTempDir('autocoder-inbox-');
  db = openDatabase(dir);
  const changed: string[] = [];
  const store = new TaskStore(db, (id) => changed.push(id));
  const inbox = new DeliveryInbox(db, store, undefined, moveEveryMs);
  const moved: [string, boolean][] = [];
  inbox.onMoved((task, inserted) => moved.push([task.id, inserted]));
  return { db, store, inbox, moved, changed };
}

const delivery = (n: number, deliveryId = `d-${n}`): NewTask => ({
  id: `run-${n}`,
  source: 'github',
  state: 'received',
  threadKey: 'acme/widgets#5',
  deliveryId,
  repo: 'acme/widgets',
  issueNumber: 5,
  request: { n },
});

/** What another connection (another process) reads from the file: what is committed. */
function committedInbox(path: string): number {
  const reader = new Database(join(path, 'autocoder.db'), { readonly: true });
  try {
    return (reader.prepare('SELECT COUNT(*) AS n FROM inbox').get() as { n: number }).n;
  } finally {
    reader.close();
  }
}

describe('DeliveryInbox', () => {
  it('commits each delivery before it resolves, and the ones of one moment together', async () => {
    const { inbox } = await open(60_000);
    const seenCommitted: number[] = [];
    await Promise.all(Array.from({ length: 20 }, (_, n) => inbox.add(delivery(n)).then(() => seenCommitted.push(committedInbox(dir!)))));
    // Each was readable from another connection once its promise settled: all 20 rows, one commit.
    expect(seenCommitted).toEqual(Array(20).fill(20));
    await inbox.idle();
    // The inbox had been quiet, so they were moved at once; the next waits for the interval.
    await inbox.add(delivery(20));
    expect(committedInbox(dir!)).toBe(1);
    inbox.stop();
    expect(committedInbox(dir!)).toBe(0);
  });

  it('moves the deliveries into the task table in arrival order, one transaction, and empties the inbox', async () => {
    const { inbox, store, moved, changed } = await open();
    await Promise.all(Array.from({ length: 30 }, (_, n) => inbox.add(delivery(n))));
    await inbox.idle();
    const ids = Array.from({ length: 30 }, (_, n) => `run-${n}`);
    expect(store.byThread('acme/widgets#5').map((t) => t.id)).toEqual(ids);
    expect(store.get('run-7')).toMatchObject({ state: 'received', deliveryId: 'd-7', request: { n: 7 } });
    expect(moved).toEqual(ids.map((id) => [id, true]));
    // Listeners of the store hear of each new task once it is committed, as for any insert.
    expect(changed).toEqual(ids);
    expect(inbox.size()).toBe(0);
  });

  it('recognises a delivery seen before, in the same batch or long after, and stores it once', async () => {
    const { inbox, store, moved } = await open();
    await inbox.add(delivery(1));
    await inbox.idle();
    await Promise.all([inbox.add(delivery(2, 'd-1')), inbox.add(delivery(3, 'd-9')), inbox.add(delivery(4, 'd-9'))]);
    await inbox.idle();
    expect(moved).toEqual([
      ['run-1', true],
      ['run-2', false],
      ['run-3', true],
      ['run-4', false],
    ]);
    expect(store.get('run-2')).toBeUndefined();
    expect(store.get('run-4')).toBeUndefined();
  });

  it('batches the moves while deliveries keep coming, and moves at once after a quiet spell', async () => {
    const { inbox, store, moved } = await open(200);
    // Each move tells the store's listeners of its new tasks at once.
    const batches = vi.spyOn(store, 'announceAdded');
    await inbox.add(delivery(1));
    await inbox.idle();
    expect(batches).toHaveBeenCalledTimes(1);
    // Within the next 200 ms: stored at once, moved together when the interval is up.
    const started = Date.now();
    for (let n = 2; n <= 6; n++) await inbox.add(delivery(n));
    expect(moved).toHaveLength(1);
    expect(committedInbox(dir!)).toBe(5);
    await inbox.idle();
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(batches).toHaveBeenCalledTimes(2);
    expect(moved.map(([id]) => id)).toEqual(['run-1', 'run-2', 'run-3', 'run-4', 'run-5', 'run-6']);
  });

  it('a delivery that cannot be stored fails alone; the others of its moment are stored', async () => {
    const { inbox, store } = await open();
    const unserialisable = { ...delivery(2), request: { big: 1n } };
    const noRequest = { ...delivery(4), request: undefined };
    const outcomes = await Promise.allSettled([inbox.add(delivery(1)), inbox.add(unserialisable), inbox.add(delivery(3)), inbox.add(noRequest), inbox.add(delivery(5))]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/BigInt/);
    expect(String((outcomes[3] as PromiseRejectedResult).reason)).toMatch(/NOT NULL/);
    await inbox.idle();
    expect(store.list().map((t) => t.id).sort()).toEqual(['run-1', 'run-3', 'run-5']);
  });

  it('keeps what a process killed right after answering had stored, and moves it on the next start', async () => {
    dir = await makeTempDir('autocoder-inbox-');
    const child = await runNodeChild(['--import', 'tsx', 'test/store/fixtures/add-then-die.ts', dir], { cwd: process.cwd() });
    expect(child.stdout).toBe('stored 3\n');
    expect(child.code).toBe(null); // killed
    db = openDatabase(dir);
    const store = new TaskStore(db);
    expect(store.list()).toEqual([]);
    const inbox = new DeliveryInbox(db, store);
    const moved: string[] = [];
    inbox.onMoved((task) => moved.push(task.id));
    expect(inbox.size()).toBe(3);
    inbox.moveAll();
    expect(moved).toEqual(['run-1', 'run-2', 'run-3']);
    expect(store.list().map((t) => t.deliveryId).sort()).toEqual(['d-1', 'd-2', 'd-3']);
    expect(inbox.size()).toBe(0);
  });

  it('moves what is left when stopped, and a move that fails is tried again without losing anything', async () => {
    const { inbox, store, db } = await open(60_000);
    await inbox.add(delivery(1));
    await inbox.idle();
    await inbox.add(delivery(2));
    // The next move fails (as with a full disk): nothing of it is kept, and the delivery stays in the inbox.
    db.exec("CREATE TEMP TRIGGER full BEFORE INSERT ON tasks BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;");
    expect(() => inbox.moveAll()).toThrow(/disk is full/);
    expect(inbox.size()).toBe(1);
    expect(store.get('run-2')).toBeUndefined();
    db.exec('DROP TRIGGER full');
    inbox.stop();
    expect(store.get('run-2')).toBeDefined();
    expect(inbox.size()).toBe(0);
  });
});
