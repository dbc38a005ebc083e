import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEventSchema, type RunEvent } from '../../src/engine/events.js';
import type { RecordedRequest, ScriptStep } from '../helpers/scripted-llm-server.js';
import { makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';
import { readSse, startHarness, turnOf, type Harness } from './harness.js';

const edit = (to: string): ScriptStep => ({ toolCalls: [{ name: 'edit_file', arguments: { path: 'src/math.js', old_string: 'return a - b;', new_string: to } }] });
const finish = (summary: string): ScriptStep => ({ toolCalls: [{ name: 'finish', arguments: { summary } }] });

/** By model: `wrong` breaks the test differently, `right` fixes it, `wide` fixes it and writes more. */
const PLANS: Record<string, ScriptStep[]> = {
  wrong: [edit('return a * b;'), finish('wrong: multiplied')],
  right: [edit('return a + b;'), finish('right: fixed add()')],
  wide: [
    { toolCalls: [{ name: 'write_file', arguments: { path: 'NOTES.md', content: 'add() adds now\n' } }] },
    edit('return a + b;'),
    finish('wide: fixed add() and wrote notes'),
  ],
};

function model(request: RecordedRequest): ScriptStep {
  if (request.body.model === 'hang') return { hang: true };
  const steps = PLANS[request.body.model as string] ?? [finish('unknown model')];
  return steps[Math.min(turnOf(request).turn, steps.length - 1)];
}

let h: Harness;
let repo: TempRepo;

beforeAll(async () => {
  h = await startHarness({ model });
  repo = await makeTempRepo({
    'src/math.js': 'export function add(a, b) {\n  return a - b;\n}\n',
    'test.js': "import { add } from './src/math.js';\nif (add(2, 3) !== 5) process.exit(1);\n",
    'package.json': '{ "type": "module" }\n',
  });
});
afterAll(async () => {
  await h.close();
  await repo.cleanup();
});

describe('a task with attempts', () => {
  it('shows every attempt in GET /api/tasks/:id, pushes the chosen one alone, and tags its events with the attempt', async () => {
    const created = await h.submit({
      repo: repo.root,
      prompt: 'Fix add()',
      attempts: 3,
      models: ['wrong', 'right', 'wide'],
      testCommand: 'node test.js',
      pushBranch: 'autocoder/best-of-3',
    });
    const view = await h.waitForState(created.id, ['finished']);
    expect(view).toMatchObject({
      endReason: 'completed',
      summary: 'right: fixed add()',
      model: 'right',
      changedFiles: [{ path: 'src/math.js', change: 'modified' }],
      chosenAttempt: 2,
      error: null,
    });
    expect(view.attempts!.map((o) => [o.attempt, o.model, o.reason, o.testExitCode, o.filesChanged, o.linesAdded, o.linesRemoved])).toEqual([
      [1, 'wrong', 'completed', 1, 1, 1, 1],
      [2, 'right', 'completed', 0, 1, 1, 1],
      [3, 'wide', 'completed', 0, 2, 2, 1],
    ]);
    expect(view.attempts!.every((o) => o.usage.totalTokens > 0)).toBe(true);
    expect(view.usage!.totalTokens).toBe(view.attempts!.reduce((n, o) => n + o.usage.totalTokens, 0));

    // The pushed commit holds the chosen change and nothing of the others.
    expect(view.pushed?.branch).toBe('autocoder/best-of-3');
    expect(await repo.git('show', 'autocoder/best-of-3:src/math.js')).toContain('return a + b;');
    expect((await repo.git('diff', '--name-only', 'main', 'autocoder/best-of-3')).trim()).toBe('src/math.js');
    // The attempts' private branches were never pushed, and their worktrees are gone.
    expect((await repo.git('branch', '--list')).trim().split('\n').map((b) => b.replace(/^[* ]+/, '')).sort()).toEqual(['autocoder/best-of-3', 'main']);
    expect((await readdir(join(h.dataDir, 'worktrees'))).filter((name) => name.includes('-attempt-'))).toEqual([]);
    expect(existsSync(join(repo.root, 'NOTES.md'))).toBe(false);
    expect(await readFile(join(repo.root, 'src/math.js'), 'utf8')).toContain('a - b');

    // The events, replayed: one seq order, each attempt's own run tagged with its number.
    const { messages } = await readSse(await h.api(`/api/tasks/${created.id}/events`));
    const events: RunEvent[] = messages.filter((m) => m.data).map((m) => runEventSchema.parse(JSON.parse(m.data!)));
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    const started = events.filter((e) => e.type === 'started').map((e) => [e.attempt, e.type === 'started' && e.model]);
    expect(started.sort()).toEqual([[1, 'wrong'], [2, 'right'], [3, 'wide']]);
    expect(events.filter((e) => e.type === 'tool_call').every((e) => e.attempt !== undefined)).toBe(true);
    expect(events.filter((e) => e.type === 'command').map((e) => [e.attempt, e.type === 'command' && e.exitCode]).sort()).toEqual([[1, 1], [2, 0], [3, 0]]);
    // The task's own phases carry no attempt; the comparison comes once every attempt has ended.
    expect(events.filter((e) => e.type === 'phase' && e.phase !== 'testing').every((e) => e.attempt === undefined)).toBe(true);
    const comparison = events.findIndex((e) => e.type === 'attempts');
    expect(events[comparison]).toMatchObject({ chosen: 2, outcomes: view.attempts });
    expect(events.slice(0, comparison).filter((e) => e.type === 'finished')).toHaveLength(3);
    expect(events.slice(comparison).find((e) => e.type === 'phase')).toMatchObject({ phase: 'publishing' });
  });

  it('without pushBranch: the diff is the chosen attempt\'s, and a task of one attempt has no attempts', async () => {
    const best = await h.submit({ repo: repo.root, prompt: 'Fix add()', models: ['wide', 'wrong', 'right'], testCommand: 'node test.js' });
    const view = await h.waitForState(best.id, ['finished']);
    expect(view.chosenAttempt).toBe(3);
    expect(view.attempts).toHaveLength(3);
    const diff = await (await h.api(`/api/tasks/${best.id}/diff`)).text();
    expect(diff).toContain('+  return a + b;');
    expect(diff).not.toContain('NOTES.md');

    const single = await h.submit({ repo: repo.root, prompt: 'Fix add()', model: 'right' });
    const one = await h.waitForState(single.id, ['finished']);
    expect(one).toMatchObject({ endReason: 'completed', attempts: null, chosenAttempt: null, model: 'right' });
    const events = h.core.store.events(single.id) as RunEvent[];
    expect(events.some((e) => e.attempt !== undefined || e.type === 'attempts')).toBe(false);
  });

  it('cancelled while its attempts run: every attempt stops, nothing is pushed, the attempts\' worktrees go', async () => {
    const before = h.llm.requests.length;
    const created = await h.submit({ repo: repo.root, prompt: 'wait', attempts: 2, model: 'hang', pushBranch: 'autocoder/never' });
    while (h.llm.requests.length < before + 2) await new Promise((r) => setTimeout(r, 10));
    expect((await h.api(`/api/tasks/${created.id}/cancel`, { method: 'POST' })).status).toBe(202);
    const view = await h.waitForState(created.id, ['finished']);
    expect(view).toMatchObject({ endReason: 'cancelled', pushed: null, chosenAttempt: null, changedFiles: [] });
    expect(view.attempts!.map((o) => o.reason)).toEqual(['cancelled', 'cancelled']);
    expect(await repo.git('branch', '--list', 'autocoder/never')).toBe('');
    expect((await readdir(join(h.dataDir, 'worktrees'))).filter((name) => name.startsWith(`${created.id}-attempt-`))).toEqual([]);
  });

  it('rejects attempts outside 1-5, and an empty test command, with a 400 naming the field', async () => {
    for (const [body, field] of [
      [{ attempts: 9 }, 'attempts'],
      [{ attempts: 0 }, 'attempts'],
      [{ models: [] }, 'models'],
      [{ testCommand: ' ' }, 'testCommand'],
    ] as const) {
      const res = await h.api('/api/tasks', { method: 'POST', body: JSON.stringify({ repo: repo.root, prompt: 'x', ...body }) });
      expect(res.status).toBe(400);
      const { error } = await res.json();
      expect(error.code).toBe('invalid_request');
      expect(error.message).toContain(field);
    }
  });
});
