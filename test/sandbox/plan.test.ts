import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { planMounts, planSandbox } from '../../src/engine/sandbox/bwrap.js';
import { readGitLayout } from '../../src/engine/sandbox/git-dir.js';
import { detectSandbox } from '../../src/engine/sandbox/index.js';
import { limitsPrelude, resolveShell } from '../../src/engine/sandbox/shell.js';
import { tasksOfUser } from '../../src/engine/sandbox/none.js';
import { WorkspaceManager } from '../../src/workspace/workspace-manager.js';
import { makeTempDir, makeTempRepo } from '../helpers/temp-repo.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Outside /tmp: the sandbox's own /tmp covers everything in the host's, and the plan leaves that out. */
async function tempDir(): Promise<string> {
  const base = (await fs.stat('/var/tmp').then((s) => s.isDirectory(), () => false)) ? '/var/tmp' : undefined;
  const dir = base ? await fs.realpath(await fs.mkdtemp(path.join(base, 'autocoder-plan-'))) : await makeTempDir('autocoder-plan-');
  cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('the mount plan', () => {
  it('hides a folder before showing the working tree inside it, and hides files inside the tree after', async () => {
    const dir = await tempDir();
    const tree = path.join(dir, 'data', 'worktrees', 'run');
    await fs.mkdir(tree, { recursive: true });
    await fs.writeFile(path.join(tree, '.env'), 'SECRET=1\n');
    await fs.mkdir(path.join(tree, '.data'));
    const key = path.join(dir, 'key.pem');
    await fs.writeFile(key, 'key\n');
    const mounts = await planMounts({ cwd: tree, env: {}, writablePaths: [tree] }, [
      path.join(dir, 'data'),
      path.join(tree, '.env'),
      path.join(tree, '.data'),
      key,
      path.join(dir, 'does-not-exist'),
    ]);
    const mine = mounts.filter((m) => m.path.startsWith(dir));
    expect(mine).toEqual([
      { op: 'hide-dir', path: path.join(dir, 'data') },
      { op: 'hide-file', path: key },
      { op: 'rw', path: tree },
      { op: 'hide-file', path: path.join(tree, '.env') },
      { op: 'hide-dir', path: path.join(tree, '.data') },
    ]);
  });

  it('refuses a writable path that is not a folder, or a command folder outside the writable ones', async () => {
    const dir = await tempDir();
    await expect(planMounts({ cwd: dir, env: {}, writablePaths: [path.join(dir, 'nope')] }, [])).rejects.toThrow(/not a folder/);
    await expect(planMounts({ cwd: '/', env: {}, writablePaths: [dir] }, [])).rejects.toThrow(/not among its writable paths/);
    await expect(planMounts({ cwd: '/', env: {}, writablePaths: ['/'] }, [])).rejects.toThrow(/cannot make \/ writable/);
  });

  it('keeps a clone\'s .git read-only', async () => {
    const repo = await makeTempRepo({ 'a.txt': 'a\n' });
    cleanups.push(() => repo.cleanup());
    expect(await readGitLayout(repo.root)).toEqual({ kind: 'directory', gitDir: path.join(repo.root, '.git') });
    const mounts = await planMounts({ cwd: repo.root, env: {}, writablePaths: [repo.root] }, []);
    expect(mounts.filter((m) => m.path.startsWith(repo.root))).toEqual([
      { op: 'rw', path: repo.root },
      { op: 'ro', path: path.join(repo.root, '.git') },
    ]);
  });

  it('gives a linked worktree a private copy of its admin folder, and only when git\'s back-links agree', async () => {
    const source = await makeTempRepo({ 'a.txt': 'a\n' });
    cleanups.push(() => source.cleanup());
    const dataDir = await tempDir();
    const workspace = await new WorkspaceManager({ dataDir }).prepare({ cloneUrl: source.root, branch: 'b', runId: 'r1' });
    cleanups.push(() => workspace.remove());
    const layout = await readGitLayout(workspace.path);
    expect(layout).toEqual({
      kind: 'linked',
      gitFile: path.join(workspace.path, '.git'),
      adminDir: path.join(workspace.cachePath, 'worktrees', 'r1'),
      commonDir: workspace.cachePath,
    });
    const adminDir = path.join(workspace.cachePath, 'worktrees', 'r1');
    const plan = await planSandbox({ cwd: workspace.path, env: {}, writablePaths: [workspace.path] }, [dataDir]);
    expect(plan.mounts.filter((m) => m.path.startsWith(dataDir) || m.source)).toEqual([
      { op: 'hide-dir', path: dataDir },
      { op: 'ro', path: '/tmp/.autocoder/git-admin', source: adminDir },
      { op: 'ro', path: workspace.cachePath },
      { op: 'rw', path: workspace.path },
      { op: 'hide-dir', path: path.join(workspace.cachePath, 'worktrees') },
      { op: 'ro', path: path.join(workspace.path, '.git') },
      { op: 'scratch', path: adminDir },
    ]);
    expect(plan.setup).toEqual([`cp -pR '/tmp/.autocoder/git-admin/.' '${adminDir}/' 2>/dev/null`]);

    // A .git file rewritten to name another folder is not believed: nothing outside the tree becomes writable.
    const elsewhere = await tempDir();
    await fs.writeFile(path.join(workspace.path, '.git'), `gitdir: ${elsewhere}\n`);
    expect(await readGitLayout(workspace.path)).toEqual({ kind: 'none' });
    await fs.mkdir(path.join(elsewhere, 'worktrees', 'x'), { recursive: true });
    await fs.writeFile(path.join(workspace.path, '.git'), `gitdir: ${path.join(elsewhere, 'worktrees', 'x')}\n`);
    await fs.writeFile(path.join(elsewhere, 'worktrees', 'x', 'gitdir'), '/somewhere/else/.git\n');
    await fs.writeFile(path.join(elsewhere, 'worktrees', 'x', 'commondir'), '../..\n');
    expect(await readGitLayout(workspace.path)).toEqual({ kind: 'none' });
    const tampered = await planMounts({ cwd: workspace.path, env: {}, writablePaths: [workspace.path] }, []);
    expect(tampered.filter((m) => m.op !== 'hide-dir').map((m) => m.path)).toEqual([workspace.path]);
    await fs.writeFile(path.join(workspace.path, '.git'), `gitdir: ${layout.kind === 'linked' ? layout.adminDir : ''}\n`);
  });
});

describe('limits and the unsandboxed mode', () => {
  it('lowers limits only, in the shell\'s own units', async () => {
    expect(limitsPrelude({ path: '/bin/bash', bash: true }, { maxProcesses: 10, maxFileBytes: 4096 })).toContain('lim -f 4; lim -u 10');
    expect(limitsPrelude({ path: '/bin/sh', bash: false }, { maxFileBytes: 4096 })).toContain('lim -f 8');
    expect(resolveShell('/nonexistent').path).toBe('/bin/sh');
  });

  it('counts what the user already runs, so a limit without bwrap is on top of it', async () => {
    const uid = process.getuid?.() ?? 0;
    // This process alone has several threads (libuv, V8).
    expect(await tasksOfUser(uid)).toBeGreaterThan(3);
  });

  it('prefer none: a sandbox that says what it does not do', async () => {
    const none = await detectSandbox({ prefer: 'none' });
    expect(none.kind).toBe('none');
    expect(none.describe()).toMatch(/^none \(turned off\)/);
    const wrapped = await none.wrap('echo hi', { cwd: '/', env: { PATH: '/usr/bin:/bin' }, writablePaths: ['/'] });
    expect(wrapped.args.slice(-2)).toEqual(['-c', 'echo hi']);
    expect(wrapped.env).toEqual({ PATH: '/usr/bin:/bin' });
  });
});
