import { copyFile, mkdtemp, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { FileChange } from '../engine/events.js';
import { runProcess } from '../util/process.js';
import { GitError, git, gitEnv } from './git.js';

/** A snapshot hashes every changed file; on a big tree that can take a while, never forever. */
const SNAPSHOT_TIMEOUT_MS = 10 * 60_000;

export interface TreeChanges {
  files: FileChange[];
  /** Unified diff from the first tree to the second. */
  patch: string;
}

interface LocatedIndex {
  top: string;
  index: string;
}

/**
 * Where `dir`'s repository keeps its index, or undefined when `dir` is not in a work tree. One
 * git process: every process a run starts costs a fork of the whole server, and runs add up.
 */
async function locateIndex(dir: string): Promise<LocatedIndex | undefined> {
  // Outside a repository, in a bare one or inside `.git`, rev-parse fails (128) or says `false`.
  const out = await git(['rev-parse', '--is-inside-work-tree', '--show-toplevel', '--git-path', 'index'], { cwd: dir, okExitCodes: [128] }).catch(
    () => undefined,
  );
  if (!out || out.exitCode !== 0) return undefined;
  // `--git-path` rather than `.git/index`: in a linked worktree `.git` is a file.
  const [inside, top, index] = out.stdout.split('\n');
  if (inside !== 'true' || !top || !index) return undefined;
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
  return snapshotAt(await locateIndex(dir));
}

async function snapshotAt(located: LocatedIndex | undefined): Promise<string | undefined> {
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
    // Both steps in one child: every process the server starts is a fork of the whole server
    // (a millisecond or more each, on the event loop), and every run snapshots at start and end.
    const result = await runProcess('sh', ['-c', 'git add -A -- . && exec git write-tree'], {
      cwd: located.top,
      env: gitEnv({ GIT_INDEX_FILE: tempIndex }),
      timeoutMs: SNAPSHOT_TIMEOUT_MS,
      maxOutputBytes: 1024 * 1024,
    });
    if (result.exitCode !== 0 || result.timedOut) throw new GitError(['add', '-A', '--', '.', '&&', 'git', 'write-tree'], result, []);
    // The tree id is what write-tree printed: the last line.
    return result.stdout.trim().split('\n').at(-1) ?? '';
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
  const [names, patch] = await Promise.all([
    git(['diff-tree', ...DIFF_FLAGS, '-z', '--name-status', fromTree, toTree, '--'], { cwd: dir }),
    git(['diff-tree', ...DIFF_FLAGS, '-p', '--no-color', '--src-prefix=a/', '--dst-prefix=b/', fromTree, toTree, '--'], { cwd: dir }),
  ]);
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

/**
 * The engine's change tracker over git: snapshot now, list what changed since a snapshot. Where
 * the index lives is looked up once per tracker (a run's working tree does not move).
 */
export function createGitChangeTracker(dir: string) {
  let located: Promise<LocatedIndex | undefined> | undefined;
  const locate = async () => {
    located ??= locateIndex(dir);
    const found = await located;
    // Not a work tree (yet): ask again next time, the agent may have run `git init`.
    if (!found) located = undefined;
    return found;
  };
  return {
    snapshot: async (): Promise<string | undefined> => snapshotAt(await locate()),
    async changes(since: string): Promise<TreeChanges> {
      const now = await snapshotAt(await locate());
      if (!now || now === since) return { files: [], patch: '' };
      return diffTrees(dir, since, now);
    },
  };
}
