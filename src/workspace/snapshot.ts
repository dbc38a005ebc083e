import { copyFile, mkdtemp, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { FileChange } from '../engine/events.js';
import { git } from './git.js';

export interface TreeChanges {
  files: FileChange[];
  /** Unified diff from the first tree to the second. */
  patch: string;
}

/** Where `dir`'s repository keeps its index, or undefined when `dir` is not in a work tree. */
async function locateIndex(dir: string): Promise<{ top: string; index: string } | undefined> {
  const probe = await git(['rev-parse', '--is-inside-work-tree'], { cwd: dir, okExitCodes: [128] }).catch(() => undefined);
  if (!probe || probe.stdout.trim() !== 'true') return undefined;
  // `--git-path` rather than `.git/index`: in a linked worktree `.git` is a file.
  const out = await git(['rev-parse', '--show-toplevel', '--git-path', 'index'], { cwd: dir });
  const [top, index] = out.stdout.split('\n');
  return { top, index: isAbsolute(index) ? index : resolve(dir, index) };
}

/**
 * A tree hash of the whole working tree as it is now (tracked files plus untracked files that
 * are not ignored), or undefined when `dir` is not inside a git work tree.
 *
 * Works on a copy of the index, so the user's staging area is never touched, and the copy keeps
 * the stat data that lets `git add -A` re-hash only the files that changed.
 */
export async function snapshotTree(dir: string): Promise<string | undefined> {
  const located = await locateIndex(dir);
  if (!located) return undefined;
  const scratch = await mkdtemp(join(tmpdir(), 'autocoder-index-'));
  const tempIndex = join(scratch, 'index');
  try {
    const original = await stat(located.index).catch(() => undefined);
    if (original) {
      await copyFile(located.index, tempIndex);
      // Keep the original's mtime: git's racy-clean check compares file times against it.
      await utimes(tempIndex, original.atime, original.mtime);
    }
    const env = { GIT_INDEX_FILE: tempIndex };
    await git(['add', '-A', '--', '.'], { cwd: located.top, env });
    const tree = await git(['write-tree'], { cwd: located.top, env });
    return tree.stdout.trim();
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

const DIFF_FLAGS = ['-r', '--no-renames', '--relative', '--no-ext-diff', '--no-textconv'];

/**
 * What changed between two trees (or commits), with paths relative to `dir`. Renames are
 * reported as a deletion and an addition, so every path is one that exists on one side.
 */
export async function diffTrees(dir: string, fromTree: string, toTree: string): Promise<TreeChanges> {
  const names = await git(['diff-tree', ...DIFF_FLAGS, '-z', '--name-status', fromTree, toTree, '--'], { cwd: dir });
  const patch = await git(
    ['diff-tree', ...DIFF_FLAGS, '-p', '--no-color', '--src-prefix=a/', '--dst-prefix=b/', fromTree, toTree, '--'],
    { cwd: dir },
  );
  return { files: parseNameStatus(names.stdout), patch: patch.stdout };
}

/** Parses `--name-status -z` output: status and path, each NUL-terminated. */
export function parseNameStatus(output: string): FileChange[] {
  const fields = output.split('\0');
  const files: FileChange[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const status = fields[i];
    const path = fields[i + 1];
    if (!status || !path) continue;
    const change = status.startsWith('A') ? 'added' : status.startsWith('D') ? 'deleted' : 'modified';
    files.push({ path, change });
  }
  return files;
}

/** The engine's change tracker over git: snapshot now, list what changed since a snapshot. */
export function createGitChangeTracker(dir: string) {
  return {
    snapshot: (): Promise<string | undefined> => snapshotTree(dir),
    async changes(since: string): Promise<TreeChanges> {
      const now = await snapshotTree(dir);
      if (!now || now === since) return { files: [], patch: '' };
      return diffTrees(dir, since, now);
    },
  };
}
