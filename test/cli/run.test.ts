import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runEventSchema, type RunEvent } from '../../src/engine/events.js';
import { startScriptedLlm, type RecordedRequest, type Script, type ScriptStep } from '../helpers/scripted-llm-server.js';
import { runNodeChild, type ChildOutcome } from '../helpers/child.js';
import { makeTempDir } from '../helpers/temp-repo.js';
import { buggyRepo } from './buggy-repo.js';
import { freePort } from '../helpers/ports.js';

const BIN = resolve('bin/autocoder.js');
const KEY = 'sk-cli-test-secret-0123456789abcdef';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function cli(args: string[], options: { cwd: string; input?: string; env?: NodeJS.ProcessEnv }): Promise<ChildOutcome> {
  return runNodeChild([BIN, ...args], { ...options, input: options.input ?? '' });
}

/** A scripted model that fixes `add` step by step, whatever the conversation before. */
function fixingModel(): Script {
  const steps: ScriptStep[] = [
    { toolCalls: [{ name: 'search_code', arguments: { query: 'add' } }] },
    { toolCalls: [{ name: 'read_file', arguments: { path: 'src/math.js' } }] },
    { toolCalls: [{ name: 'edit_file', arguments: { path: 'src/math.js', old_string: 'return a - b;', new_string: 'return a + b;' } }] },
    { toolCalls: [{ name: 'run_command', arguments: { command: 'node test.js' } }] },
    { toolCalls: [{ name: 'finish', arguments: { summary: 'Fixed add(): it subtracted instead of adding. `node test.js` passes.' } }] },
  ];
  let i = 0;
  return () => steps[Math.min(i++, steps.length - 1)];
}

async function env(script: Script, extra: NodeJS.ProcessEnv = {}) {
  const llm = await startScriptedLlm(script);
  const dataDir = await makeTempDir('autocoder-data-');
  cleanups.push(() => llm.close());
  return { llm, env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: llm.baseURL, AUTOCODER_MODEL: 'scripted-model', AUTOCODER_DATA_DIR: dataDir, ...extra } };
}

function parseEvents(stdout: string): RunEvent[] {
  return stdout.trim().split('\n').map((line) => runEventSchema.parse(JSON.parse(line)));
}

describe('autocoder run', () => {
  it('fixes the bug with the prompt on standard input and streams one JSON event per line', async () => {
    const repo = await buggyRepo(cleanups);
    const { llm, env: vars } = await env(fixingModel());
    const out = await cli(['run', '--output', 'stream-json'], { cwd: repo.root, input: 'add() subtracts; fix it\n', env: vars });

    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(await readFile(join(repo.root, 'src/math.js'), 'utf8')).toContain('return a + b;');
    const events = parseEvents(out.stdout);
    expect(events[0]).toMatchObject({ type: 'started', prompt: 'add() subtracts; fix it', model: 'scripted-model' });
    const command = events.find((e) => e.type === 'tool_result' && e.name === 'run_command');
    expect(command).toMatchObject({ ok: true, exitCode: 0 });
    expect(events.at(-1)).toMatchObject({
      type: 'finished',
      reason: 'completed',
      changedFiles: [{ path: 'src/math.js', change: 'modified' }],
      summary: expect.stringContaining('Fixed add()'),
    });
    expect(llm.requests[0].body.messages.at(-1)).toEqual({ role: 'user', content: 'add() subtracts; fix it' });
    // The key reached the model endpoint, and nowhere in the output.
    expect(llm.requests[0].headers.authorization).toBe(`Bearer ${KEY}`);
    expect(out.stdout).not.toContain(KEY);
  });

  it('keeps its data folder out of git when it lives inside the repository (the default ./.data)', async () => {
    const repo = await buggyRepo(cleanups);
    const { env: vars } = await env(fixingModel());
    const { AUTOCODER_DATA_DIR: _default, ...rest } = vars;
    const out = await cli(['run', 'add() subtracts; fix it'], { cwd: repo.root, input: '', env: rest });
    expect(out.code).toBe(0);
    expect(await repo.git('status', '--porcelain')).toBe(' M src/math.js\n');
  });

  it('continues the conversation with --continue, and --session keeps a named one', async () => {
    const repo = await buggyRepo(cleanups);
    const { llm, env: vars } = await env((request: RecordedRequest) => {
      const messages = request.body.messages as { role: string; content: string }[];
      const users = messages.filter((m) => m.role === 'user').map((m) => m.content);
      return { text: `I have seen ${users.length} requests: ${users.join(' | ')}` };
    });
    const first = await cli(['run', '--output', 'json', 'remember the word heron'], { cwd: repo.root, env: vars });
    expect(first.code).toBe(0);
    const firstResult = JSON.parse(first.stdout);
    expect(firstResult).toMatchObject({ reason: 'completed', summary: 'I have seen 1 requests: remember the word heron', changedFiles: [] });

    const second = await cli(['run', '--continue', '--output', 'json', 'which word?'], { cwd: repo.root, env: vars });
    expect(second.code).toBe(0);
    const secondResult = JSON.parse(second.stdout);
    expect(secondResult.sessionId).toBe(firstResult.sessionId);
    expect(secondResult.summary).toBe('I have seen 2 requests: remember the word heron | which word?');
    // The model was given the earlier answer too.
    const messages = llm.requests.at(-1)!.body.messages as { role: string; content: string }[];
    expect(messages.some((m) => m.role === 'assistant' && m.content.includes('remember the word heron'))).toBe(true);

    const named = await cli(['run', '--session', 'docs', '-o', 'json', 'one'], { cwd: repo.root, env: vars });
    const namedAgain = await cli(['run', '--session', 'docs', '-o', 'json', 'two'], { cwd: repo.root, env: vars });
    expect(JSON.parse(named.stdout).sessionId).toBe('docs');
    expect(JSON.parse(namedAgain.stdout).summary).toBe('I have seen 2 requests: one | two');
  });

  it('shows progress as text: one line per tool call, the summary on standard output', async () => {
    const repo = await buggyRepo(cleanups);
    const { env: vars } = await env(fixingModel());
    const out = await cli(['run', '--max-steps', '8', 'add() subtracts; fix it'], { cwd: repo.root, env: vars });
    expect(out.code).toBe(0);
    expect(out.stdout.trim()).toBe('Fixed add(): it subtracted instead of adding. `node test.js` passes.');
    expect(out.stderr).toContain('▸ read_file src/math.js');
    expect(out.stderr).toContain('▸ run_command `node test.js`');
    expect(out.stderr).toContain('  → exit 0');
    expect(out.stderr).toMatch(/■ completed after 5 steps · 1 file changed/);
  });

  it('exits non-zero at the step budget', async () => {
    const repo = await buggyRepo(cleanups);
    const { env: vars } = await env(() => ({ toolCalls: [{ name: 'list_files', arguments: {} }] }));
    const out = await cli(['run', '--max-steps', '2', '-o', 'json', 'loop forever'], { cwd: repo.root, env: vars });
    expect(out.code).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ reason: 'max_steps', steps: 2 });
  });

  it('says in one line what to set when the key is missing, the endpoint unreachable or the model unknown', async () => {
    const repo = await buggyRepo(cleanups);
    const dataDir = await makeTempDir('autocoder-data-');
    const noKey = await cli(['run', 'hello'], { cwd: repo.root, env: { AUTOCODER_DATA_DIR: dataDir } });
    expect(noKey.code).not.toBe(0);
    expect(noKey.stderr.trim().split('\n')).toHaveLength(1);
    expect(noKey.stderr).toMatch(/OPENAI_API_KEY/);

    const port = await freePort();
    const unreachable = await cli(['run', 'hello'], {
      cwd: repo.root,
      env: { AUTOCODER_DATA_DIR: dataDir, OPENAI_API_KEY: KEY, OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1` },
    });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(new RegExp(`^autocoder: cannot reach http://127\\.0\\.0\\.1:${port}/v1: .*refused.*OPENAI_BASE_URL`, 'm'));
    expect(unreachable.stderr).not.toMatch(/\n\s+at /);
    expect(unreachable.stderr).not.toContain(KEY);

    const llm = await startScriptedLlm([], { models: ['real-model'] });
    cleanups.push(() => llm.close());
    const unknown = await cli(['run', '--model', 'no-such-model', 'hello'], {
      cwd: repo.root,
      env: { AUTOCODER_DATA_DIR: dataDir, OPENAI_API_KEY: KEY, OPENAI_BASE_URL: llm.baseURL },
    });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^autocoder: .*no-such-model.*(--model|AUTOCODER_MODEL)/m);
    expect(unknown.stderr).not.toMatch(/\n\s+at /);
    expect(llm.requests).toHaveLength(1);
  }, 60_000);

  it('rejects bad usage with a readable line and exit code 2', async () => {
    const repo = await buggyRepo(cleanups);
    const { env: vars } = await env([]);
    const badOutput = await cli(['run', '-o', 'yaml', 'x'], { cwd: repo.root, env: vars });
    expect(badOutput).toMatchObject({ code: 2 });
    expect(badOutput.stderr).toMatch(/--output must be one of text, json, stream-json/);
    const badSteps = await cli(['run', '--max-steps', 'ten', 'x'], { cwd: repo.root, env: vars });
    expect(badSteps.code).toBe(2);
    expect(badSteps.stderr).toMatch(/--max-steps must be a positive whole number/);
    const noPrompt = await cli(['run'], { cwd: repo.root, env: vars, input: '' });
    expect(noPrompt.code).toBe(2);
    expect(noPrompt.stderr).toMatch(/prompt is empty/);
    const noContinue = await cli(['run', '--continue', 'x'], { cwd: repo.root, env: vars });
    expect(noContinue.code).toBe(1);
    expect(noContinue.stderr).toMatch(/no earlier session/);
    const badEnv = await cli(['run', 'x'], { cwd: repo.root, env: { ...vars, AUTOCODER_CONCURRENCY: 'many' } });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toMatch(/AUTOCODER_CONCURRENCY/);
  });
});
