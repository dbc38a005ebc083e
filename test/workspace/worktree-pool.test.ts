import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, readdir, readlink, rm, stat, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { git } from '../../src/workspace/git.js';
import { WorkspaceManager } from '../../src/workspace/workspace-manager.js';
import { readLinkedTree } from '../../src/workspace/worktree-admin.js';
import { startGitServer, type GitServer } from '../helpers/git-http-server.js';
import { makeTempDir } from '../helpers/temp-repo.js';

const TOKEN = 'ghs_pool-token-3c1d';
const AUTHOR = { authorName: 'autocoder[bot]', authorEmail: 'autocoder@example.com' };
const FILES = {
  '.gitignore': 'node_modules/\n*.log\n',
  'README.md': '# demo\n',
  'src/app.txt': 'line 1\nline 2\n',
  'src/lib/util.txt': 'util\n',
  'docs/keep.md': 'never changes\n',
};

let server: GitServer;
const dirs: string[] = [];
let repoCount = 0;

beforeAll(async () => {
  server = await startGitServer({ token: TOKEN });
});
afterAll(async () => {
  await server?.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function newManager(options: { parkedPerRepository?: number } = {}) {
  const dataDir = await makeTempDir('autocoder-pool-');
  dirs.push(dataDir);
  return new WorkspaceManager({ dataDir, ...options });
}

async function newRepo() {
  const name = `pool-${++repoCount}`;
  await server.createRepo(name, FILES);
  return { name, cloneUrl: server.cloneUrl(name) };
}

const out = async (cwd: string, ...args: string[]) => (await git(args, { cwd })).stdout.trim();

/** Every file, folder and link under the tree (its `.git` file aside) with its mode and content. */
async function describeTree(root: string, rel = ''): Promise<string[]> {
  const lines: string[] = [];
  for (const entry of (await readdir(join(root, rel), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (path === '.git') continue;
    const full = join(root, path);
    const info = await lstat(full);
    const mode = (info.mode & 0o777).toString(8);
    if (entry.isSymbolicLink()) lines.push(`${path} link ${await readlink(full)}`);
    else if (entry.isDirectory()) lines.push(`${path}/ ${mode}`, ...(await describeTree(root, path)));
    else lines.push(`${path} ${mode} ${createHash('sha1').update(await readFile(full)).digest('hex')}`);
  }
  return lines;
}

async function adminEntries(path: string): Promise<string[]> {
  const linked = await readLinkedTree(path);
  return (await readdir(linked!.adminDir)).sort();
}

/** What a careless (or hostile) run can leave in its tree and in the worktree's git folder. */
async function dirtyEverything(path: string): Promise<void> {
  await writeFile(join(path, 'src/app.txt'), 'rewritten by the run\n');
  await unlink(join(path, 'README.md'));
  await chmod(join(path, '.gitignore'), 0o755);
  await rm(join(path, 'src/lib'), { recursive: true });
  await symlink('/etc', join(path, 'src/lib'));
  await writeFile(join(path, 'untracked.txt'), 'scratch\n');
  await mkdir(join(path, 'node_modules/dep'), { recursive: true });
  await writeFile(join(path, 'node_modules/dep/index.js'), 'ignored\n');
  await writeFile(join(path, 'debug.log'), 'ignored too\n');
  await mkdir(join(path, 'nested'));
  await git(['init', '--quiet', 'nested'], { cwd: path });
  await writeFile(join(path, 'staged.txt'), 'staged\n');
  await git(['add', 'staged.txt'], { cwd: path });
  const admin = (await readLinkedTree(path))!.adminDir;
  await writeFile(join(admin, 'MERGE_HEAD'), `${'1'.repeat(40)}\n`);
  await writeFile(join(admin, 'config.worktree'), '[core]\n\tsparseCheckout = true\n');
  await mkdir(join(admin, 'info'), { recursive: true });
  await writeFile(join(admin, 'info/sparse-checkout'), '/docs/\n');
  await mkdir(join(admin, 'hooks'), { recursive: true });
  await writeFile(join(admin, 'hooks/post-checkout'), '#!/bin/sh\ntouch "$GIT_DIR/../hooked"\n', { mode: 0o755 });
}

describe('recycled worktrees', () => {
  it('a tree parked after a run that dirtied everything comes back indistinguishable from a fresh one', async () => {
    const { name, cloneUrl } = await newRepo();
    const manager = await newManager();
    const first = await manager.prepare({ cloneUrl, token: TOKEN, branch: 'autocoder/issue-1', runId: 'run-1' });
    expect(first.recycled).toBe(false);
    const untouchedInode = (await stat(join(first.path, 'docs/keep.md'))).ino;
    // The run committed on its branch, then left the tree in a mess.
    await writeFile(join(first.path, 'committed.txt'), 'from the run\n');
    await first.commitAll({ message: 'run work', ...AUTHOR });
    await dirtyEverything(first.path);
    await first.remove();
    await expect(stat(first.path)).rejects.toThrow();
    expect(await out(first.cachePath, 'branch', '--list', 'autocoder/issue-1')).toBe('');
    expect(await readdir(manager.pool.dirFor(first.cachePath))).toHaveLength(1);

    // The remote moved on meanwhile: the next run starts from the new commit.
    const newer = await server.commitFiles(name, { 'src/app.txt': 'line 1\nline 2\nline 3\n', 'added.md': 'new\n' }, { branch: 'main' });
    const second = await manager.prepare({ cloneUrl, token: TOKEN, branch: 'autocoder/issue-2', runId: 'run-2' });
    const fresh = await (await newManager()).prepare({ cloneUrl, token: TOKEN, branch: 'autocoder/issue-2', runId: 'run-2' });
    expect(second.recycled).toBe(true);
    expect(fresh.recycled).toBe(false);
    expect(await readdir(manager.pool.dirFor(first.cachePath))).toEqual([]);
    // The file no commit touched was not written again: the tree really is the parked one.
    expect((await stat(join(second.path, 'docs/keep.md'))).ino).toBe(untouchedInode);

    expect(second.path).toBe(join(manager.dataDir, 'worktrees', 'run-2'));
    expect(second.baseSha).toBe(newer);
    expect(await out(second.path, 'rev-parse', 'HEAD')).toBe(newer);
    expect(await out(second.path, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('autocoder/issue-2');
    expect(await describeTree(second.path)).toEqual(await describeTree(fresh.path));
    expect(await out(second.path, 'status', '--porcelain', '--ignored', '--untracked-files=all')).toBe('');
    expect(await out(second.path, 'ls-files', '--stage')).toBe(await out(fresh.path, 'ls-files', '--stage'));
    expect((await out(second.path, 'ls-files', '-v')).split('\n').every((line) => line.startsWith('H '))).toBe(true);
    expect(await adminEntries(second.path)).toEqual(await adminEntries(fresh.path));
    expect(await out(second.path, 'stash', 'list')).toBe('');
    expect(await out(second.path, 'log', '--format=%H', 'HEAD')).toBe(await out(fresh.path, 'log', '--format=%H', 'HEAD'));
    expect((await out(second.cachePath, 'worktree', 'list', '--porcelain')).split('\n').filter((l) => l.startsWith('worktree '))).toEqual([
      `worktree ${second.cachePath}`,
      `worktree ${second.path}`,
    ]);

    // And it works as any tree does: commit and push.
    await writeFile(join(second.path, 'second.txt'), 'second run\n');
    const sha = (await second.commitAll({ message: 'second', ...AUTHOR }))!;
    expect(await second.push({ token: TOKEN })).toEqual({ ok: true, sha });
    expect(await server.git(name, ['show', '--stat', '--format=', sha])).toContain('second.txt');
    expect(await server.git(name, ['show', `${sha}:committed.txt`]).catch(() => 'absent')).toBe('absent');
    await Promise.all([second.remove(), fresh.remove()]);
  });

  it('keeps at most the bound per repository and deletes the rest', async () => {
    const { cloneUrl } = await newRepo();
    const manager = await newManager({ parkedPerRepository: 1 });
    const trees = await Promise.all(
      [1, 2, 3].map((n) => manager.prepare({ cloneUrl, token: TOKEN, branch: `autocoder/issue-${n}`, runId: `bound-${n}` })),
    );
    for (const tree of trees) await tree.remove();
    for (const tree of trees) await expect(stat(tree.path)).rejects.toThrow();
    const parked = await readdir(manager.pool.dirFor(trees[0].cachePath));
    expect(parked).toHaveLength(1);
    const listed = (await out(trees[0].cachePath, 'worktree', 'list', '--porcelain')).split('\n').filter((l) => l.startsWith('worktree '));
    expect(listed).toEqual([`worktree ${trees[0].cachePath}`, `worktree ${join(manager.pool.dirFor(trees[0].cachePath), parked[0])}`]);
    expect(await out(trees[0].cachePath, 'branch', '--list')).toBe('');
    // Of two runs at once, one gets the parked tree and the other a new one.
    const [a, b] = await Promise.all([1, 2].map((n) => manager.prepare({ cloneUrl, token: TOKEN, branch: `again-${n}`, runId: `again-${n}` })));
    expect([a.recycled, b.recycled].sort()).toEqual([false, true]);
    await Promise.all([a.remove(), b.remove()]);
  });

  it('does not keep a tree whose index hides changes (assume-unchanged), and the next run gets clean files', async () => {
    const { cloneUrl } = await newRepo();
    const manager = await newManager();
    const tree = await manager.prepare({ cloneUrl, token: TOKEN, branch: 'hidden', runId: 'hidden-1' });
    await git(['update-index', '--assume-unchanged', 'README.md'], { cwd: tree.path });
    await writeFile(join(tree.path, 'README.md'), 'hidden change\n');
    expect(await out(tree.path, 'status', '--porcelain')).toBe('');
    await tree.remove();
    await expect(stat(tree.path)).rejects.toThrow();
    expect(await readdir(manager.pool.dirFor(tree.cachePath)).catch(() => [])).toEqual([]);
    const next = await manager.prepare({ cloneUrl, token: TOKEN, branch: 'hidden', runId: 'hidden-2' });
    expect(next.recycled).toBe(false);
    expect(await readFile(join(next.path, 'README.md'), 'utf8')).toBe('# demo\n');
    await next.remove();
  });

  it('does not keep a tree whose .git was pointed somewhere else', async () => {
    const { cloneUrl } = await newRepo();
    const manager = await newManager();
    const tree = await manager.prepare({ cloneUrl, token: TOKEN, branch: 'moved', runId: 'moved-1' });
    await writeFile(join(tree.path, '.git'), 'gitdir: /tmp/not-a-repository\n');
    await tree.remove();
    await expect(stat(tree.path)).rejects.toThrow();
    expect(await readdir(manager.pool.dirFor(tree.cachePath)).catch(() => [])).toEqual([]);
    expect(await out(tree.cachePath, 'branch', '--list', 'moved')).toBe('');
  });

  it('a parked tree is refused, as a new one would be, for a branch another live tree has checked out', async () => {
    const { cloneUrl } = await newRepo();
    const manager = await newManager();
    await (await manager.prepare({ cloneUrl, token: TOKEN, branch: 'one', runId: 'busy-0' })).remove();
    const live = await manager.prepare({ cloneUrl, token: TOKEN, branch: 'same', runId: 'busy-1' });
    expect(live.recycled).toBe(true);
    await (await manager.prepare({ cloneUrl, token: TOKEN, branch: 'two', runId: 'busy-2' })).remove();
    const error = await manager.prepare({ cloneUrl, token: TOKEN, branch: 'same', runId: 'busy-3' }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/already (checked out|used by worktree)/);
    await expect(stat(manager.worktreePath('busy-3'))).rejects.toThrow();
    await live.remove();
  });
});

describe('sweeping at start', () => {
  it('removes the trees of runs whose process is gone and folders that never became trees, never a live run', async () => {
    const { cloneUrl } = await newRepo();
    const earlier = await newManager();
    const abandoned = await earlier.prepare({ cloneUrl, token: TOKEN, branch: 'autocoder/issue-11', runId: 'abandoned' });
    const live = await earlier.prepare({ cloneUrl, token: TOKEN, branch: 'autocoder/issue-12', runId: 'live' });
    const vanished = await earlier.prepare({ cloneUrl, token: TOKEN, branch: 'autocoder/issue-13', runId: 'vanished' });
    // An earlier incarnation of a process with our pid (a restarted container) prepared `abandoned`.
    const admin = (await readLinkedTree(abandoned.path))!.adminDir;
    await writeFile(join(admin, 'autocoder-owner'), `${hostname()} ${process.pid} 000000000000\n`);
    await rm(vanished.path, { recursive: true, force: true });
    const worktrees = join(earlier.dataDir, 'worktrees');
    await mkdir(join(worktrees, 'half-made'));
    const hourAgo = new Date(Date.now() - 3600_000);
    await utimes(join(worktrees, 'half-made'), hourAgo, hourAgo);
    await mkdir(join(worktrees, 'being-made'));

    const restarted = new WorkspaceManager({ dataDir: earlier.dataDir });
    const result = await restarted.sweep();
    expect(result.removed.sort()).toEqual(['abandoned', 'half-made']);
    await expect(stat(abandoned.path)).rejects.toThrow();
    await expect(stat(join(worktrees, 'half-made'))).rejects.toThrow();
    expect((await stat(join(worktrees, 'being-made'))).isDirectory()).toBe(true);
    const listed = await out(abandoned.cachePath, 'worktree', 'list', '--porcelain');
    expect(listed).not.toContain(abandoned.path);
    expect(listed).not.toContain(vanished.path);
    expect(listed).toContain(live.path);
    expect(await out(abandoned.cachePath, 'branch', '--list', 'autocoder/issue-11')).toBe('');
    // The live run goes on undisturbed.
    await writeFile(join(live.path, 'x.txt'), 'x\n');
    expect(await live.commitAll({ message: 'x', ...AUTHOR })).toMatch(/^[0-9a-f]{40}$/);
    // The sweep runs once per manager, before its first prepare.
    expect(await restarted.sweep()).toBe(result);
    await live.remove();
  });
});
