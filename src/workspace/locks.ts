import { randomBytes } from 'node:crypto';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { AutocoderError } from '../engine/errors.js';

/** Runs callbacks one at a time per key, in the order they asked; other keys run freely. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

export interface FileLockOptions {
  /** Give up waiting after this long. */
  timeoutMs?: number;
  /** A lock older than this is taken to be left behind by a process that died. */
  staleMs?: number;
  pollMs?: number;
}

function processIsGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Whether the process that wrote a lock on this host is gone. */
async function ownerIsDead(path: string): Promise<boolean> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const [host, pidText] = text.trim().split(' ');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  return processIsGone(pid);
}

/**
 * Names this process as the owner of something on disk (a run's worktree): host, pid and a
 * random word, because a restarted container gives the new process the pid of the old one.
 */
export const PROCESS_OWNER = `${hostname()} ${process.pid} ${randomBytes(6).toString('hex')}`;

/**
 * Whether the owner named by {@link PROCESS_OWNER}-style text is certainly gone: a process of
 * this host that no longer runs, or an earlier process with this process's pid. Text that names
 * another host, or nothing readable, is not ours to judge (false), except empty text (true).
 */
export function ownerIsGone(text: string | undefined, self: string = PROCESS_OWNER): boolean {
  const owner = text?.trim() ?? '';
  if (!owner) return true;
  if (owner === self) return false;
  const [host, pidText] = owner.split(' ');
  const pid = Number(pidText);
  const [selfHost, selfPid] = self.split(' ');
  if (host !== selfHost || !Number.isInteger(pid) || pid <= 0) return false;
  return pidText === selfPid || processIsGone(pid);
}

/**
 * Holds `path` as a lock file (created exclusively) while `fn` runs, so that two processes
 * sharing a data directory do not fetch into the same mirror at once.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 15 * 60_000;
  const staleMs = options.staleMs ?? 30 * 60_000;
  const pollMs = options.pollMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(`${hostname()} ${process.pid}\n`);
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const info = await stat(path).catch(() => undefined);
      // Two waiters may both judge a lock stale; only one of them then wins the exclusive create.
      if (info && (Date.now() - info.mtimeMs > staleMs || (await ownerIsDead(path)))) {
        await rm(path, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new AutocoderError('git_failed', `timed out waiting for the lock ${path}`, { retryable: true });
      await sleep(pollMs);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}
