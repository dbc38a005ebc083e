import { lstat, realpath } from 'node:fs/promises';
import { isAbsolute, join, sep } from 'node:path';
import { AutocoderError } from '../errors.js';
import { readGitLayout } from './git-dir.js';
import { resolveShell, shellArgs, shellQuote } from './shell.js';
import type { CommandSandbox, SandboxLimits, WrapOptions, WrappedCommand } from './types.js';

/** What the installed bwrap supports (0.8 has all; Debian 11's 0.4 neither option). */
export interface BwrapFeatures {
  /** `--size` before `--tmpfs` (0.5+). */
  size: boolean;
  /** `--disable-userns` (0.8+): the sandbox cannot make user namespaces of its own. */
  disableUserns: boolean;
}

/** The private, writable home of every sandboxed command (on the sandbox's /tmp). */
export const SANDBOX_HOME = '/tmp/home';

/** Where a linked worktree's real admin folder is shown, read-only, to be copied from. */
const GIT_ADMIN_SOURCE = '/tmp/.autocoder/git-admin';

/**
 * Replaced by empty read-only folders: they hold the sockets of the host's daemons (Docker,
 * D-Bus, databases). A socket on a read-only mount can still be connected to, so read-only is
 * not enough for them.
 */
const HOST_SOCKET_DIRS = ['/run', '/var/run'];

/**
 * `hide-*`: out of sight (an empty read-only folder, an unreadable file). `ro`/`rw`: the host's
 * path at the same place. `scratch`: an empty writable folder that vanishes with the command.
 * `source` (with `ro`): the host path shown at `path` when it is another one.
 */
type MountOp = 'hide-dir' | 'hide-file' | 'ro' | 'rw' | 'scratch';

export interface Mount {
  op: MountOp;
  path: string;
  source?: string;
}

const RANK: Record<MountOp, number> = { 'hide-dir': 0, 'hide-file': 0, scratch: 0, ro: 1, rw: 2 };

function depth(path: string): number {
  return path === '/' ? 0 : path.split('/').length - 1;
}

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** The options that make the sandbox, without the mounts that depend on the command. */
export function baseArgs(features: BwrapFeatures, network: boolean, tmpBytes: number): string[] {
  return [
    // net, ipc, pid, uts, cgroup; and a user namespace, so that whatever capabilities a
    // process gets inside count in that namespace only.
    '--unshare-all',
    ...(network ? ['--share-net'] : []),
    '--unshare-user',
    ...(features.disableUserns ? ['--disable-userns'] : []),
    // As real root, bwrap keeps every capability unless told: with them a command could simply
    // remount / read-write.
    '--cap-drop', 'ALL',
    '--die-with-parent',
    '--new-session',
    '--hostname', 'sandbox',
    '--ro-bind', '/', '/',
    '--dev', '/dev',
    '--proc', '/proc',
    ...(features.size ? ['--size', String(tmpBytes)] : []),
    '--tmpfs', '/tmp',
    '--dir', SANDBOX_HOME,
  ];
}

/** Orders mounts so that a folder is mounted before anything inside it; at one path the later wins. */
function order(mounts: Mount[]): Mount[] {
  return mounts
    .map((mount, index) => ({ mount, index }))
    .sort((a, b) => depth(a.mount.path) - depth(b.mount.path) || RANK[a.mount.op] - RANK[b.mount.op] || a.index - b.index)
    .map(({ mount }) => mount);
}

/** Whether `path` is still reachable after the mounts (not under a hidden folder or the private /tmp). */
function visible(path: string, mounts: Mount[]): boolean {
  let nearest: Mount = { op: 'ro', path: '/' };
  for (const mount of [{ op: 'hide-dir' as const, path: '/tmp' }, ...mounts]) {
    if (within(path, mount.path) && depth(mount.path) >= depth(nearest.path)) nearest = mount;
  }
  return nearest.op !== 'hide-dir';
}

async function existing(path: string): Promise<{ path: string; dir: boolean } | undefined> {
  if (!isAbsolute(path)) return undefined;
  const real = await realpath(path).catch(() => undefined);
  if (!real) return undefined;
  const info = await lstat(real).catch(() => undefined);
  return info ? { path: real, dir: info.isDirectory() } : undefined;
}

export interface BwrapSandboxOptions {
  bwrapPath: string;
  version: string;
  features: BwrapFeatures;
  hiddenPaths: string[];
  limits: SandboxLimits;
}

/**
 * bubblewrap: a read-only view of the whole system, the working tree the only writable place on
 * disk (a linked worktree's git admin folder is a private copy), fresh /tmp, /dev and /proc (only
 * the sandbox's own processes, so no /proc/<pid>/environ of the app), no network unless asked,
 * no capabilities, the data dir and secret files hidden.
 */
export function createBwrapSandbox(options: BwrapSandboxOptions): CommandSandbox {
  const { limits } = options;
  return {
    kind: 'bwrap',
    describe: () =>
      `bwrap ${options.version}: no network, read-only system, only the working tree writable, private /tmp, /proc and home, ` +
      `${options.hiddenPaths.length} hidden path(s), at most ${limits.maxProcesses} processes` +
      (process.getuid?.() === 0 ? ' (not enforced for root)' : ''),
    async wrap(command: string, wrapOptions: WrapOptions): Promise<WrappedCommand> {
      const { mounts, setup } = await planSandbox(wrapOptions, options.hiddenPaths);
      const args = baseArgs(options.features, wrapOptions.network ?? false, limits.tmpBytes);
      for (const mount of mounts) {
        if (mount.op === 'hide-dir') args.push('--tmpfs', mount.path);
        else if (mount.op === 'scratch') args.push(...(options.features.size ? ['--size', String(limits.tmpBytes)] : []), '--tmpfs', mount.path);
        // A device on a bind mount (nodev) cannot be opened: the file is there but unreadable.
        else if (mount.op === 'hide-file') args.push('--ro-bind', '/dev/null', mount.path);
        else args.push(mount.op === 'rw' ? '--bind' : '--ro-bind', mount.source ?? mount.path, mount.path);
      }
      // Read-only only now: bwrap had to create the mount points of what is shown inside them.
      for (const mount of mounts) if (mount.op === 'hide-dir') args.push('--remount-ro', mount.path);
      args.push('--chdir', wrapOptions.cwd);

      const env: NodeJS.ProcessEnv = { ...wrapOptions.env, HOME: SANDBOX_HOME, TMPDIR: '/tmp' };
      const shell = resolveShell(env.PATH);
      args.push('--', shell.path, ...shellArgs(shell, command, { ...limits, setup }));
      return { file: options.bwrapPath, args, env };
    },
  };
}

/** Every mount after the base ones, in the order bwrap must make them. */
export async function planMounts(options: WrapOptions, hiddenPaths: string[]): Promise<Mount[]> {
  return (await planSandbox(options, hiddenPaths)).mounts;
}

/** The mounts, and the shell steps that must run inside before the command. */
export async function planSandbox(options: WrapOptions, hiddenPaths: string[]): Promise<{ mounts: Mount[]; setup: string[] }> {
  const mounts: Mount[] = [];
  const setup: string[] = [];
  const writable: string[] = [];
  for (const path of options.writablePaths) {
    const found = await existing(path);
    if (!found?.dir) throw new AutocoderError('internal', `the sandbox's writable path ${path} is not a folder`);
    if (found.path === '/') throw new AutocoderError('internal', 'the sandbox cannot make / writable');
    writable.push(found.path);
    mounts.push({ op: 'rw', path: found.path });
  }
  if (!writable.some((dir) => within(options.cwd, dir))) {
    throw new AutocoderError('internal', `the command's folder ${options.cwd} is not among its writable paths`);
  }

  for (const dir of writable) {
    const layout = await readGitLayout(dir);
    if (layout.kind === 'directory') {
      // Hooks and config in a writable .git would run outside the sandbox at the next git
      // command the app (or the user) runs there.
      mounts.push({ op: 'ro', path: layout.gitDir });
    } else if (layout.kind === 'linked') {
      // The shared repository stays read-only: objects and refs are shared with every other
      // run of the repository, and its other worktrees are not this command's business.
      // The worktree's own admin folder (index, HEAD) is a private copy: git can refresh the
      // index and `checkout -- <file>` works, and nothing a command leaves there (MERGE_HEAD,
      // a rebase in progress, a rewritten HEAD or commondir) reaches the git commands the app
      // runs afterwards.
      mounts.push({ op: 'ro', path: layout.commonDir });
      mounts.push({ op: 'hide-dir', path: join(layout.commonDir, 'worktrees') });
      mounts.push({ op: 'scratch', path: layout.adminDir });
      mounts.push({ op: 'ro', path: GIT_ADMIN_SOURCE, source: layout.adminDir });
      setup.push(`cp -pR ${shellQuote(`${GIT_ADMIN_SOURCE}/.`)} ${shellQuote(`${layout.adminDir}/`)} 2>/dev/null`);
      mounts.push({ op: 'ro', path: layout.gitFile });
    }
  }

  for (const dir of HOST_SOCKET_DIRS) {
    // /var/run is usually a link to /run; a link cannot be mounted over, and needs no hiding.
    const info = await lstat(dir).catch(() => undefined);
    if (info?.isDirectory()) mounts.push({ op: 'hide-dir', path: dir });
  }
  if (options.network) {
    // DNS: /etc/resolv.conf is often a link into /run (systemd-resolved, Docker's is a file).
    const resolv = await existing('/etc/resolv.conf');
    if (resolv && !resolv.dir && HOST_SOCKET_DIRS.some((dir) => within(resolv.path, dir))) mounts.push({ op: 'ro', path: resolv.path });
  }

  for (const path of hiddenPaths) {
    const found = await existing(path);
    if (!found || found.path === '/') continue;
    // Hiding a folder that holds the working tree keeps the tree (and its git data) visible.
    mounts.push({ op: found.dir ? 'hide-dir' : 'hide-file', path: found.path });
  }

  // Drop what is already out of sight (mounting over it would only create empty mount points),
  // and duplicates.
  const seen = new Set<string>();
  const sorted = order(mounts).filter((mount) => {
    const key = `${mount.op}\0${mount.path}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const kept = sorted.filter((mount, index) => {
    if (mount.op !== 'hide-dir' && mount.op !== 'hide-file') return true;
    return visible(mount.path, sorted.slice(0, index).filter((m) => m.path !== mount.path));
  });
  return { mounts: kept, setup };
}
