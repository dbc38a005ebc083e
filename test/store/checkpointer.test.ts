import { renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { startCheckpointer } from '../../src/store/checkpointer.js';
import { openDatabase } from '../../src/store/sqlite.js';
import { TaskStore } from '../../src/store/tasks.js';
import { makeTempDir } from '../helpers/temp-repo.js';

function capturingLog() {
  const lines: Record<string, unknown>[] = [];
  return { log: pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) }), lines };
}

function addTasks(store: TaskStore, from: number, count: number): void {
  for (let i = from; i < from + count; i++) {
    store.insert({ id: `task-${i}`, source: 'api', state: 'received', deliveryId: `delivery-${i}`, request: { prompt: 'x'.repeat(300), i } });
  }
}

describe('background checkpoints', () => {
  it('take checkpoints off the writer, copy the whole log into the database, and keep the log from growing', async () => {
    const dir = await makeTempDir('autocoder-checkpoints-');
    const db = openDatabase(dir);
    const store = new TaskStore(db);
    const { log, lines } = capturingLog();
    const checkpointer = startCheckpointer(db, log, 60_000);
    try {
      expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
      addTasks(store, 0, 3000);
      const first = await checkpointer.now();
      // More than SQLite's 1000-page threshold was written, and the writer did not checkpoint.
      expect(first.frames).toBeGreaterThan(1000);
      expect(first.copied).toBe(first.frames);
      const walSize = statSync(join(dir, 'autocoder.db-wal')).size;
      // Once all of it is in the database, the next writes start the log over instead of growing it.
      for (let round = 1; round <= 5; round++) {
        addTasks(store, round * 3000, 3000);
        const result = await checkpointer.now();
        expect(result.copied).toBe(result.frames);
      }
      expect(statSync(join(dir, 'autocoder.db-wal')).size).toBeLessThanOrEqual(walSize * 1.5);
      // Another connection reads everything from the database file itself.
      const reader = new Database(join(dir, 'autocoder.db'), { readonly: true });
      expect(reader.prepare('SELECT COUNT(*) AS n FROM tasks').get()).toEqual({ n: 18_000 });
      reader.close();
      expect(lines.filter((l) => l.level === 40)).toEqual([]);
    } finally {
      await checkpointer.stop();
    }
    // Stopped: SQLite's own automatic checkpoints are back for whatever writes next.
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    db.close();
  });

  it('gives the checkpoints back to the writer, with a warning, when the thread cannot do them', async () => {
    // The thread opens the database by its name, which no longer names it.
    const dir = await makeTempDir('autocoder-checkpoints-');
    const db = openDatabase(dir);
    renameSync(join(dir, 'autocoder.db'), join(dir, 'moved.db'));
    const { log, lines } = capturingLog();
    const checkpointer = startCheckpointer(db, log, 60_000);
    await expect(checkpointer.now()).rejects.toThrow();
    await expect.poll(() => lines.find((l) => l.msg === 'background checkpoints stopped: SQLite checkpoints on commit again')).toBeTruthy();
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    await checkpointer.stop();
    db.close();
  });
});
