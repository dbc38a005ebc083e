import { readdir, realpath, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { git } from './git.js';
import { PROCESS_OWNER } from './locks.js';
import { checkedOutBranch, readLinkedTree, treeIsAbandoned } from './worktree-admin.js';
import type { CacheLock, WorktreePool } from './worktree-pool.js';
import { removeWorktree } from './worktree.js';

export interface SweepOptions {
  worktreesDir: string;
  mirrorsDir: string;
  pool: WorktreePool;
  lock: CacheLock;
  /** Who this process is (see PROCESS_OWNER); trees it owns are never swept. */
  self?: string;
  /**
   * A folder that is no worktree yet is left alone this long: another process sharing the data
   * dir may be between creating it and registering it.
   */
  unregisteredGraceMs?: number;
}

export interface SweepResult {
  /** Run ids whose abandoned worktrees were removed. */
  removed: string[];
  /** Parked trees dropped (over the bound, or broken). */
  trimmed: number;
}

/**
 * Clears what runs of earlier processes left: worktrees of runs whose process is gone (a crash,
 * a kill -9, a restart before the cleanup), folders that never became worktrees, and worktree
 * registrations whose folder is gone (`git worktree prune`). Trees of live runs, in this or any
 * other process, are left alone; parked trees are kept up to the pool's bound.
 */
export async function sweepWorktrees(options: SweepOptions): Promise<SweepResult> {
  const self = options.self ?? PROCESS_OWNER;
  const grace = options.unregisteredGraceMs ?? 5 * 60_000;
  const mirrorsReal = await realpath(options.mirrorsDir).catch(() => undefined);
  const result: SweepResult = { removed: [], trimmed: 0 };

  for (const name of await readdir(options.worktreesDir).catch(() => [] as string[])) {
    if (name.startsWith('.')) continue; // the pool, and nothing a run id can name
    const path = join(options.worktreesDir, name);
    const linked = await readLinkedTree(path);
    if (linked && mirrorsReal && dirname(linked.cachePath) === mirrorsReal) {
      if (!(await treeIsAbandoned(linked.adminDir, self))) continue;
      const cachePath = join(options.mirrorsDir, basename(linked.cachePath));
      const swept = await options.lock(cachePath, async () => {
        // Asked again under the lock: a run of this id may have prepared a new tree meanwhile.
        const again = await readLinkedTree(path);
        if (!again || again.adminDir !== linked.adminDir || !(await treeIsAbandoned(again.adminDir, self))) return false;
        const branch = await checkedOutBranch(again.adminDir);
        await removeWorktree(cachePath, path);
        if (branch) await git(['branch', '-D', branch], { cwd: cachePath, okExitCodes: [1] }).catch(() => undefined);
        return true;
      });
      if (swept) result.removed.push(name);
      continue;
    }
    const info = await stat(path).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > grace) {
      await rm(path, { recursive: true, force: true });
      result.removed.push(name);
    }
  }

  for (const name of await readdir(options.mirrorsDir).catch(() => [] as string[])) {
    if (!name.endsWith('.git')) continue;
    const cachePath = join(options.mirrorsDir, name);
    await options.lock(cachePath, async () => {
      await git(['worktree', 'prune'], { cwd: cachePath }).catch(() => undefined);
      result.trimmed += await options.pool.trim(cachePath);
    });
  }
  return result;
}
