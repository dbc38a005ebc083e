import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AutocoderError } from '../../src/engine/errors.js';
import { git } from '../../src/workspace/git.js';
import { MIRROR_REFSPEC, mirrorKey } from '../../src/workspace/mirror-cache.js';
import { createGitChangeTracker } from '../../src/workspace/snapshot.js';
import { WorkspaceManager } from '../../src/workspace/workspace-manager.js';
import { startGitServer, type GitServer } from '../helpers/git-http-server.js';
import { makeTempDir } from '../helpers/temp-repo.js';

const TOKEN = 'ghs_test-token-7f3a9c';
const TOKEN_B64 = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
const AUTHOR = { authorName: 'autocoder[bot]', authorEmail: 'autocoder@example.com' };

let server: GitServer;
let dataDir: string;
let manager: WorkspaceManager;
let repoCount = 0;

beforeAll(async () => {
  server = await startGitServer({ token: TOKEN });
  dataDir = await makeTempDir('autocoder-data-');
  manager = new WorkspaceManager({ dataDir });
});
afterAll(async () => {
  await server?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** A fresh served repository per test, so tests do not see each other's branches. */
async function newRepo(files: Record<string, string> = { 'README.md': '# demo\n', 'src/app.txt': 'line 1\nline 2\n' }) {
  const name = `repo-${++repoCount}`;
  await server.createRepo(name, files);
  return { name, cloneUrl: server.cloneUrl(name) };
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'objects') out.push(...(await filesUnder(full)));
    } else out.push(full);
  }
  return out;
}

const wtGit = async (cwd: string, ...args: string[]) => (await git(args, { cwd })).stdout.trim();

describe('mirrorKey', () => {
  it('is readable, safe and distinct per repository', () => {
    const key = mirrorKey('https://x-access-token:abc@github.com/octo/hello.git');
    expect(key).toMatch(/^github\.com_octo_hello-[0-9a-f]{12}$/);
    expect(key).not.toContain('abc');
    expect(mirrorKey('https://github.com/octo/hello.git')).toBe(key);
    expect(mirrorKey('https://github.com/octo/hello2.git')).not.toBe(key);
    expect(mirrorKey('https://evil.example/../../etc/passwd')).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(mirrorKey('https://evil.example/../../etc/passwd')).not.toContain('..');
    expect(mirrorKey('https://host/a_b.git')).not.toBe(mirrorKey('https://host/a/b.git'));
  });
});

describe('WorkspaceManager', () => {
  it('creates a bare mirror cache with the remote-tracking refspec and no token anywhere in config', async () => {
    const { name, cloneUrl } = await newRepo();
    const ws = await manager.prepare({ cloneUrl, token: TOKEN, branch: 'autocoder/issue-1', runId: 'run-cache' });
    const cache = manager.mirrors.pathFor(cloneUrl);
    expect(cache).toBe(join(dataDir, 'mirrors', `${mirrorKey(cloneUrl)}.git`));
    expect(ws.cachePath).toBe(cache);
    expect(await wtGit(cache, 'config', '--get', 'core.bare')).toBe('true');
    expect(await wtGit(cache, 'config', '--get-all', 'remote.origin.fetch')).toBe(MIRROR_REFSPEC);
    expect(await wtGit(cache, 'config', '--get', 'remote.origin.url')).toBe(cloneUrl);
    expect(await wtGit(cache, 'symbolic-ref', 'refs/remotes/origin/HEAD')).toBe('refs/remotes/origin/main');

    expect(ws.path).toBe(join(dataDir, 'worktrees', 'run-cache'));
    expect(ws.branch).toBe('autocoder/issue-1');
    expect(ws.baseBranch).toBe('main');
    expect(ws.startedFrom).toBe('base');
    expect(ws.baseSha).toBe((await server.git(name, ['rev-parse', 'main'])).trim());
    expect(await readFile(join(ws.path, 'src/app.txt'), 'utf8')).toBe('line 1\nline 2\n');
    expect(await wtGit(ws.path, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('autocoder/issue-1');

    // Every request carried the token, and the token was written nowhere.
    expect(server.requests.filter((r) => r.url.includes(name)).every((r) => r.user === 'x-access-token')).toBe(true);
    const configFiles = [...(await filesUnder(cache)), join(ws.path, '.git')];
    expect(configFiles.some((f) => f.endsWith('/config'))).toBe(true);
    for (const file of configFiles) {
      const text = await readFile(file, 'latin1');
      expect(text, file).not.toContain(TOKEN);
      expect(text, file).not.toContain(TOKEN_B64);
    }
    await ws.remove();
  });

  it('fails with a clear git_failed error and no token when the token is wrong, leaving no cache', async () => {
    const { cloneUrl } = await newRepo();
    const wrong = 'ghs_wrong-token-55aa';
    const error = await manager.prepare({ cloneUrl, token: wrong, branch: 'b', runId: 'run-wrong' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AutocoderError);
    expect((error as AutocoderError).code).toBe('git_failed');
    const message = (error as Error).message;
    expect(message).toContain('git');
    expect(message).toContain('authentication failed');
    expect(message).toContain('git fetch');
    expect(message).not.toContain(wrong);
    expect(message).not.toContain(Buffer.from(`x-access-token:${wrong}`).toString('base64'));
    await expect(stat(manager.mirrors.pathFor(cloneUrl))).rejects.toThrow();
    const leftovers = (await readdir(join(dataDir, 'mirrors'))).filter((f) => f.startsWith(mirrorKey(cloneUrl)));
    expect(leftovers).toEqual([]);
  });

  it('prepares two workspaces of one repository at once on distinct branches', async () => {
    const { name, cloneUrl } = await newRepo();
    const [a, b] = await Promise.all([
      manager.prepare({ cloneUrl, token: TOKEN, branch: 'autocoder/issue-2', runId: 'run-par-a' }),
      manager.prepare({ cloneUrl, token: TOKEN, branch: 'autocoder/issue-3', runId: 'run-par-b' }),
    ]);
    expect(a.path).not.toBe(b.path);
    expect(a.cachePath).toBe(b.cachePath);
    expect(await wtGit(a.path, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('autocoder/issue-2');
    expect(await wtGit(b.path, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('autocoder/issue-3');
    await writeFile(join(a.path, 'a.txt'), 'from a\n');
    await writeFile(join(b.path, 'b.txt'), 'from b\n');
    const [shaA, shaB] = await Promise.all([
      a.commitAll({ message: 'a', ...AUTHOR }),
      b.commitAll({ message: 'b', ...AUTHOR }),
    ]);
    const [pushA, pushB] = await Promise.all([a.push({ token: TOKEN }), b.push({ token: TOKEN })]);
    expect(pushA).toEqual({ ok: true, sha: shaA });
    expect(pushB).toEqual({ ok: true, sha: shaB });
    expect((await server.git(name, ['rev-parse', 'autocoder/issue-2'])).trim()).toBe(shaA);
    expect((await server.git(name, ['rev-parse', 'autocoder/issue-3'])).trim()).toBe(shaB);
    await Promise.all([a.remove(), b.remove()]);
  });

  it('refuses a branch that another live workspace has checked out', async () => {
    const { cloneUrl } = await newRepo();
    const first = await manager.prepare({ cloneUrl, token: TOKEN, branch: 'same', runId: 'run-same-1' });
    const error = await manager.prepare({ cloneUrl, token: TOKEN, branch: 'same', runId: 'run-same-2' }).catch((e) => e);
    expect(error).toBeInstanceOf(AutocoderError);
    expect(error.message).toMatch(/already (checked out|used by worktree)/);
    await first.remove();
  });

  it('commits with Co-authored-by trailers and pushes the branch', async () => {
    const { name, cloneUrl } = await newRepo();
    const ws = await manager.prepare({ cloneUrl, token: TOKEN, branch: 'autocoder/issue-4', runId: 'run-push' });
    expect(await ws.commitAll({ message: 'nothing', ...AUTHOR })).toBeUndefined();
    const tracker = createGitChangeTracker(ws.path);
    const before = await tracker.snapshot();
    await writeFile(join(ws.path, 'src/app.txt'), 'line 1\nline 2 changed\n');
    await writeFile(join(ws.path, 'NEW.md'), 'new\n');
    expect((await tracker.changes(before!)).files).toEqual([
      { path: 'NEW.md', change: 'added' },
      { path: 'src/app.txt', change: 'modified' },
    ]);
    const sha = await ws.commitAll({
      message: 'Fix the thing\n\n#4 explains why',
      ...AUTHOR,
      coAuthors: [{ name: 'Octo Cat', email: 'octo@example.com' }, { name: 'Dup', email: 'autocoder@example.com' }],
    });
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    const result = await ws.push({ token: TOKEN });
    expect(result).toEqual({ ok: true, sha });

    expect((await server.git(name, ['rev-parse', 'refs/heads/autocoder/issue-4'])).trim()).toBe(sha);
    const body = await server.git(name, ['log', '-1', '--format=%B', 'autocoder/issue-4']);
    expect(body).toContain('#4 explains why');
    expect(body).toContain('Co-authored-by: Octo Cat <octo@example.com>');
    expect(body).not.toContain('Co-authored-by: Dup');
    expect((await server.git(name, ['log', '-1', '--format=%an <%ae>|%cn', 'autocoder/issue-4'])).trim()).toBe(
      'autocoder[bot] <autocoder@example.com>|autocoder[bot]',
    );
    expect(await server.git(name, ['show', 'autocoder/issue-4:NEW.md'])).toBe('new\n');
    // Identity was given on the command line only.
    expect(await git(['config', '--get', 'user.name'], { cwd: ws.cachePath, okExitCodes: [1], env: { HOME: dataDir } }).then((r) => r.stdout)).toBe('');
    await ws.remove();
  });

  it('reports a rejected push when someone else pushed, then rebases and pushes without force', async () => {
    const { name, cloneUrl } = await newRepo();
    const ws = await manager.prepare({ cloneUrl, token: TOKEN, branch: 'autocoder/issue-5', runId: 'run-reject' });
    await writeFile(join(ws.path, 'ours.txt'), 'ours\n');
    const first = await ws.commitAll({ message: 'ours 1', ...AUTHOR });
    expect(await ws.push({ token: TOKEN })).toEqual({ ok: true, sha: first });

    const theirs = await server.commitFiles(name, { 'theirs.txt': 'theirs\n' }, { branch: 'autocoder/issue-5', message: 'someone else' });
    await writeFile(join(ws.path, 'ours.txt'), 'ours, second\n');
    await ws.commitAll({ message: 'ours 2', ...AUTHOR });

    const rejected = await ws.push({ token: TOKEN });
    expect(rejected).toMatchObject({ ok: false, rejected: true });
    expect(rejected.ok === false && rejected.message).toMatch(/rejected/);
    expect((await server.git(name, ['rev-parse', 'autocoder/issue-5'])).trim()).toBe(theirs);

    const rebased = await ws.rebaseOnRemote({ token: TOKEN });
    expect(rebased.ok).toBe(true);
    const pushed = await ws.push({ token: TOKEN });
    expect(pushed.ok).toBe(true);
    const head = (await server.git(name, ['rev-parse', 'autocoder/issue-5'])).trim();
    expect(pushed.ok && pushed.sha).toBe(head);
    // Their commit is kept underneath ours.
    await server.git(name, ['merge-base', '--is-ancestor', theirs, head]);
    expect(await server.git(name, ['show', `${head}:theirs.txt`])).toBe('theirs\n');
    expect(await server.git(name, ['show', `${head}:ours.txt`])).toBe('ours, second\n');
    expect(await server.git(name, ['log', '--format=%s', head])).toBe('ours 2\nsomeone else\nours 1\ninitial commit\n');
    await ws.remove();
  });

  it('reports a rebase conflict clearly and leaves the workspace as it was', async () => {
    const { name, cloneUrl } = await newRepo();
    const ws = await manager.prepare({ cloneUrl, token: TOKEN, branch: 'autocoder/issue-6', runId: 'run-conflict' });
    await writeFile(join(ws.path, 'src/app.txt'), 'line 1\nours\n');
    await ws.commitAll({ message: 'ours', ...AUTHOR });
    await server.commitFiles(name, { 'src/app.txt': 'line 1\ntheirs\n' }, { branch: 'autocoder/issue-6', from: 'main' });
    expect(await ws.push({ token: TOKEN })).toMatchObject({ ok: false, rejected: true });
    const before = await ws.headSha();
    const result = await ws.rebaseOnRemote({ token: TOKEN });
    expect(result).toMatchObject({ ok: false, conflict: true, files: ['src/app.txt'] });
    expect(result.ok === false && result.message).toContain('src/app.txt');
    expect(await ws.headSha()).toBe(before);
    expect(await wtGit(ws.path, 'status', '--porcelain')).toBe('');
    await ws.remove();
  });

  it('reports a push the remote refuses for another reason as not retryable by rebasing', async () => {
    const { name, cloneUrl } = await newRepo();
    const hook = join(server.root, `${name}.git`, 'hooks', 'pre-receive');
    await writeFile(hook, '#!/bin/sh\necho "protected branch" >&2\nexit 1\n');
    await chmod(hook, 0o755);
    const ws = await manager.prepare({ cloneUrl, token: TOKEN, branch: 'protected', runId: 'run-hook' });
    await writeFile(join(ws.path, 'x.txt'), 'x\n');
    await ws.commitAll({ message: 'x', ...AUTHOR });
    const result = await ws.push({ token: TOKEN });
    expect(result).toMatchObject({ ok: false, rejected: false });
    expect(result.ok === false && result.message).toMatch(/pre-receive hook declined/);
    await ws.remove();
  });

  it('builds a revision on the commits of an existing branch', async () => {
    const { name, cloneUrl } = await newRepo();
    const prHead = await server.commitFiles(name, { 'pr.txt': 'pr work\n' }, { branch: 'autocoder/issue-7', message: 'earlier run' });
    const ws = await manager.prepare({ cloneUrl, token: TOKEN, branch: 'autocoder/issue-7', fromExistingBranch: true, runId: 'run-rev' });
    expect(ws.baseSha).toBe(prHead);
    expect(ws.startedFrom).toBe('branch');
    expect(ws.baseBranch).toBe('main');
    expect(await readFile(join(ws.path, 'pr.txt'), 'utf8')).toBe('pr work\n');
    await writeFile(join(ws.path, 'pr.txt'), 'pr work, revised\n');
    const sha = await ws.commitAll({ message: 'revision', ...AUTHOR });
    expect(await ws.push({ token: TOKEN })).toEqual({ ok: true, sha });
    expect((await server.git(name, ['rev-parse', `${sha}^`])).trim()).toBe(prHead);
    await ws.remove();

    // Without the remote branch, a revision request starts from the base branch.
    const fresh = await manager.prepare({ cloneUrl, token: TOKEN, branch: 'autocoder/issue-8', fromExistingBranch: true, runId: 'run-rev2' });
    expect(fresh.startedFrom).toBe('base');
    expect(fresh.baseSha).toBe((await server.git(name, ['rev-parse', 'main'])).trim());
    await fresh.remove();
  });

  it('fetches new commits for each prepare and prunes remote branches, never worktree branches', async () => {
    const { name, cloneUrl } = await newRepo();
    const one = await manager.prepare({ cloneUrl, token: TOKEN, branch: 'f1', runId: 'run-fetch-1' });
    const doomed = await server.commitFiles(name, { 'd.txt': 'd\n' }, { branch: 'doomed' });
    await manager.prepare({ cloneUrl, token: TOKEN, branch: 'f0', runId: 'run-fetch-0' }).then((w) => w.remove());
    expect(await wtGit(one.cachePath, 'rev-parse', 'refs/remotes/origin/doomed')).toBe(doomed);
    await server.git(name, ['update-ref', '-d', 'refs/heads/doomed']);
    const newer = await server.commitFiles(name, { 'later.txt': 'later\n' }, { branch: 'main' });
    const two = await manager.prepare({ cloneUrl, token: TOKEN, branch: 'f2', baseBranch: 'main', runId: 'run-fetch-2' });
    expect(two.baseSha).toBe(newer);
    expect(one.baseSha).not.toBe(newer);
    // --prune removed the deleted remote branch but not the branch of the live worktree.
    expect(await wtGit(one.cachePath, 'for-each-ref', '--format=%(refname)', 'refs/remotes/origin/doomed')).toBe('');
    expect(await wtGit(one.cachePath, 'rev-parse', 'refs/heads/f1')).toBe(one.baseSha);
    await Promise.all([one.remove(), two.remove()]);
  });

  it('remove() deletes the worktree, its registration and the local branch, and may be called twice', async () => {
    const { cloneUrl } = await newRepo();
    const ws = await manager.prepare({ cloneUrl, token: TOKEN, branch: 'autocoder/issue-9', runId: 'run-remove' });
    await writeFile(join(ws.path, 'untracked.txt'), 'left over\n');
    await ws.remove();
    await ws.remove();
    await expect(stat(ws.path)).rejects.toThrow();
    expect(await wtGit(ws.cachePath, 'worktree', 'list', '--porcelain')).not.toContain(ws.path);
    expect(await wtGit(ws.cachePath, 'branch', '--list', 'autocoder/issue-9')).toBe('');
    // The same run id and branch can be prepared again.
    const again = await manager.prepare({ cloneUrl, token: TOKEN, branch: 'autocoder/issue-9', runId: 'run-remove' });
    await again.remove();
  });

  it('replaces a worktree left behind by an earlier attempt of the same run', async () => {
    const { cloneUrl } = await newRepo();
    const crashed = await manager.prepare({ cloneUrl, token: TOKEN, branch: 'autocoder/issue-10', runId: 'run-crash' });
    await writeFile(join(crashed.path, 'half-done.txt'), 'x\n');
    const again = await manager.prepare({ cloneUrl, token: TOKEN, branch: 'autocoder/issue-10', runId: 'run-crash' });
    await expect(stat(join(again.path, 'half-done.txt'))).rejects.toThrow();
    await again.remove();
  });

  it('rejects run ids and branch names that are not safe', async () => {
    const { cloneUrl } = await newRepo();
    await expect(manager.prepare({ cloneUrl, token: TOKEN, branch: 'ok', runId: '../escape' })).rejects.toThrow(/run id/);
    await expect(manager.prepare({ cloneUrl, token: TOKEN, branch: 'bad..name', runId: 'r1' })).rejects.toThrow(/branch name/);
    await expect(manager.prepare({ cloneUrl, token: TOKEN, branch: '-f', runId: 'r2' })).rejects.toThrow(/branch name/);
  });
});
