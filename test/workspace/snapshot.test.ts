import { afterEach, describe, expect, it } from 'vitest';
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runProcess } from '../../src/util/process.js';
import { createGitChangeTracker, diffTrees, snapshotTree } from '../../src/workspace/snapshot.js';
import { gitTestEnv, makeTempDir, makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function repo(files: Record<string, string>): Promise<TempRepo> {
  const made = await makeTempRepo(files);
  cleanups.push(made.cleanup);
  return made;
}

/** Changes the tree the way an agent's shell command would. */
async function sh(cwd: string, script: string): Promise<void> {
  const result = await runProcess('sh', ['-c', script], { cwd, env: { PATH: process.env.PATH } });
  expect(result.exitCode, result.output).toBe(0);
}

const FILES = { 'keep.txt': 'keep\n', 'edit.txt': 'one\n', 'gone.txt': 'bye\n', 'old-name.txt': 'moving\n', '.gitignore': 'ignored/\n' };

async function exerciseTracker(root: string, status: () => Promise<string>, indexPath: string): Promise<void> {
  const tracker = createGitChangeTracker(root);
  const before = await tracker.snapshot();
  expect(before).toMatch(/^[0-9a-f]{40}$/);

  await sh(root, 'echo created > made-by-shell.txt && printf "two\\n" >> edit.txt && rm gone.txt && mv old-name.txt new-name.txt && mkdir -p ignored && echo x > ignored/junk');
  const statusBefore = await status();
  const indexBefore = await readFile(indexPath);
  const changes = await tracker.changes(before!);
  expect(changes.files).toEqual(
    expect.arrayContaining([
      { path: 'made-by-shell.txt', change: 'added' },
      { path: 'edit.txt', change: 'modified' },
      { path: 'gone.txt', change: 'deleted' },
      { path: 'old-name.txt', change: 'deleted' },
      { path: 'new-name.txt', change: 'added' },
    ]),
  );
  expect(changes.files).toHaveLength(5);
  expect(changes.patch).toContain('+++ b/made-by-shell.txt');
  expect(changes.patch).toContain('+two');
  expect(changes.patch).toContain('--- a/gone.txt');
  expect(changes.patch).not.toContain('ignored/junk');

  // The user's staging area is exactly as it was.
  expect(await readFile(indexPath)).toEqual(indexBefore);
  expect(await status()).toBe(statusBefore);
  const after = await tracker.snapshot();
  expect(await tracker.changes(after!)).toEqual({ files: [], patch: '' });
}

describe('snapshotTree / diffTrees', () => {
  it('detects shell-made additions, modifications, deletions and renames in a normal clone', async () => {
    const r = await repo(FILES);
    await exerciseTracker(r.root, () => r.git('status', '--porcelain'), join(r.root, '.git', 'index'));
    // ...and the real index still knows nothing of the new files: they are untracked, not staged.
    expect(await r.git('status', '--porcelain')).toContain('?? made-by-shell.txt');
    expect(await r.git('diff', '--cached', '--name-only')).toBe('');
  });

  it('works in a linked worktree, where .git is a file', async () => {
    const r = await repo(FILES);
    const wtParent = await makeTempDir('autocoder-wt-');
    cleanups.push(() => rm(wtParent, { recursive: true, force: true }));
    const wt = join(wtParent, 'tree');
    await r.git('worktree', 'add', '-q', '-b', 'feature', wt);
    const wtGit = async (...args: string[]) =>
      (await runProcess('git', args, { cwd: wt, env: gitTestEnv })).stdout;
    const indexPath = join(r.root, '.git', 'worktrees', 'tree', 'index');
    await exerciseTracker(wt, () => wtGit('status', '--porcelain'), indexPath);
    // The main worktree saw nothing.
    expect(await r.git('status', '--porcelain')).toBe('');
  });

  it('keeps staged changes staged and works before the first commit', async () => {
    const root = await makeTempDir('autocoder-fresh-');
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    await sh(root, 'git init -q && echo a > a.txt && git add a.txt && echo b > b.txt');
    const tree = await snapshotTree(root);
    expect(tree).toMatch(/^[0-9a-f]{40}$/);
    const status = await runProcess('git', ['status', '--porcelain'], { cwd: root, env: gitTestEnv });
    expect(status.stdout).toBe('A  a.txt\n?? b.txt\n');
    const empty = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
    const { files } = await diffTrees(root, empty, tree!);
    expect(files).toEqual([
      { path: 'a.txt', change: 'added' },
      { path: 'b.txt', change: 'added' },
    ]);
  });

  it('reports paths relative to a subdirectory it is given', async () => {
    const r = await repo({ 'pkg/a.txt': 'a\n', 'top.txt': 't\n' });
    const sub = join(r.root, 'pkg');
    const before = await snapshotTree(sub);
    await writeFile(join(sub, 'a.txt'), 'changed\n');
    await mkdir(join(sub, 'deep'));
    await writeFile(join(sub, 'deep', 'b.txt'), 'b\n');
    const after = await snapshotTree(sub);
    const { files } = await diffTrees(sub, before!, after!);
    expect(files).toEqual([
      { path: 'a.txt', change: 'modified' },
      { path: 'deep/b.txt', change: 'added' },
    ]);
  });

  it('is undefined outside a git work tree', async () => {
    const dir = await makeTempDir('autocoder-plain-');
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    expect(await snapshotTree(dir)).toBeUndefined();
    expect(await createGitChangeTracker(dir).snapshot()).toBeUndefined();
  });
});
