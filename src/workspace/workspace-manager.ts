import { mkdir, realpath, rm, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { AutocoderError } from '../engine/errors.js';
import { HARDENED_CONFIG, git, stripCredentials } from './git.js';
import { MirrorCache } from './mirror-cache.js';
import { PreparedWorkspace, assertSafeRunId, removeWorktree } from './worktree.js';
import { claimTree, readLinkedTree, wipeAdminExtras } from './worktree-admin.js';
import { WorktreePool } from './worktree-pool.js';
import { sweepWorktrees, type SweepResult } from './worktree-sweep.js';

export interface PrepareOptions {
  cloneUrl: string;
  token?: string;
  /** The branch the run commits to and pushes (also the local branch's name). */
  branch: string;
  /** Where a new branch starts; the remote's default branch when absent. */
  baseBranch?: string;
  /** Start from `origin/<branch>` when it exists (a revision of an existing pull request). */
  fromExistingBranch?: boolean;
  /** Names the worktree folder; unique per run. */
  runId: string;
  signal?: AbortSignal;
}

/**
 * Processes that write a new worktree's files: git's parallel checkout (2.32+; older versions
 * ignore the key). Writing 20,000 files with 2 workers took a third of the time of one on the
 * 2-core benchmark machine; capped, since several runs may be preparing at once.
 */
const CHECKOUT_WORKERS = Math.max(1, Math.min(availableParallelism(), 8));

async function assertValidBranch(branch: string, cwd: string): Promise<void> {
  const check = await git(['check-ref-format', `refs/heads/${branch}`], { cwd, okExitCodes: [1] });
  if (check.exitCode !== 0 || branch.startsWith('-') || branch === 'HEAD') {
    throw new AutocoderError('git_failed', `${JSON.stringify(branch)} is not a valid branch name`);
  }
}

/** Throws git's own words when a worktree other than `path` has `branch` checked out. */
async function assertBranchFree(cachePath: string, branch: string, path: string): Promise<void> {
  const listed = (await git(['worktree', 'list', '--porcelain'], { cwd: cachePath })).stdout;
  const self = await realpath(path).catch(() => path);
  for (const block of listed.split('\n\n')) {
    const where = /^worktree (.+)$/m.exec(block)?.[1];
    if (where && where !== self && block.split('\n').includes(`branch refs/heads/${branch}`)) {
      throw new AutocoderError('git_failed', `git checkout -B failed: '${branch}' is already checked out at '${where}'`);
    }
  }
}

/**
 * Working trees for runs: a mirror cache per repository under `<dataDir>/mirrors`, and one linked
 * worktree per run under `<dataDir>/worktrees/<runId>`. Preparing is cheap (one incremental
 * fetch, one checkout) and any number of runs of one repository can hold worktrees at once. A
 * finished run's tree is parked (cleaned, files kept) and the next run of the repository takes
 * it, so that only the files that differ are written.
 */
export class WorkspaceManager {
  readonly dataDir: string;
  readonly mirrors: MirrorCache;
  readonly pool: WorktreePool;
  private sweeping?: Promise<SweepResult>;

  constructor(options: { dataDir: string; /** Parked trees kept per repository; 0 turns recycling off. */ parkedPerRepository?: number }) {
    this.dataDir = resolve(options.dataDir);
    this.mirrors = new MirrorCache({ dataDir: this.dataDir });
    this.pool = new WorktreePool({
      worktreesDir: join(this.dataDir, 'worktrees'),
      perRepository: options.parkedPerRepository,
      lock: (cachePath, fn) => this.mirrors.exclusivePath(cachePath, () => fn()),
    });
  }

  worktreePath(runId: string): string {
    assertSafeRunId(runId);
    return join(this.dataDir, 'worktrees', runId);
  }

  /**
   * Removes what runs of earlier processes left behind (see sweepWorktrees). Runs once, before
   * this manager's first prepare; call it at start-up to have it done sooner.
   */
  sweep(): Promise<SweepResult> {
    this.sweeping ??= sweepWorktrees({
      worktreesDir: join(this.dataDir, 'worktrees'),
      mirrorsDir: this.mirrors.root,
      pool: this.pool,
      lock: (cachePath, fn) => this.mirrors.exclusivePath(cachePath, () => fn()),
      // A failed sweep leaves garbage, never a broken run: runs replace what they find in their way.
    }).catch(() => ({ removed: [], trimmed: 0 }));
    return this.sweeping;
  }

  async prepare(options: PrepareOptions): Promise<PreparedWorkspace> {
    const path = this.worktreePath(options.runId);
    const cloneUrl = stripCredentials(options.cloneUrl);
    await mkdir(join(this.dataDir, 'worktrees'), { recursive: true });
    await assertValidBranch(options.branch, this.dataDir);
    await this.sweep();

    // The start commit is read while the fetch lock is held: a later fetch --prune by another
    // run could otherwise remove the ref between the fetch and the checkout.
    const start = await this.mirrors.sync({ cloneUrl, token: options.token, signal: options.signal }, async (mirror) => {
      const baseBranch = options.baseBranch ?? (await mirror.defaultBranch());
      const existing = options.fromExistingBranch ? await mirror.resolve(options.branch) : undefined;
      if (existing) return { cachePath: mirror.path, baseBranch, sha: existing, from: 'branch' as const };
      const base = await mirror.resolve(baseBranch);
      if (!base) throw new AutocoderError('git_failed', `the branch ${baseBranch} does not exist on the remote`);
      return { cachePath: mirror.path, baseBranch, sha: base, from: 'base' as const };
    });

    // A new worktree's HEAD is a placeholder (the null id) for a moment, and a fetch in the same
    // cache, which reads every worktree's HEAD, then fails: adding and removing worktrees takes
    // turns with fetches under the repository's lock. The checkout of a new tree, the slow part,
    // runs outside it.
    const recycled = await this.mirrors.exclusive(cloneUrl, async () => {
      // A folder left by an earlier attempt of the same run is ours to replace.
      if (await stat(path).then(() => true, () => false)) await removeWorktree(start.cachePath, path);
      await git(['worktree', 'prune'], { cwd: start.cachePath });
      if (await this.switchParkedTree(start.cachePath, path, options.branch, start.sha, options.signal)) return true;
      // -B resets a local branch left behind by a crashed run; git still refuses a branch that a
      // live worktree has checked out, so two runs can never share one.
      await git([...HARDENED_CONFIG, 'worktree', 'add', '--quiet', '--no-checkout', '--no-track', '-B', options.branch, path, start.sha], {
        cwd: start.cachePath,
        signal: options.signal,
      });
      await this.claim(path);
      return false;
    });
    try {
      if (recycled) {
        // What the earlier run left was cleaned when it was parked; this is the proof of it, and
        // cheap on a clean tree. Twice -f: nested repositories; -x: ignored files.
        await git([...HARDENED_CONFIG, 'clean', '-ffdxq'], { cwd: path, signal: options.signal });
      } else {
        await git([...HARDENED_CONFIG, '-c', `checkout.workers=${CHECKOUT_WORKERS}`, 'reset', '--hard', '--quiet'], {
          cwd: path,
          signal: options.signal,
        });
        // The reset's "HEAD before" note means nothing in a new tree; without it a new tree and a
        // recycled one look the same.
        const linked = await readLinkedTree(path);
        if (linked) await rm(join(linked.adminDir, 'ORIG_HEAD'), { force: true });
      }
    } catch (error) {
      await this.mirrors.exclusive(cloneUrl, () => removeWorktree(start.cachePath, path)).catch(() => undefined);
      throw error;
    }
    return new PreparedWorkspace({
      mirrors: this.mirrors,
      cloneUrl,
      cachePath: start.cachePath,
      path,
      branch: options.branch,
      baseBranch: start.baseBranch,
      baseSha: start.sha,
      startedFrom: start.from,
      recycled,
      park: () => this.pool.park({ cachePath: start.cachePath, path, branch: options.branch }),
    });
  }

  /**
   * Under the cache's lock: takes a parked tree, if there is one, to `path` and moves it to
   * `sha` on a fresh `branch` (only the files that differ are written). False when none was
   * parked or the tree would not switch; a tree that would not is removed.
   */
  private async switchParkedTree(cachePath: string, path: string, branch: string, sha: string, signal?: AbortSignal): Promise<boolean> {
    const adminDir = await this.pool.take(cachePath, path);
    if (!adminDir) return false;
    try {
      await wipeAdminExtras(adminDir);
      // Under the lock, as `worktree add -B` refuses it: `checkout -B` checks other worktrees
      // only from git 2.44 on.
      await assertBranchFree(cachePath, branch, path);
      await git([...HARDENED_CONFIG, '-c', `checkout.workers=${CHECKOUT_WORKERS}`, 'checkout', '--quiet', '--force', '--no-track', '-B', branch, sha], {
        cwd: path,
        signal,
      });
      await this.claim(path);
      return true;
    } catch (error) {
      await removeWorktree(cachePath, path);
      // The branch in use elsewhere is the run's problem, not the tree's: say so as a new tree would.
      if (signal?.aborted || /already (checked out|used by worktree)/.test(String(error))) throw error;
      return false;
    }
  }

  /** Marks the tree as this process's, so that a sweep in another process leaves it alone. */
  private async claim(path: string): Promise<void> {
    const linked = await readLinkedTree(path);
    if (linked) await claimTree(linked.adminDir);
  }
}
