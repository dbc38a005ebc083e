import { mkdir, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { AutocoderError } from '../engine/errors.js';
import { HARDENED_CONFIG, git, stripCredentials } from './git.js';
import { MirrorCache } from './mirror-cache.js';
import { PreparedWorkspace, assertSafeRunId, removeWorktree } from './worktree.js';

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

/**
 * Working trees for runs: a mirror cache per repository under `<dataDir>/mirrors`, and one linked
 * worktree per run under `<dataDir>/worktrees/<runId>`. Preparing is cheap (one incremental
 * fetch, one checkout) and any number of runs of one repository can hold worktrees at once.
 */
export class WorkspaceManager {
  readonly dataDir: string;
  readonly mirrors: MirrorCache;

  constructor(options: { dataDir: string }) {
    this.dataDir = resolve(options.dataDir);
    this.mirrors = new MirrorCache({ dataDir: this.dataDir });
  }

  worktreePath(runId: string): string {
    assertSafeRunId(runId);
    return join(this.dataDir, 'worktrees', runId);
  }

  async prepare(options: PrepareOptions): Promise<PreparedWorkspace> {
    const path = this.worktreePath(options.runId);
    const cloneUrl = stripCredentials(options.cloneUrl);
    await mkdir(join(this.dataDir, 'worktrees'), { recursive: true });
    await assertValidBranch(options.branch, this.dataDir);

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
    // turns with fetches under the repository's lock. The checkout, the slow part, runs outside it.
    await this.mirrors.exclusive(cloneUrl, async () => {
      // A folder left by an earlier attempt of the same run is ours to replace.
      if (await stat(path).then(() => true, () => false)) await removeWorktree(start.cachePath, path);
      await git(['worktree', 'prune'], { cwd: start.cachePath });
      // -B resets a local branch left behind by a crashed run; git still refuses a branch that a
      // live worktree has checked out, so two runs can never share one.
      await git([...HARDENED_CONFIG, 'worktree', 'add', '--quiet', '--no-checkout', '--no-track', '-B', options.branch, path, start.sha], {
        cwd: start.cachePath,
        signal: options.signal,
      });
    });
    await git([...HARDENED_CONFIG, '-c', `checkout.workers=${CHECKOUT_WORKERS}`, 'reset', '--hard', '--quiet'], {
      cwd: path,
      signal: options.signal,
    });
    return new PreparedWorkspace({
      mirrors: this.mirrors,
      cloneUrl,
      cachePath: start.cachePath,
      path,
      branch: options.branch,
      baseBranch: start.baseBranch,
      baseSha: start.sha,
      startedFrom: start.from,
    });
  }
}
