import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Db } from './sqlite.js';

/** SQLite's own threshold for an automatic checkpoint, in WAL frames (pages). */
const AUTO_CHECKPOINT_PAGES = 1000;

// Runs in the worker thread (CommonJS, as `eval` workers are): its own connection to the same
// file, a PASSIVE checkpoint now and then. PASSIVE never waits for the app's writers or readers,
// and they never wait for it: it copies what it can and leaves the rest for the next time.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
const checkpoint = () => {
  // Not a WAL database (SQLite answers -1): nothing to do here, ever; the writer keeps its own.
  if (db.pragma('journal_mode', { simple: true }) !== 'wal') throw new Error('the database is not in WAL mode');
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ type: 'checkpoint', frames: result.log, copied: result.checkpointed });
  } catch (error) {
    parentPort.postMessage({ type: 'error', message: String(error && error.message || error) });
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'now') checkpoint();
  if (message === 'stop') {
    clearInterval(timer);
    db.close();
    parentPort.close();
  }
});
`;

export interface Checkpointer {
  /** Checkpoints at once; resolves with the WAL's frames and how many of them are in the database. */
  now(): Promise<{ frames: number; copied: number }>;
  stop(): Promise<void>;
}

/**
 * Moves a WAL database's checkpoints off the thread that writes it. SQLite runs a checkpoint
 * inside the commit that grows the log past 1000 pages: it copies those pages into the database
 * and, with `synchronous = NORMAL`, waits for two fsyncs, all inside whatever webhook delivery
 * happens to commit then. Measured at one delivery at a time (`npm run bench -- intake`), that
 * was the intake's p99. Here the writer's automatic checkpoints are off and a worker thread checks
 * the log every `intervalMs` on a connection of its own. Should the worker fail, the writer's
 * automatic checkpoints come back, so the log never grows without bound.
 */
export function startCheckpointer(db: Db, log: Logger, intervalMs = 250): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, file: db.name, intervalMs } });
  // A process with nothing else to do may exit: this thread alone never keeps it alive.
  worker.unref();
  db.pragma('wal_autocheckpoint = 0');
  let stopping = false;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let gone: Error | undefined;
  const waiting: { resolve: (result: { frames: number; copied: number }) => void; reject: (error: Error) => void }[] = [];
  const restoreAutoCheckpoints = (why: string) => {
    gone ??= new Error(why);
    waiting.splice(0).forEach(({ reject }) => reject(gone!));
    if (stopping || !db.open) return;
    db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
    log.warn({ reason: why }, 'background checkpoints stopped: SQLite checkpoints on commit again');
  };
  worker.on('message', (message: { type: string; frames?: number; copied?: number; message?: string }) => {
    if (message.type === 'checkpoint') waiting.splice(0).forEach(({ resolve }) => resolve({ frames: message.frames!, copied: message.copied! }));
    else {
      log.warn({ reason: message.message }, 'background checkpoint failed; trying again');
      waiting.splice(0).forEach(({ reject }) => reject(new Error(`the checkpoint failed: ${message.message}`)));
    }
  });
  worker.on('error', (error) => restoreAutoCheckpoints(error.message));
  worker.on('exit', (code) => restoreAutoCheckpoints(`the checkpoint thread exited (${code})`));
  return {
    now() {
      return new Promise((resolve, reject) => {
        if (gone) return reject(gone);
        waiting.push({ resolve, reject });
        worker.postMessage('now');
      });
    },
    async stop() {
      if (stopping) return exited;
      stopping = true;
      if (!gone) worker.postMessage('stop');
      await exited;
      if (db.open) db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`);
    },
  };
}
