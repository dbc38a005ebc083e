import { rm } from 'node:fs/promises';
import { AutocoderError } from '../engine/errors.js';
import { GitError, HARDENED_CONFIG, git, redact, stripCredentials, withAuth } from './git.js';
import type { MirrorCache } from './mirror-cache.js';

export interface Person {
  name: string;
  email: string;
}

export interface CommitOptions {
  message: string;
  authorName: string;
  authorEmail: string;
  coAuthors?: Person[];
}

export type PushResult =
  | { ok: true; sha: string }
  /** `rejected`: the remote branch moved on (non-fast-forward); fetch, rebase and push again. */
  | { ok: false; rejected: boolean; message: string };

export type RebaseResult =
  | { ok: true; sha: string }
  | { ok: false; conflict: true; files: string[]; message: string };

export interface WorktreeInit {
  mirrors: MirrorCache;
  cloneUrl: string;
  cachePath: string;
  path: string;
  branch: string;
  baseBranch: string;
  baseSha: string;
  startedFrom: 'base' | 'branch';
  /** Whether the tree was recycled from a parked one (see WorktreePool) rather than newly written. */
  recycled?: boolean;
  /** Parks the tree for a later run instead of deleting it; false when it may not be kept. */
  park?: () => Promise<boolean>;
}

/** Git identity text must not smuggle in line breaks or address brackets. */
function clean(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f<>]/g, ' ').trim();
}

function identityConfig(person: Person): string[] {
  return ['-c', `user.name=${clean(person.name)}`, '-c', `user.email=${clean(person.email)}`, '-c', 'commit.gpgSign=false'];
}

export function commitMessage(options: CommitOptions): string {
  const author = clean(options.authorEmail).toLowerCase();
  const seen = new Set<string>([author]);
  const trailers: string[] = [];
  for (const person of options.coAuthors ?? []) {
    const email = clean(person.email);
    if (!email || seen.has(email.toLowerCase())) continue;
    seen.add(email.toLowerCase());
    trailers.push(`Co-authored-by: ${clean(person.name)} <${email}>`);
  }
  const body = options.message.trim() || 'Changes by autocoder';
  return trailers.length > 0 ? `${body}\n\n${trailers.join('\n')}\n` : `${body}\n`;
}

/** One run's working tree: a linked worktree of the repository's mirror cache, on its own branch. */
export class PreparedWorkspace {
  readonly path: string;
  /** The remote branch this workspace pushes to (also the local branch's name). */
  readonly branch: string;
  readonly baseBranch: string;
  /** The commit the workspace started from. */
  readonly baseSha: string;
  /** Whether it started from the base branch or from the existing remote `branch` (a revision). */
  readonly startedFrom: 'base' | 'branch';
  readonly cachePath: string;
  /** Whether the files came from a parked tree of an earlier run (only the differing ones were written). */
  readonly recycled: boolean;
  private readonly mirrors: MirrorCache;
  private readonly cloneUrl: string;
  private readonly park?: () => Promise<boolean>;
  private removed = false;

  constructor(init: WorktreeInit) {
    this.mirrors = init.mirrors;
    this.cloneUrl = init.cloneUrl;
    this.cachePath = init.cachePath;
    this.path = init.path;
    this.branch = init.branch;
    this.baseBranch = init.baseBranch;
    this.baseSha = init.baseSha;
    this.startedFrom = init.startedFrom;
    this.recycled = init.recycled ?? false;
    this.park = init.park;
  }

  async headSha(): Promise<string> {
    return (await git(['rev-parse', 'HEAD'], { cwd: this.path })).stdout.trim();
  }

  /** Commits every change in the tree; undefined (and no commit) when nothing changed. */
  async commitAll(options: CommitOptions): Promise<string | undefined> {
    await git([...HARDENED_CONFIG, 'add', '-A'], { cwd: this.path });
    const staged = await git(['diff', '--cached', '--quiet'], { cwd: this.path, okExitCodes: [1] });
    if (staged.exitCode === 0) return undefined;
    const author = { name: options.authorName, email: options.authorEmail };
    // `whitespace`, not the default `strip`: a line such as "#12 ..." is part of the message.
    await git([...HARDENED_CONFIG, ...identityConfig(author), 'commit', '--quiet', '--no-verify', '--cleanup=whitespace', '-F', '-'], {
      cwd: this.path,
      input: commitMessage(options),
    });
    return this.headSha();
  }

  /**
   * Pushes HEAD to `refs/heads/<branch>`, never forced. A rejection because the branch moved on
   * is an answer, not an error; transport and authentication failures throw `git_failed`.
   */
  async push(options: { token?: string; remoteUrl?: string; signal?: AbortSignal }): Promise<PushResult> {
    const url = stripCredentials(options.remoteUrl ?? this.cloneUrl);
    const args = [...HARDENED_CONFIG, 'push', '--porcelain', '--no-verify', url, `HEAD:refs/heads/${this.branch}`];
    // No token: a remote that needs none (a local path, an SSH URL with its own keys); a header
    // scoped to a path would not even parse as a URL.
    const env = options.token ? withAuth(options.token, url) : {};
    const secrets = options.token ? [options.token] : [];
    const result = await git(args, { cwd: this.path, env, okExitCodes: [1], signal: options.signal });
    if (result.exitCode === 0) return { ok: true, sha: await this.headSha() };
    const line = result.stdout.split('\n').find((l) => l.startsWith('!\t'));
    if (!line) throw new GitError(args, { ...result, timedOut: false, aborted: false }, secrets);
    const summary = line.split('\t')[2] ?? line;
    const rejected = /^\[rejected\]/.test(summary) && /non-fast-forward|fetch first/.test(summary);
    const detail = result.stderr.split('\n').filter((l) => !l.startsWith('hint:') && l.trim()).join('\n');
    return { ok: false, rejected, message: redact(`${summary}\n${detail}`.trim(), secrets) };
  }

  /**
   * After a rejected push: fetches the remote branch and replays the local commits on top of it,
   * keeping everyone else's commits. On a conflict the rebase is undone and the files named.
   */
  async rebaseOnRemote(options: { token?: string; signal?: AbortSignal } = {}): Promise<RebaseResult> {
    await this.mirrors.sync(
      { cloneUrl: this.cloneUrl, token: options.token, branches: [this.branch], signal: options.signal },
      async () => undefined,
    );
    // Rebased commits need a committer: the author of the work being replayed.
    const who = (await git(['log', '-1', '--format=%an%x00%ae'], { cwd: this.path })).stdout.trim().split('\0');
    const identity = identityConfig({ name: who[0] || 'autocoder', email: who[1] || 'autocoder@localhost' });
    try {
      await git([...HARDENED_CONFIG, ...identity, 'rebase', '--quiet', `refs/remotes/origin/${this.branch}`], {
        cwd: this.path,
        signal: options.signal,
      });
    } catch (error) {
      const conflicted = await git(['diff', '--name-only', '--diff-filter=U', '-z'], { cwd: this.path }).catch(() => undefined);
      const files = conflicted?.stdout.split('\0').filter(Boolean) ?? [];
      await git([...HARDENED_CONFIG, 'rebase', '--abort'], { cwd: this.path }).catch(() => undefined);
      if (files.length === 0) throw error;
      return {
        ok: false,
        conflict: true,
        files,
        message: `the branch ${this.branch} was changed by someone else and the changes conflict in: ${files.join(', ')}`,
      };
    }
    return { ok: true, sha: await this.headSha() };
  }

  /**
   * Ends the run's use of the worktree: its files, administrative files and local branch go away
   * from `path`. The tree is parked for the next run of the repository when the pool has room,
   * else deleted. Safe to call twice.
   */
  async remove(): Promise<void> {
    if (this.removed) return;
    this.removed = true;
    // A tree that cannot be parked (pool full, untrustworthy index, a failed reset) is deleted.
    if (this.park && (await this.park().catch(() => false))) return;
    // The files go first, outside the lock; the administrative part takes turns with fetches.
    await rm(this.path, { recursive: true, force: true });
    await this.mirrors.exclusive(this.cloneUrl, async () => {
      await removeWorktree(this.cachePath, this.path);
      await git(['branch', '-D', this.branch], { cwd: this.cachePath, okExitCodes: [1] }).catch(() => undefined);
    });
  }
}

/** Removes a worktree even when it is half made or its folder already gone. */
export async function removeWorktree(cachePath: string, path: string): Promise<void> {
  await git(['worktree', 'remove', '--force', '--force', path], { cwd: cachePath }).catch(() => undefined);
  await rm(path, { recursive: true, force: true });
  await git(['worktree', 'prune'], { cwd: cachePath }).catch(() => undefined);
}

export function assertSafeRunId(runId: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(runId) || runId.includes('..')) {
    throw new AutocoderError('git_failed', `run id ${JSON.stringify(runId)} cannot name a folder`);
  }
}
