import { lstat, readFile, realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Where a working tree keeps its git data, as the sandbox needs it:
 *
 * - `directory`: `.git` is a folder inside the tree (a plain clone, the CLI's repositories).
 * - `linked`: `.git` is a file naming `<common>/worktrees/<id>` (a `git worktree`, which is what
 *   every GitHub and API run gets): the worktree's own admin folder (index, HEAD) and the shared
 *   repository (objects, refs, config, hooks) are elsewhere, usually inside the hidden data dir.
 */
export type GitLayout =
  | { kind: 'none' }
  | { kind: 'directory'; gitDir: string }
  | { kind: 'linked'; gitFile: string; adminDir: string; commonDir: string };

async function readTrimmed(path: string): Promise<string | undefined> {
  return (await readFile(path, 'utf8').catch(() => undefined))?.trim();
}

/**
 * Reads the layout of the tree at `root` (a real path). The `.git` file is in the writable tree,
 * so what it names is only believed when git's own back-links agree: the admin folder's `gitdir`
 * points back to this `.git` and the folder sits in its common dir's `worktrees/`. Anything
 * else is treated as no repository, and then no path outside the tree is made writable.
 */
export async function readGitLayout(root: string): Promise<GitLayout> {
  const dotGit = join(root, '.git');
  const info = await lstat(dotGit).catch(() => undefined);
  if (!info) return { kind: 'none' };
  if (info.isDirectory()) return { kind: 'directory', gitDir: dotGit };
  if (!info.isFile()) return { kind: 'none' };

  const pointer = (await readTrimmed(dotGit))?.match(/^gitdir: (.+)$/m)?.[1];
  if (!pointer) return { kind: 'none' };
  const adminDir = await realpath(resolve(root, pointer)).catch(() => undefined);
  if (!adminDir) return { kind: 'none' };
  const back = await readTrimmed(join(adminDir, 'gitdir'));
  if (!back || (await realpath(resolve(adminDir, back)).catch(() => undefined)) !== dotGit) return { kind: 'none' };
  const common = await readTrimmed(join(adminDir, 'commondir'));
  if (!common) return { kind: 'none' };
  const commonDir = await realpath(resolve(adminDir, common)).catch(() => undefined);
  if (!commonDir || dirname(adminDir) !== join(commonDir, 'worktrees') || !basename(adminDir)) return { kind: 'none' };
  return { kind: 'linked', gitFile: dotGit, adminDir, commonDir };
}
