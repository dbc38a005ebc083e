import { readFile, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readGitLayout } from '../engine/sandbox/git-dir.js';
import { PROCESS_OWNER, ownerIsGone } from './locks.js';

/**
 * A linked worktree's two halves: the tree, and its admin folder `<cache>/worktrees/<id>` (HEAD,
 * index, back-link), the layout gitrepository-layout(5) documents.
 */
export interface LinkedTree {
  path: string;
  adminDir: string;
  cachePath: string;
}

/** Our mark in a live run's admin folder: who prepared it, so a sweep can tell abandoned trees. */
const OWNER_FILE = 'autocoder-owner';

/**
 * What git itself keeps for a worktree. Anything else in the admin folder was left by a run
 * (MERGE_HEAD, a rebase in progress, `config.worktree`, `info/sparse-checkout`, per-worktree
 * refs, reflogs) and must not reach the next run of a recycled tree.
 */
const ADMIN_FILES = new Set(['HEAD', 'commondir', 'gitdir', 'index']);

/**
 * The tree at `path` as a linked worktree, believed only when git's back-links agree (see
 * readGitLayout); undefined for anything else, including a `.git` a command rewrote.
 */
export async function readLinkedTree(path: string): Promise<LinkedTree | undefined> {
  const real = await realpath(path).catch(() => undefined);
  if (!real) return undefined;
  const layout = await readGitLayout(real).catch(() => undefined);
  if (layout?.kind !== 'linked') return undefined;
  return { path: real, adminDir: layout.adminDir, cachePath: layout.commonDir };
}

/** Whether `tree` is a worktree of the cache at `cachePath`. */
export async function belongsTo(tree: LinkedTree | undefined, cachePath: string): Promise<boolean> {
  if (!tree) return false;
  return tree.cachePath === (await realpath(cachePath).catch(() => cachePath));
}

/** Removes from the admin folder everything git does not need to know the worktree (our owner mark too). */
export async function wipeAdminExtras(adminDir: string): Promise<void> {
  for (const name of await readdir(adminDir)) {
    if (!ADMIN_FILES.has(name)) await rm(join(adminDir, name), { recursive: true, force: true });
  }
}

/** Points the admin folder back at the tree after the tree's folder was renamed (what `git worktree move` does). */
export async function relinkAdmin(adminDir: string, newPath: string): Promise<void> {
  await writeFile(join(adminDir, 'gitdir'), `${join(await realpath(newPath), '.git')}\n`);
}

export async function claimTree(adminDir: string, owner: string = PROCESS_OWNER): Promise<void> {
  await writeFile(join(adminDir, OWNER_FILE), `${owner}\n`);
}

/** Whether the run that prepared the tree is certainly over (its process is gone, or there is no mark). */
export async function treeIsAbandoned(adminDir: string, self: string = PROCESS_OWNER): Promise<boolean> {
  return ownerIsGone(await readFile(join(adminDir, OWNER_FILE), 'utf8').catch(() => undefined), self);
}

/** The branch a worktree's HEAD names, when it names one. */
export async function checkedOutBranch(adminDir: string): Promise<string | undefined> {
  const head = await readFile(join(adminDir, 'HEAD'), 'utf8').catch(() => '');
  return /^ref: refs\/heads\/(.+)$/m.exec(head)?.[1]?.trim();
}
