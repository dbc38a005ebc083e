import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { HARDENED_CONFIG, git } from './git.js';
import { belongsTo, readLinkedTree, relinkAdmin, wipeAdminExtras } from './worktree-admin.js';

/** Trees kept per repository: as many as runs that usually overlap on one repository. */
export const DEFAULT_PARKED_PER_REPOSITORY = 2;

/** Runs `fn` while the repository's cache is locked against fetches and other worktree changes. */
export type CacheLock = <T>(cachePath: string, fn: () => Promise<T>) => Promise<T>;

/**
 * Worktrees of finished runs, kept with their files so that the next run of the same repository
 * writes only the files that differ instead of all of them (on a 20,000-file repository the
 * checkout is nearly all of a new worktree's cost). A parked tree is clean, on a detached HEAD,
 * with no branch and none of the run's leftovers; it lives in `<worktrees>/.parked/<cache>/`
 * (run ids cannot start with a dot), so a rename moves it in and out.
 */
export class WorktreePool {
  readonly root: string;
  readonly perRepository: number;
  private readonly lock: CacheLock;

  constructor(options: { worktreesDir: string; perRepository?: number; lock: CacheLock }) {
    this.root = join(options.worktreesDir, '.parked');
    this.perRepository = Math.max(0, options.perRepository ?? DEFAULT_PARKED_PER_REPOSITORY);
    this.lock = options.lock;
  }

  dirFor(cachePath: string): string {
    return join(this.root, basename(cachePath).replace(/\.git$/, ''));
  }

  /**
   * Cleans a finished run's tree and parks it. False (and the tree left as it was) when the pool
   * is full or the tree cannot be trusted to come clean; the caller then removes it.
   */
  async park(tree: { cachePath: string; path: string; branch: string }): Promise<boolean> {
    if (this.perRepository === 0) return false;
    const linked = await readLinkedTree(tree.path);
    if (!linked || !(await belongsTo(linked, tree.cachePath))) return false;
    // Before any git command: a `config.worktree` or sparse-checkout file would change what they do.
    await wipeAdminExtras(linked.adminDir);
    // A reset leaves alone what the index says not to look at (assume-unchanged, skip-worktree):
    // such a tree could keep a run's edits under a clean status, so it is not kept.
    const entries = await git(['ls-files', '-v', '-z'], { cwd: linked.path });
    if (entries.stdout.split('\0').some((entry) => entry && !entry.startsWith('H ') && !entry.startsWith('M '))) return false;
    await git([...HARDENED_CONFIG, 'reset', '--hard', '--quiet', 'HEAD'], { cwd: linked.path });
    // Twice -f: nested repositories too; -x: ignored files (node_modules of a setup command).
    await git([...HARDENED_CONFIG, 'clean', '-ffdxq'], { cwd: linked.path });

    return this.lock(tree.cachePath, async () => {
      const dir = this.dirFor(tree.cachePath);
      await mkdir(dir, { recursive: true });
      if ((await readdir(dir)).length >= this.perRepository) return false;
      const head = (await git(['rev-parse', '--verify', 'HEAD^{commit}'], { cwd: linked.path })).stdout.trim();
      // Detached, so that the run's branch can be deleted and checked out by any later run.
      await git(['update-ref', '--no-deref', 'HEAD', head], { cwd: linked.path });
      await git(['branch', '-D', tree.branch], { cwd: tree.cachePath, okExitCodes: [1] });
      const parked = join(dir, `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`);
      await rename(linked.path, parked);
      await relinkAdmin(linked.adminDir, parked);
      return true;
    });
  }

  /**
   * Moves a parked tree of the cache to `path` and returns its admin folder, or undefined when
   * none is parked. The caller holds the cache's lock and moves the tree to its new start.
   */
  async take(cachePath: string, path: string): Promise<string | undefined> {
    const dir = this.dirFor(cachePath);
    const names = (await readdir(dir).catch(() => [] as string[])).sort().reverse();
    for (const name of names) {
      const candidate = join(dir, name);
      const linked = await readLinkedTree(candidate);
      if (!linked || !(await belongsTo(linked, cachePath))) {
        // Half parked by a process that died, or its admin folder pruned: only files now.
        await rm(candidate, { recursive: true, force: true });
        continue;
      }
      await rename(candidate, path);
      await relinkAdmin(linked.adminDir, path);
      return linked.adminDir;
    }
    return undefined;
  }

  /** Removes parked trees beyond the bound (after the bound was lowered) and ones that are not trees of `cachePath` any more. */
  async trim(cachePath: string): Promise<number> {
    const dir = this.dirFor(cachePath);
    let kept = 0;
    let removed = 0;
    for (const name of (await readdir(dir).catch(() => [] as string[])).sort().reverse()) {
      const candidate = join(dir, name);
      const linked = await readLinkedTree(candidate);
      if (linked && (await belongsTo(linked, cachePath)) && kept < this.perRepository) {
        kept++;
        continue;
      }
      if (linked && (await belongsTo(linked, cachePath))) {
        await git(['worktree', 'remove', '--force', '--force', candidate], { cwd: cachePath }).catch(() => undefined);
      }
      await rm(candidate, { recursive: true, force: true });
      removed++;
    }
    return removed;
  }
}
