import { AutocoderError } from '../engine/errors.js';
import { git } from './git.js';

/**
 * Moving a change from one working tree to another (best of N: from the chosen attempt's
 * worktree into the user's tree, or into the worktree that is pushed). The patch the agent's
 * change tracker makes is for reading: it has no binary contents, so it cannot carry an image.
 */

/** The change from one tree (or commit) to another, as `git apply` takes it, binary files included. */
export async function binaryPatch(dir: string, fromTree: string, toTree: string): Promise<string> {
  if (fromTree === toTree) return '';
  const out = await git(
    ['diff-tree', '-r', '-p', '--binary', '--no-renames', '--no-color', '--no-ext-diff', '--no-textconv', '--src-prefix=a/', '--dst-prefix=b/', fromTree, toTree, '--'],
    { cwd: dir },
  );
  return out.stdout;
}

/**
 * Applies a patch to the files of the working tree at `dir` (its top level), not to its index.
 * All or nothing: when one file does not match (it changed meanwhile, or an untracked file sits
 * where the patch adds one), nothing is written and the error says which.
 */
export async function applyPatch(dir: string, patch: string, signal?: AbortSignal): Promise<void> {
  if (!patch.trim()) return;
  const out = await git(['apply', '--binary', '--whitespace=nowarn', '-'], { cwd: dir, input: patch, okExitCodes: [1, 128], signal });
  if (out.exitCode !== 0) {
    const why = out.stderr.trim().split('\n').slice(0, 5).join('; ');
    throw new AutocoderError('git_failed', `the change could not be applied to ${dir}: ${why || `git apply exit ${out.exitCode}`}`);
  }
}
