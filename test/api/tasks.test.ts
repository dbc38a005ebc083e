import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '../e2e/app-process.js';
import { turnOf, useHarness } from './harness.js';
import { MATH_FILES, scriptedModel } from './models.js';

const stage = useHarness({ model: scriptedModel }, MATH_FILES);

describe('a task on a local repository', () => {
  it('is queued, runs, and shows its summary, files, usage and diff', async () => {
    const created = await stage.h.submit({ repo: stage.repo.root, prompt: 'Fix add()\nIt subtracts.', model: 'fix' });
    expect(created).toEqual({ id: expect.stringMatching(/^api_/), state: 'queued', url: `/api/tasks/${created.id}`, eventsUrl: `/api/tasks/${created.id}/events` });

    const view = await stage.h.waitForState(created.id, ['finished']);
    expect(view).toMatchObject({
      id: created.id,
      source: 'api',
      state: 'finished',
      endReason: 'completed',
      repo: stage.repo.root,
      issueNumber: null,
      title: 'Fix add()',
      model: 'fix',
      summary: 'Fixed add(): it subtracted.',
      changedFiles: [{ path: 'src/math.js', change: 'modified' }],
      error: null,
      queuePosition: null,
      pushed: null,
      pullRequestUrl: null,
    });
    expect(view.usage!.totalTokens).toBeGreaterThan(0);
    expect(view.usage!.completionTokens).toBeGreaterThan(0);
    expect(view.durationMs).toBeGreaterThanOrEqual(0);
    expect(view.sessionId).toMatch(/^ses_/);
    expect(Date.parse(view.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(view.startedAt!));

    const diff = await stage.h.api(`/api/tasks/${created.id}/diff`);
    expect(diff.status).toBe(200);
    expect(diff.headers.get('content-type')).toMatch(/^text\/x-diff/);
    const patch = await diff.text();
    expect(patch).toContain('--- a/src/math.js');
    expect(patch).toContain('-  return a - b;');
    expect(patch).toContain('+  return a + b;');

    // Without pushBranch the repository is left as it was, and the worktree is gone.
    expect(await readFile(join(stage.repo.root, 'src/math.js'), 'utf8')).toContain('a - b');
    expect(await stage.repo.git('branch', '--list')).not.toContain('autocoder');
    // The tree is cleaned up (parked for the next run, or deleted) right after the task ends.
    const treeFile = join(stage.h.core.workspaces.worktreePath(created.id), 'src/math.js');
    await waitFor(async () => (await readFile(treeFile).then(() => false, () => true)) || undefined, 'the worktree to go');

    // Listed, and filtered.
    const { tasks } = await stage.h.json(`/api/tasks?source=api&state=finished&repo=${encodeURIComponent(stage.repo.root)}`);
    expect(tasks.map((t: { id: string }) => t.id)).toContain(created.id);
    expect((await stage.h.json('/api/tasks?source=github')).tasks).toEqual([]);
  });

  it('with pushBranch: commits as autocoder and pushes to that branch of the repository', async () => {
    const created = await stage.h.submit({ repo: stage.repo.root, prompt: 'Fix add()', model: 'fix', pushBranch: 'autocoder/fix-add' });
    const view = await stage.h.waitForState(created.id, ['finished']);
    expect(view.endReason).toBe('completed');
    const sha = (await stage.repo.git('rev-parse', 'refs/heads/autocoder/fix-add')).trim();
    expect(view.pushed).toEqual({ branch: 'autocoder/fix-add', sha });
    expect(await stage.repo.git('show', 'autocoder/fix-add:src/math.js')).toContain('a + b');
    expect((await stage.repo.git('log', '-1', '--format=%an <%ae>%n%s', 'autocoder/fix-add')).trim()).toBe('autocoder <autocoder@localhost>\nFix add()');
    expect((await stage.repo.git('rev-parse', 'autocoder/fix-add~1')).trim()).toBe((await stage.repo.git('rev-parse', 'main')).trim());
    // The checked-out branch of the repository is untouched.
    expect(await readFile(join(stage.repo.root, 'src/math.js'), 'utf8')).toContain('a - b');
  });

  it('tasks pushing to one branch run one after another, each continuing the last', async () => {
    const [a, b] = await Promise.all(['first', 'second'].map((prompt) => stage.h.submit({ repo: stage.repo.root, prompt, model: 'note', pushBranch: 'notes' })));
    expect((await stage.h.waitForState(a.id, ['finished'])).endReason).toBe('completed');
    expect((await stage.h.waitForState(b.id, ['finished'])).endReason).toBe('completed');
    // Two commits in a line (submitted at once, either may go first).
    expect((await stage.repo.git('log', '--format=%s', 'main..notes')).trim().split('\n').sort()).toEqual(['first', 'second']);
    expect((await stage.repo.git('ls-tree', '-r', '--name-only', 'notes', 'notes/')).trim().split('\n')).toEqual(['notes/first.txt', 'notes/second.txt']);
  });

  it('with session: the next task continues the conversation', async () => {
    const first = await stage.h.submit({ repo: stage.repo.root, prompt: 'Fix add()', model: 'fix', session: 'conv-1' });
    await stage.h.waitForState(first.id, ['finished']);
    const before = stage.h.llm.requests.length;
    const second = await stage.h.submit({ repo: stage.repo.root, prompt: 'Anything else?', model: 'quick', session: 'conv-1' });
    const view = await stage.h.waitForState(second.id, ['finished']);
    expect(view.sessionId).toBe('conv-1');
    const request = stage.h.llm.requests.slice(before).find((r) => turnOf(r).prompt === 'Anything else?')!;
    const contents = (request.body.messages as { content: string | null }[]).map((m) => m.content);
    expect(contents).toContain('Fix add()');
    expect(contents).toContain('Anything else?');
  });

  it('starts from the given branch', async () => {
    await stage.repo.git('checkout', '-q', '-b', 'feature');
    await stage.repo.git('commit', '-q', '--allow-empty', '-m', 'on feature');
    await stage.repo.git('checkout', '-q', 'main');
    const created = await stage.h.submit({ repo: stage.repo.root, prompt: 'Fix add()', model: 'fix', branch: 'feature', pushBranch: 'from-feature' });
    expect((await stage.h.waitForState(created.id, ['finished'])).endReason).toBe('completed');
    expect((await stage.repo.git('log', '-1', '--format=%s', 'from-feature~1')).trim()).toBe('on feature');
  });

  it('a branch that does not exist: the task fails and says why', async () => {
    const created = await stage.h.submit({ repo: stage.repo.root, prompt: 'Fix add()', model: 'fix', branch: 'no-such-branch' });
    const view = await stage.h.waitForState(created.id, ['finished']);
    expect(view.endReason).toBe('failed');
    expect(view.error).toContain('no-such-branch');
  });
});
