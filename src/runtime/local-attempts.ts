import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { AutocoderError } from '../engine/errors.js';
import { newId } from '../util/ids.js';
import { HARDENED_CONFIG, git } from '../workspace/git.js';
import { removeWorktree } from '../workspace/worktree.js';
import { runBestOfN, type AttemptTree, type BestOfN, type BestOfNOptions } from '../workspace/best-of-n.js';
import { applyPatch } from '../workspace/tree-patch.js';

export interface LocalAttemptsOptions extends Omit<BestOfNOptions, 'prepare'> {
  /** The folder the request was made in (a real path). */
  cwd: string;
  /** Where the attempts' worktrees are made (`<dataDir>/attempts/<id>/<k>`); default a temporary folder. */
  dataDir?: string;
}

export interface LocalAttempts extends BestOfN {
  /** Whether the chosen attempt's change is now in the user's working tree. */
  applied: boolean;
  /** Why the chosen change could not be applied. */
  applyError?: AutocoderError;
}

/** The repository's top level and the request's folder inside it, or a readable refusal. */
async function locate(cwd: string): Promise<{ top: string; prefix: string; head: string }> {
  const inside = await git(['rev-parse', '--show-toplevel'], { cwd, okExitCodes: [128] });
  if (inside.exitCode !== 0) {
    throw new AutocoderError('config_invalid', `several attempts need a git repository (each works in its own worktree), and ${cwd} is not in one`);
  }
  const top = await realpath(inside.stdout.trim());
  const head = await git(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], { cwd: top, okExitCodes: [1, 128] });
  if (head.exitCode !== 0) {
    throw new AutocoderError('config_invalid', `several attempts start from the current commit, and the repository ${top} has no commit yet; commit first, or run one attempt`);
  }
  return { top, prefix: relative(top, cwd), head: head.stdout.trim() };
}

/**
 * The attempts work in worktrees at HEAD, and the chosen change is applied on top of the user's
 * files afterwards. Uncommitted changes to tracked files would be missing from every attempt,
 * and could clash with the change applied at the end: they are refused rather than guessed at.
 */
async function refuseUncommitted(top: string): Promise<void> {
  const status = await git(['status', '--porcelain=v1', '-z', '--untracked-files=no'], { cwd: top });
  const files = status.stdout.split('\0').filter(Boolean).map((entry) => entry.slice(3));
  if (files.length === 0) return;
  const shown = files.slice(0, 5).join(', ') + (files.length > 5 ? `, and ${files.length - 5} more` : '');
  throw new AutocoderError(
    'config_invalid',
    `several attempts work in clean copies of the last commit and then apply the chosen change to your files, so uncommitted changes ` +
      `(${shown}) would be missing from every attempt and could clash with it; commit or stash them first, or run one attempt`,
  );
}

/**
 * Best of N on the user's own repository: a detached worktree per attempt at HEAD, under the data
 * dir (the commands' sandbox hides the data dir but shows each attempt its own tree), then the
 * chosen attempt's change applied to the user's working tree, and the worktrees removed.
 */
export async function runLocalAttempts(options: LocalAttemptsOptions): Promise<LocalAttempts> {
  const { top, prefix, head } = await locate(options.cwd);
  await refuseUncommitted(top);

  let base: string;
  if (options.dataDir) {
    base = join(options.dataDir, 'attempts', newId('att'));
    await mkdir(base, { recursive: true });
    base = await realpath(base);
  } else {
    base = await realpath(await mkdtemp(join(tmpdir(), 'autocoder-attempts-')));
  }
  const made: string[] = [];
  try {
    const best = await runBestOfN({
      ...options,
      prepare: async (attempt): Promise<AttemptTree> => {
        const path = join(base, String(attempt));
        made.push(path);
        await git([...HARDENED_CONFIG, 'worktree', 'add', '--quiet', '--detach', path, head], { cwd: top, signal: options.agent.signal });
        return { root: path, cwd: join(path, prefix) };
      },
    });
    if (!best.chosen || options.agent.signal?.aborted) return { ...best, applied: false };
    try {
      await applyPatch(top, best.chosen.patch);
      return { ...best, applied: true };
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      return {
        ...best,
        applied: false,
        applyError: new AutocoderError('git_failed', `attempt ${best.chosen.outcome.attempt} was chosen, but its change could not be applied to your files (did they change meanwhile?): ${why}`),
      };
    }
  } finally {
    for (const path of made) await removeWorktree(top, path);
    await rm(base, { recursive: true, force: true });
  }
}
