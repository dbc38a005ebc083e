import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AutocoderError } from '../engine/errors.js';
import { HARDENED_CONFIG, git, stripCredentials, withAuth } from './git.js';
import { KeyedMutex, withFileLock } from './locks.js';

/** Local branches live in `refs/heads` for worktrees; the remote's branches stay apart in `refs/remotes/origin`. */
export const MIRROR_REFSPEC = '+refs/heads/*:refs/remotes/origin/*';

/**
 * A file-system-safe, collision-free name for a repository's cache: readable host and path
 * (credentials never included) plus a short hash of the whole.
 */
export function mirrorKey(cloneUrl: string): string {
  const clean = stripCredentials(cloneUrl.trim());
  let readable: string;
  try {
    const url = new URL(clean);
    readable = `${url.host}${url.pathname}`;
  } catch {
    readable = clean; // scp-like `git@host:owner/repo` or a local path
  }
  readable = readable.replace(/\/+$/, '').replace(/\.git$/i, '');
  const safe = readable
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/\.{2,}/g, '_')
    .replace(/^[._-]+/, '')
    .slice(0, 80);
  const hash = createHash('sha256').update(clean).digest('hex').slice(0, 12);
  return `${safe || 'repo'}-${hash}`;
}

/** What a callback may do with a freshly fetched cache while it still holds the lock. */
export interface FetchedMirror {
  /** The bare repository. */
  path: string;
  /** The commit of the remote's branch as just fetched, or undefined when there is none. */
  resolve(branch: string): Promise<string | undefined>;
  /** The remote's default branch (asked of the remote, remembered as `origin/HEAD`). */
  defaultBranch(): Promise<string>;
}

export interface SyncOptions {
  cloneUrl: string;
  token?: string;
  /** Fetch only these branches (default: all, with prune). */
  branches?: string[];
  signal?: AbortSignal;
}

/**
 * One bare repository per remote under `<dataDir>/mirrors`, shared by every worktree of that
 * repository. Fetches into one cache run one at a time (in this process by a mutex, across
 * processes by a lock file); everything else (worktrees, commits) runs in parallel.
 */
export class MirrorCache {
  private readonly mutex = new KeyedMutex();
  readonly root: string;

  constructor(options: { dataDir: string }) {
    this.root = join(resolve(options.dataDir), 'mirrors');
  }

  pathFor(cloneUrl: string): string {
    return join(this.root, `${mirrorKey(cloneUrl)}.git`);
  }

  /** Runs `fn` with the cache of `cloneUrl` to itself. */
  exclusive<T>(cloneUrl: string, fn: (path: string) => Promise<T>): Promise<T> {
    return this.exclusivePath(this.pathFor(cloneUrl), fn);
  }

  /** {@link exclusive} for a cache known by its path (`pathFor`'s answer) rather than its remote. */
  exclusivePath<T>(path: string, fn: (path: string) => Promise<T>): Promise<T> {
    return this.mutex.run(path, async () => {
      await mkdir(this.root, { recursive: true });
      return withFileLock(`${path}.lock`, () => fn(path));
    });
  }

  /** Creates the cache when missing, fetches, then runs `then` before anyone else may fetch. */
  sync<T>(options: SyncOptions, then: (mirror: FetchedMirror) => Promise<T>): Promise<T> {
    const cloneUrl = stripCredentials(options.cloneUrl);
    const auth = options.token ? withAuth(options.token, cloneUrl) : {};
    return this.exclusive(cloneUrl, async (path) => {
      const exists = await stat(join(path, 'HEAD')).then(() => true, () => false);
      if (exists) {
        await this.fetch(path, cloneUrl, auth, options);
      } else {
        await this.create(path, cloneUrl, auth, options);
      }
      return then({
        path,
        resolve: (branch) => resolveRemoteBranch(path, branch),
        defaultBranch: () => rememberDefaultBranch(path, auth, options.signal),
      });
    });
  }

  /** Builds the cache beside its final place and renames it in, so a failed first fetch leaves nothing behind. */
  private async create(path: string, cloneUrl: string, auth: Record<string, string>, options: SyncOptions): Promise<void> {
    const temp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
    try {
      await git(['init', '--bare', '--quiet', temp], { cwd: this.root });
      // `remote add` writes exactly MIRROR_REFSPEC; `clone --mirror` would map remote heads onto
      // local ones and `fetch --prune` would then delete the worktrees' branches.
      await git(['remote', 'add', 'origin', cloneUrl], { cwd: temp });
      // Auto-gc in the background would outlive the command and be killed with its process group.
      await git(['config', 'gc.autoDetach', 'false'], { cwd: temp });
      await this.fetch(temp, cloneUrl, auth, options);
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw error;
    }
  }

  private async fetch(path: string, cloneUrl: string, auth: Record<string, string>, options: SyncOptions): Promise<void> {
    // Repairs a remote URL that a command in a worktree may have changed.
    const current = await git(['config', '--get', 'remote.origin.url'], { cwd: path, okExitCodes: [1] });
    if (current.stdout.trim() !== cloneUrl) await git(['remote', 'set-url', 'origin', cloneUrl], { cwd: path });
    const refspecs = options.branches?.map((b) => `+refs/heads/${b}:refs/remotes/origin/${b}`) ?? [];
    const prune = refspecs.length === 0 ? ['--prune'] : [];
    await git([...HARDENED_CONFIG, 'fetch', '--quiet', ...prune, 'origin', ...refspecs], {
      cwd: path,
      env: auth,
      signal: options.signal,
    });
  }
}

async function resolveRemoteBranch(path: string, branch: string): Promise<string | undefined> {
  const out = await git(['rev-parse', '--verify', '--quiet', `refs/remotes/origin/${branch}^{commit}`], {
    cwd: path,
    okExitCodes: [1],
  });
  return out.exitCode === 0 ? out.stdout.trim() : undefined;
}

/** Asks the remote which branch its HEAD names; falls back to what was remembered, then to main/master. */
async function rememberDefaultBranch(path: string, auth: Record<string, string>, signal?: AbortSignal): Promise<string> {
  const listed = await git(['ls-remote', '--symref', 'origin', 'HEAD'], { cwd: path, env: auth, signal });
  let branch = /^ref: refs\/heads\/(\S+)\tHEAD$/m.exec(listed.stdout)?.[1];
  if (!branch) {
    const known = await git(['symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD'], { cwd: path, okExitCodes: [1] });
    branch = known.stdout.trim().replace(/^origin\//, '') || undefined;
  }
  if (!branch) {
    for (const candidate of ['main', 'master']) {
      if (await resolveRemoteBranch(path, candidate)) return candidate;
    }
    throw new AutocoderError('git_failed', 'the remote has no default branch (is the repository empty?)');
  }
  if (await resolveRemoteBranch(path, branch)) {
    await git(['symbolic-ref', 'refs/remotes/origin/HEAD', `refs/remotes/origin/${branch}`], { cwd: path });
  }
  return branch;
}
