import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runEventSchema, type RunEvent } from '../../src/engine/events.js';
import { runNodeChild, type ChildOutcome } from '../helpers/child.js';
import { startScriptedLlm, type RecordedRequest, type Script, type ScriptStep } from '../helpers/scripted-llm-server.js';
import { makeTempDir } from '../helpers/temp-repo.js';
import { buggyRepo } from './buggy-repo.js';

const BIN = resolve('bin/autocoder.js');
const KEY = 'sk-cli-attempts-secret-0123456789abcdef';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function cli(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<ChildOutcome> {
  return runNodeChild([BIN, ...args], { ...options, input: '' });
}

/** The model's turn since the last user message: each attempt has its own conversation. */
function turnOf(request: RecordedRequest): number {
  const messages = request.body.messages as { role: string }[];
  let last = messages.length - 1;
  while (last >= 0 && messages[last].role !== 'user') last--;
  return messages.slice(last).filter((m) => m.role === 'assistant').length;
}

/** Answers by model name, so that each attempt (one model each) does something different. */
function byModel(plans: Record<string, ScriptStep[]>): Script {
  return (request) => {
    const steps = plans[request.body.model as string];
    if (!steps) return { status: 404, body: { error: { message: `no model ${request.body.model}`, type: 'invalid_request_error', code: 'model_not_found' } } };
    return steps[Math.min(turnOf(request), steps.length - 1)];
  };
}

const edit = (to: string) => ({ name: 'edit_file', arguments: { path: 'src/math.js', old_string: 'return a - b;', new_string: to } });
const finish = (summary: string) => ({ name: 'finish', arguments: { summary } });

/** Three models: only b's change makes `node test.js` pass; c also writes a file of its own. */
const PLANS: Record<string, ScriptStep[]> = {
  a: [{ toolCalls: [edit('return a * b;')] }, { toolCalls: [finish('a: multiplied')] }],
  b: [{ toolCalls: [edit('return a + b;')] }, { toolCalls: [finish('b: add() adds now')] }],
  c: [
    { toolCalls: [{ name: 'write_file', arguments: { path: 'notes.txt', content: 'attempt c was here\n' } }] },
    { toolCalls: [edit('return b - a;')] },
    { toolCalls: [finish('c: swapped the operands')] },
  ],
};

async function setup(script: Script) {
  const llm = await startScriptedLlm(script);
  const dataDir = await makeTempDir('autocoder-data-');
  cleanups.push(() => llm.close());
  return { llm, dataDir, env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: llm.baseURL, AUTOCODER_MODEL: 'a', AUTOCODER_DATA_DIR: dataDir } };
}

const ARGS = ['run', '--attempts', '3', '--models', 'a,b,c', '--test-command', 'node test.js'];

describe('autocoder run --attempts', () => {
  it('runs three attempts at once, keeps only the one whose tests pass, and prints the comparison', async () => {
    const repo = await buggyRepo(cleanups);
    const { llm, dataDir, env } = await setup(byModel(PLANS));
    const out = await cli([...ARGS, 'add() subtracts; fix it'], { cwd: repo.root, env });

    expect(out.code, out.stderr).toBe(0);
    // b's change is in the working tree; a's and c's (its new file included) are not.
    expect(await readFile(join(repo.root, 'src/math.js'), 'utf8')).toBe('export function add(a, b) {\n  return a + b;\n}\n');
    expect(existsSync(join(repo.root, 'notes.txt'))).toBe(false);
    expect(await repo.git('status', '--porcelain')).toBe(' M src/math.js\n');
    // One model per attempt, each asked.
    expect(new Set(llm.requests.map((r) => r.body.model))).toEqual(new Set(['a', 'b', 'c']));

    const lines = out.stdout.split('\n');
    const header = lines.findIndex((line) => line.startsWith('attempt'));
    expect(header).toBeGreaterThanOrEqual(0);
    expect(lines[header]).toMatch(/^attempt\s+model\s+end\s+tests\s+files\s+lines\s+tokens\s+time$/);
    expect(lines[header + 1]).toMatch(/^1\s+a\s+completed\s+failed \(exit 1\)\s+1\s+\+1 -1\s+[\d,]+\s+\S+$/);
    expect(lines[header + 2]).toMatch(/^2 ✓\s+b\s+completed\s+passed\s+1\s+\+1 -1\s/);
    expect(lines[header + 3]).toMatch(/^3\s+c\s+completed\s+failed \(exit 1\)\s+2\s+\+2 -1\s/);
    expect(out.stdout).toContain('Chosen: attempt 2 (b)');
    // The summary is the chosen attempt's, last.
    expect(lines.filter(Boolean).at(-1)).toBe('b: add() adds now');
    // Progress lines say which attempt they belong to.
    expect(out.stderr).toContain('[attempt 3] ▸ write_file notes.txt');

    // The worktrees are gone, from the disk and from the repository.
    expect((await repo.git('worktree', 'list')).trim().split('\n')).toHaveLength(1);
    expect(await readdir(join(dataDir, 'attempts'))).toEqual([]);
  });

  it('gives the outcomes in json and every event with its attempt in stream-json; --continue resumes the chosen conversation', async () => {
    const repo = await buggyRepo(cleanups);
    const { llm, env } = await setup(byModel({ ...PLANS, echo: [{ text: 'continued' }] }));
    const json = await cli([...ARGS, '-o', 'json', 'fix add()'], { cwd: repo.root, env });
    expect(json.code, json.stderr).toBe(0);
    const result = JSON.parse(json.stdout);
    expect(result).toMatchObject({
      reason: 'completed',
      summary: 'b: add() adds now',
      changedFiles: [{ path: 'src/math.js', change: 'modified' }],
      chosenAttempt: 2,
      test: { command: 'node test.js', exitCode: 0 },
    });
    expect(result.attempts.map((o: { attempt: number; model: string; testExitCode: number }) => [o.attempt, o.model, o.testExitCode])).toEqual([
      [1, 'a', 1],
      [2, 'b', 0],
      [3, 'c', 1],
    ]);
    // The tokens of all three attempts together.
    expect(result.usage.totalTokens).toBe(result.attempts.reduce((n: number, o: { usage: { totalTokens: number } }) => n + o.usage.totalTokens, 0));

    // --continue goes on with b's conversation, with b's model.
    await repo.git('commit', '-qam', 'b fixed it');
    const next = await cli(['run', '--continue', '-o', 'json', '--model', 'echo', 'and now?'], { cwd: repo.root, env });
    expect(next.code, next.stderr).toBe(0);
    expect(JSON.parse(next.stdout)).toMatchObject({ sessionId: result.sessionId, summary: 'continued' });
    const history = llm.requests.at(-1)!.body.messages as { role: string; content: string | null; tool_calls?: { function: { arguments: string } }[] }[];
    const calls = history.flatMap((m) => m.tool_calls ?? []).map((c) => c.function.arguments);
    expect(calls.some((args) => args.includes('return a + b;'))).toBe(true);
    expect(calls.some((args) => args.includes('a * b') || args.includes('b - a'))).toBe(false);

    await repo.git('reset', '-q', '--hard', 'HEAD~1');
    const stream = await cli([...ARGS, '-o', 'stream-json', 'fix add()'], { cwd: repo.root, env });
    expect(stream.code, stream.stderr).toBe(0);
    const events: RunEvent[] = stream.stdout.trim().split('\n').map((line) => runEventSchema.parse(JSON.parse(line)));
    expect(new Set(events.map((e) => e.taskId)).size).toBe(1);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    const started = events.filter((e) => e.type === 'started');
    expect(started.map((e) => [e.attempt, e.type === 'started' && e.model]).sort()).toEqual([[1, 'a'], [2, 'b'], [3, 'c']]);
    expect(events.filter((e) => e.type === 'command' && e.purpose === 'test').map((e) => e.attempt).sort()).toEqual([1, 2, 3]);
    expect(events.filter((e) => e.type === 'tool_call').every((e) => e.attempt !== undefined)).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'attempts', chosen: 2, outcomes: [{ attempt: 1 }, { attempt: 2 }, { attempt: 3 }] });
  });

  it('keeps the smallest change when none passes, and the working tree as it was when none changed anything', async () => {
    const repo = await buggyRepo(cleanups);
    const { env } = await setup(byModel({ a: PLANS.a, b: PLANS.a, c: PLANS.c }));
    const out = await cli([...ARGS, 'fix add()'], { cwd: repo.root, env });
    // A failing change is still a change: the smallest of the failing ones is kept, and said to
    // fail, in the table and by the exit code (3: completed, but the tests fail on the change).
    expect(out.code, out.stderr).toBe(3);
    expect(out.stderr.trimEnd().split('\n').at(-1)).toBe('autocoder: the change does not pass `node test.js` (exit 1)');
    expect(out.stdout).toMatch(/^1 ✓\s+a\s+completed\s+failed \(exit 1\)/m);
    expect(await readFile(join(repo.root, 'src/math.js'), 'utf8')).toContain('return a * b;');

    await repo.git('checkout', '--', 'src/math.js');
    const { env: nothing } = await setup(() => ({ toolCalls: [finish('nothing to do')] }));
    const idle = await cli(['run', '--attempts', '2', 'fix add()'], { cwd: repo.root, env: nothing });
    expect(idle.code, idle.stderr).toBe(0);
    expect(idle.stdout).toContain('No attempt changed anything usable; your working tree is as it was.');
    expect(await repo.git('status', '--porcelain')).toBe('');
  });

  it('with one attempt and --test-command: exit 3 when the test fails after the run, 0 when it passes', async () => {
    const repo = await buggyRepo(cleanups);
    const { env: idle } = await setup(() => ({ toolCalls: [finish('looked, changed nothing')] }));
    const failing = await cli(['run', '--test-command', 'node test.js', 'fix add()'], { cwd: repo.root, env: idle });
    expect(failing.code, failing.stderr).toBe(3);
    // The progress goes to standard error too (text output); the verdict is its last line.
    expect(failing.stderr.trimEnd().split('\n').at(-1)).toBe('autocoder: the change does not pass `node test.js` (exit 1)');
    const { env: fixing } = await setup(byModel({ a: PLANS.b }));
    const passing = await cli(['run', '--test-command', 'node test.js', 'fix add()'], { cwd: repo.root, env: fixing });
    expect(passing.code, passing.stderr).toBe(0);
    expect(passing.stderr).not.toContain('does not pass');
  });

  it('refuses a working tree with uncommitted changes, and says why, before any model is called', async () => {
    const repo = await buggyRepo(cleanups);
    const { llm, env } = await setup(byModel(PLANS));
    await writeFile(join(repo.root, 'test.js'), '// my unfinished work\n');
    const out = await cli([...ARGS, 'fix add()'], { cwd: repo.root, env });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/^autocoder: several attempts work in clean copies of the last commit .*uncommitted changes \(test\.js\).*commit or stash them first, or run one attempt\n$/);
    expect(llm.requests).toHaveLength(0);
    expect(await readFile(join(repo.root, 'test.js'), 'utf8')).toBe('// my unfinished work\n');
    // Untracked files are no obstacle.
    await repo.git('checkout', '--', 'test.js');
    await writeFile(join(repo.root, 'scratch.txt'), 'mine\n');
    const ok = await cli([...ARGS, 'fix add()'], { cwd: repo.root, env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(await readFile(join(repo.root, 'scratch.txt'), 'utf8')).toBe('mine\n');
  });

  it('rejects --attempts outside 1-5 and empty --models entries with a usage error', async () => {
    const repo = await buggyRepo(cleanups);
    const { env } = await setup(byModel(PLANS));
    const nine = await cli(['run', '--attempts', '9', 'x'], { cwd: repo.root, env });
    expect(nine).toMatchObject({ code: 2, stderr: 'autocoder: --attempts must be a whole number from 1 to 5, got "9"\n' });
    const zero = await cli(['run', '--attempts', '0', 'x'], { cwd: repo.root, env });
    expect(zero).toMatchObject({ code: 2, stderr: 'autocoder: --attempts must be a positive whole number, got "0"\n' });
    const models = await cli(['run', '--models', 'a,,b', 'x'], { cwd: repo.root, env });
    expect(models).toMatchObject({ code: 2, stderr: 'autocoder: --models must be model names separated by commas, got "a,,b"\n' });
    const outside = await makeTempDir('autocoder-plain-');
    cleanups.push(() => import('node:fs/promises').then((fs) => fs.rm(outside, { recursive: true, force: true })));
    const plain = await cli(['run', '--attempts', '2', 'x'], { cwd: outside, env });
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain('several attempts need a git repository');
  });
});
