import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AutocoderError, query, querySync, type SdkMessage } from '../../src/sdk/index.js';
import type { RecordedRequest, Script, ScriptStep } from '../helpers/scripted-llm-server.js';
import { makeTempRepo } from '../helpers/temp-repo.js';
import { KEY, buggyRepo, dataDir, onCleanup, scriptedLlm } from './fixtures.js';

/** Answers by model name and by the model's turn in its own conversation. */
function byModel(plans: Record<string, ScriptStep[]>): Script {
  return (request: RecordedRequest) => {
    const messages = request.body.messages as { role: string }[];
    let last = messages.length - 1;
    while (last >= 0 && messages[last].role !== 'user') last--;
    const steps = plans[request.body.model as string];
    return steps[Math.min(messages.slice(last).filter((m) => m.role === 'assistant').length, steps.length - 1)];
  };
}

const edit = (to: string) => ({ toolCalls: [{ name: 'edit_file', arguments: { path: 'src/math.js', old_string: 'return a - b;', new_string: to } }] });
const finish = (summary: string) => ({ toolCalls: [{ name: 'finish', arguments: { summary } }] });

describe('querySync with attempts', () => {
  it('returns every outcome and the chosen attempt, whose change alone is in cwd', async () => {
    const repo = await buggyRepo();
    const llm = await scriptedLlm(
      byModel({
        // A bigger change that passes too: the smaller passing one wins.
        wide: [
          { toolCalls: [{ name: 'write_file', arguments: { path: 'CHANGELOG.md', content: '# Changes\n\n- add() adds\n' } }] },
          edit('return a + b;'),
          finish('wide: fixed add() and wrote a changelog'),
        ],
        wrong: [edit('return a * b;'), finish('wrong: multiplied')],
        right: [edit('return a + b;'), finish('right: fixed add()')],
      }),
    );
    const data = await dataDir();
    const result = await querySync('add() subtracts; fix it', {
      cwd: repo.root,
      apiKey: KEY,
      baseURL: llm.baseURL,
      dataDir: data,
      attempts: 3,
      models: ['wide', 'wrong', 'right'],
      testCommand: 'node test.js',
    });

    expect(result).toMatchObject({
      reason: 'completed',
      summary: 'right: fixed add()',
      changedFiles: [{ path: 'src/math.js', change: 'modified' }],
      chosenAttempt: 3,
      test: { command: 'node test.js', exitCode: 0 },
    });
    expect(result.diff).toContain('+  return a + b;');
    expect(result.attempts).toEqual([
      { attempt: 1, model: 'wide', reason: 'completed', testExitCode: 0, filesChanged: 2, linesAdded: 4, linesRemoved: 1, usage: expect.any(Object), durationMs: expect.any(Number) },
      { attempt: 2, model: 'wrong', reason: 'completed', testExitCode: 1, filesChanged: 1, linesAdded: 1, linesRemoved: 1, usage: expect.any(Object), durationMs: expect.any(Number) },
      { attempt: 3, model: 'right', reason: 'completed', testExitCode: 0, filesChanged: 1, linesAdded: 1, linesRemoved: 1, usage: expect.any(Object), durationMs: expect.any(Number) },
    ]);
    expect(result.usage.totalTokens).toBe(result.attempts!.reduce((n, o) => n + o.usage.totalTokens, 0));
    expect(await readFile(join(repo.root, 'src/math.js'), 'utf8')).toContain('return a + b;');
    expect(existsSync(join(repo.root, 'CHANGELOG.md'))).toBe(false);
    expect(await readdir(join(data, 'attempts'))).toEqual([]);

    // The session kept is the chosen attempt's conversation.
    const next = await querySync('which model were you?', { cwd: repo.root, apiKey: KEY, baseURL: llm.baseURL, dataDir: data, session: result.sessionId, model: 'right' });
    const sent = JSON.stringify(llm.requests.at(-1)!.body.messages);
    expect(next.sessionId).toBe(result.sessionId);
    expect(sent).toContain('right: fixed add()');
    expect(sent).not.toContain('wrong: multiplied');
  });

  it('tells query() readers which attempt each message comes from', async () => {
    const repo = await buggyRepo();
    const llm = await scriptedLlm(byModel({ x: [edit('return a + b;'), finish('x')], y: [edit('return a * b;'), finish('y')] }));
    const messages: SdkMessage[] = [];
    for await (const message of query('fix add()', { cwd: repo.root, apiKey: KEY, baseURL: llm.baseURL, dataDir: await dataDir(), models: ['x', 'y'], testCommand: 'node test.js' })) {
      messages.push(message);
    }
    const calls = messages.filter((m) => m.type === 'tool_call');
    expect(calls.map((m) => m.attempt).sort()).toEqual([1, 1, 2, 2]);
    expect(messages.at(-1)).toMatchObject({ type: 'result', chosenAttempt: 1, summary: 'x' });
  });

  it('works from a subfolder of the repository: the attempts work in the same subfolder, the change lands there', async () => {
    const repo = await makeTempRepo({
      'pkg/src/math.js': 'export function add(a, b) {\n  return a - b;\n}\n',
      'pkg/test.js': "import { add } from './src/math.js';\nif (add(2, 3) !== 5) process.exit(1);\n",
      'pkg/package.json': '{ "type": "module" }\n',
    });
    onCleanup(() => repo.cleanup());
    const llm = await scriptedLlm(byModel({ x: [edit('return a * b;'), finish('x')], y: [edit('return a + b;'), finish('y')] }));
    const data = await dataDir();
    const result = await querySync('fix add()', { cwd: join(repo.root, 'pkg'), apiKey: KEY, baseURL: llm.baseURL, dataDir: data, models: ['x', 'y'], testCommand: 'node test.js' });
    expect(result).toMatchObject({ chosenAttempt: 2, changedFiles: [{ path: 'src/math.js', change: 'modified' }] });
    expect(await repo.git('status', '--porcelain')).toBe(' M pkg/src/math.js\n');
    expect(await readFile(join(repo.root, 'pkg/src/math.js'), 'utf8')).toContain('return a + b;');
  });

  it('cancelled through signal: every attempt stops, nothing is applied, the worktrees are removed', async () => {
    const repo = await buggyRepo();
    const llm = await scriptedLlm(() => ({ hang: true }));
    const data = await dataDir();
    const controller = new AbortController();
    const running = querySync('fix add()', { cwd: repo.root, apiKey: KEY, baseURL: llm.baseURL, dataDir: data, attempts: 3, model: 'm', signal: controller.signal });
    while (llm.requests.length < 3) await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    const result = await running;
    expect(result).toMatchObject({ reason: 'cancelled', chosenAttempt: null, changedFiles: [] });
    expect(result.attempts!.map((o) => o.reason)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect(await repo.git('status', '--porcelain')).toBe('');
    expect((await repo.git('worktree', 'list')).trim().split('\n')).toHaveLength(1);
    expect(await readdir(join(data, 'attempts'))).toEqual([]);
  });

  it('rejects attempts outside 1-5, an empty model list and an empty test command, naming the option', async () => {
    const repo = await buggyRepo();
    const base = { cwd: repo.root, apiKey: KEY, dataDir: await dataDir() };
    const reject = (options: object) => querySync('fix it', { ...base, ...options });
    await expect(reject({ attempts: 0 })).rejects.toThrow('invalid options: attempts: expected a whole number from 1 to 5, got 0');
    await expect(reject({ attempts: 9 })).rejects.toThrow('invalid options: attempts: expected a whole number from 1 to 5, got 9');
    await expect(reject({ attempts: 2.5 })).rejects.toThrow('invalid options: attempts: expected a whole number from 1 to 5');
    await expect(reject({ attempts: '3' })).rejects.toThrow('invalid options: attempts: expected a whole number from 1 to 5');
    await expect(reject({ models: [] })).rejects.toThrow('invalid options: models: expected at least one model name');
    await expect(reject({ models: ['a', ' '] })).rejects.toThrow('invalid options: models.1: expected a model name');
    await expect(reject({ testCommand: '' })).rejects.toThrow('invalid options: testCommand: expected a shell command');
    await expect(reject({ models: ['a', 'b', 'c', 'd', 'e', 'f'] })).rejects.toThrow('at most 5 attempts run at once, and 6 models were listed');
    const error = await reject({ attempts: 9 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AutocoderError);
    expect(error).toMatchObject({ code: 'config_invalid', retryable: false });
  });

  it('rejects several attempts on a working tree with uncommitted changes, before any model call', async () => {
    const repo = await buggyRepo();
    const llm = await scriptedLlm(() => finish('never'));
    await writeFile(join(repo.root, 'src/math.js'), '// half done\n');
    const error = await querySync('fix it', { cwd: repo.root, apiKey: KEY, baseURL: llm.baseURL, dataDir: await dataDir(), attempts: 2 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'config_invalid', message: expect.stringContaining('uncommitted changes (src/math.js)') });
    expect(llm.requests).toHaveLength(0);
  });
});
