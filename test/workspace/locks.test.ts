import { afterAll, describe, expect, it } from 'vitest';
import { rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnSync } from 'node:child_process';
import { KeyedMutex, PROCESS_OWNER, ownerIsGone, withFileLock } from '../../src/workspace/locks.js';
import { makeTempDir } from '../helpers/temp-repo.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('KeyedMutex', () => {
  it('runs one callback at a time per key, in order, and keys independently', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const job = (key: string, name: string, ms: number) =>
      mutex.run(key, async () => {
        log.push(`${name}+`);
        await sleep(ms);
        log.push(`${name}-`);
      });
    await Promise.all([job('a', 'a1', 30), job('a', 'a2', 1), job('b', 'b1', 5)]);
    expect(log.indexOf('a1-')).toBeLessThan(log.indexOf('a2+'));
    expect(log.indexOf('b1+')).toBeLessThan(log.indexOf('a1-'));
  });

  it('releases the key when a callback throws', async () => {
    const mutex = new KeyedMutex();
    await expect(mutex.run('k', async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await mutex.run('k', async () => 42)).toBe(42);
  });
});

describe('withFileLock', () => {
  it('serialises holders and removes the lock afterwards', async () => {
    const dir = await makeTempDir('autocoder-lock-');
    dirs.push(dir);
    const lock = join(dir, 'x.lock');
    let inside = 0;
    let most = 0;
    const hold = () =>
      withFileLock(lock, async () => {
        most = Math.max(most, ++inside);
        await sleep(20);
        inside--;
      }, { pollMs: 5 });
    await Promise.all([hold(), hold(), hold()]);
    expect(most).toBe(1);
    await expect(stat(lock)).rejects.toThrow();
  });

  it('takes over a lock left by a process that is gone, or an old one', async () => {
    const dir = await makeTempDir('autocoder-lock-');
    dirs.push(dir);
    const lock = join(dir, 'dead.lock');
    await writeFile(lock, `${hostname()} 2147483646\n`);
    expect(await withFileLock(lock, async () => 'taken', { timeoutMs: 1000 })).toBe('taken');

    await writeFile(lock, `other-host 1\n`);
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);
    expect(await withFileLock(lock, async () => 'stale', { timeoutMs: 1000, staleMs: 30_000 })).toBe('stale');
  });

  it('gives up after its timeout while a live process holds the lock', async () => {
    const dir = await makeTempDir('autocoder-lock-');
    dirs.push(dir);
    const lock = join(dir, 'live.lock');
    await writeFile(lock, `${hostname()} ${process.pid}\n`);
    await expect(withFileLock(lock, async () => 'never', { timeoutMs: 100, pollMs: 10 })).rejects.toThrow(/timed out waiting/);
  });
});

describe('ownerIsGone', () => {
  it('tells a finished process, or an earlier one with our pid, from a live owner', () => {
    const self = `${hostname()} ${process.pid} abcdef012345`;
    expect(PROCESS_OWNER.startsWith(`${hostname()} ${process.pid} `)).toBe(true);
    expect(ownerIsGone(self, self)).toBe(false);
    expect(ownerIsGone(`${self}\n`, self)).toBe(false);
    // A restarted container: same host, same pid, another process.
    expect(ownerIsGone(`${hostname()} ${process.pid} 999999999999`, self)).toBe(true);
    expect(ownerIsGone(`${hostname()} ${process.ppid} 999999999999`, self)).toBe(false);
    const finished = spawnSync('true').pid;
    expect(ownerIsGone(`${hostname()} ${finished} 999999999999`, self)).toBe(true);
    // Another machine's processes are not ours to judge; no mark at all means nobody owns it.
    expect(ownerIsGone(`some-other-host-x ${finished} 999999999999`, self)).toBe(false);
    expect(ownerIsGone(undefined, self)).toBe(true);
    expect(ownerIsGone('', self)).toBe(true);
    expect(ownerIsGone('garbage', self)).toBe(false);
  });
});
