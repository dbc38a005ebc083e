import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runAgent, type AgentOptions } from '../../src/engine/agent.js';
import { createEmitter, runEventSchema, type RunEvent } from '../../src/engine/events.js';
import { buildCommandEnv } from '../../src/engine/tools/command-env.js';
import { createOpenAiClient } from '../../src/llm/openai-client.js';
import { createGitChangeTracker } from '../../src/workspace/snapshot.js';
import { startScriptedLlm, type Script, type ScriptedLlm } from '../helpers/scripted-llm-server.js';
import { makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(script: Script, files: Record<string, string> = { 'math.js': 'export const add = (a, b) => a - b;\n' }) {
  const llm = await startScriptedLlm(script);
  const repo = await makeTempRepo(files);
  cleanups.push(() => llm.close(), () => repo.cleanup());
  return { llm, repo };
}

async function run(llm: ScriptedLlm, repo: TempRepo, overrides: Partial<AgentOptions> = {}) {
  const events: RunEvent[] = [];
  const result = await runAgent({
    llm: createOpenAiClient({ apiKey: 'sk-test-key-0123456789abcdefghij', baseURL: llm.baseURL, maxRetries: 2, retryBaseMs: 5, maxRetryDelayMs: 1500 }),
    model: 'scripted-model',
    cwd: repo.root,
    prompt: 'add() subtracts; fix it',
    sessionId: 'ses_test',
    emit: createEmitter('run_test', (event) => events.push(event)),
    maxSteps: 10,
    maxMs: 60_000,
    changeTracker: createGitChangeTracker(repo.root),
    commandEnv: buildCommandEnv(process.env),
    ...overrides,
  });
  return { result, events };
}

const fixScript: Script = [
  { toolCalls: [{ name: 'read_file', arguments: { path: 'math.js' } }] },
  { toolCalls: [{ name: 'edit_file', arguments: { path: 'math.js', old_string: 'a - b', new_string: 'a + b' } }] },
  { toolCalls: [{ name: 'finish', arguments: { summary: 'add() now adds.' } }] },
];

describe('the agent loop against a scripted OpenAI-compatible server', () => {
  it('reads, edits and finishes, reporting every step as a valid event', async () => {
    const { llm, repo } = await setup(fixScript);
    const { result, events } = await run(llm, repo);

    expect(result.reason).toBe('completed');
    expect(result.summary).toBe('add() now adds.');
    expect(await readFile(join(repo.root, 'math.js'), 'utf8')).toBe('export const add = (a, b) => a + b;\n');
    expect(result.changedFiles).toEqual([{ path: 'math.js', change: 'modified' }]);
    expect(result.patch).toContain('+export const add = (a, b) => a + b;');
    expect(result.steps).toBe(3);
    for (const event of events) runEventSchema.parse(event);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(events[0].type).toBe('started');
    expect(events.at(-1)).toMatchObject({ type: 'finished', reason: 'completed', steps: 3 });
    expect(events.filter((e) => e.type === 'tool_call').map((e) => (e as { name: string }).name)).toEqual(['read_file', 'edit_file', 'finish']);
    // Usage is summed from the API's usage fields.
    const usage = events.filter((e) => e.type === 'usage');
    expect(usage).toHaveLength(3);
    expect(result.usage.totalTokens).toBe(usage.reduce((n, e) => n + (e as { usage: { totalTokens: number } }).usage.totalTokens, 0));
    expect(result.usage.totalTokens).toBeGreaterThan(0);
    // The model saw the file's text with line numbers, then the edit's result.
    const second = llm.requests[1].body.messages;
    expect(second.at(-1)).toMatchObject({ role: 'tool' });
    expect(second.at(-1).content).toContain('a - b');
    // The seven tools are offered with JSON schemas.
    expect(llm.requests[0].body.tools.map((t: { function: { name: string } }) => t.function.name)).toEqual([
      'list_files', 'read_file', 'search_code', 'edit_file', 'write_file', 'run_command', 'finish',
    ]);
  });

  it('assembles tool calls streamed in small pieces across chunks', async () => {
    const { llm, repo } = await setup([
      {
        chunkSize: 2,
        toolCalls: [
          { name: 'write_file', arguments: { path: 'a.txt', content: 'first file, written in pieces' } },
          { name: 'write_file', arguments: { path: 'dir/b.txt', content: 'second ✓ file' } },
        ],
      },
      { text: 'Wrote both files.', chunkSize: 3 },
    ]);
    const { result } = await run(llm, repo);
    expect(result.reason).toBe('completed');
    expect(result.summary).toBe('Wrote both files.');
    expect(await readFile(join(repo.root, 'a.txt'), 'utf8')).toBe('first file, written in pieces');
    expect(await readFile(join(repo.root, 'dir/b.txt'), 'utf8')).toBe('second ✓ file');
    expect(result.changedFiles.map((f) => f.path).sort()).toEqual(['a.txt', 'dir/b.txt']);
  });

  it('gives arguments that are not valid JSON back to the model as an error and goes on', async () => {
    const { llm, repo } = await setup([
      { toolCalls: [{ name: 'read_file', arguments: '{"path": "math.js"' }] },
      ...fixScript,
    ]);
    const { result, events } = await run(llm, repo);
    expect(result.reason).toBe('completed');
    const firstResult = events.find((e) => e.type === 'tool_result') as Extract<RunEvent, { type: 'tool_result' }>;
    expect(firstResult.ok).toBe(false);
    expect(firstResult.output).toMatch(/not valid JSON/);
    const toolMessage = llm.requests[1].body.messages.at(-1);
    expect(toolMessage.role).toBe('tool');
    expect(toolMessage.content).toMatch(/not valid JSON/);
  });

  it('waits as a 429 asks (Retry-After) and then goes on', async () => {
    const { llm, repo } = await setup([{ status: 429, headers: { 'retry-after': '1' }, body: { error: { message: 'Rate limit reached' } } }, ...fixScript]);
    const started = Date.now();
    const { result, events } = await run(llm, repo);
    expect(result.reason).toBe('completed');
    const retry = events.find((e) => e.type === 'retry') as Extract<RunEvent, { type: 'retry' }>;
    expect(retry.delayMs).toBeGreaterThanOrEqual(1000);
    expect(retry.reason).toMatch(/429|rate/i);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(llm.requests).toHaveLength(4);
  });

  it('retries a 500 and fails with a readable error when it persists', async () => {
    const recovering = await setup([{ status: 500, body: { error: { message: 'boom' } } }, ...fixScript]);
    expect((await run(recovering.llm, recovering.repo)).result.reason).toBe('completed');

    const broken = await setup(() => ({ status: 500, body: { error: { message: 'the server is on fire' } } }));
    const { result, events } = await run(broken.llm, broken.repo);
    expect(result.reason).toBe('failed');
    expect(result.error?.code).toBe('llm_server_error');
    expect(broken.llm.requests).toHaveLength(3);
    expect(events.find((e) => e.type === 'error')).toMatchObject({ code: 'llm_server_error' });
    expect(events.at(-1)).toMatchObject({ type: 'finished', reason: 'failed' });
  });

  it('ends a model that never calls finish at the step budget, with that reason', async () => {
    const { llm, repo } = await setup(() => ({ toolCalls: [{ name: 'list_files', arguments: {} }] }));
    const { result, events } = await run(llm, repo, { maxSteps: 3 });
    expect(result.reason).toBe('max_steps');
    expect(result.steps).toBe(3);
    expect(llm.requests).toHaveLength(3);
    expect(events.at(-1)).toMatchObject({ type: 'finished', reason: 'max_steps' });
    // The kept conversation is whole: every tool call has its result.
    const calls = result.messages.flatMap((m) => (m.role === 'assistant' ? m.tool_calls ?? [] : []));
    const results = result.messages.filter((m) => m.role === 'tool');
    expect(results).toHaveLength(calls.length);
  });

  it('ends at the time budget and on cancellation while the model hangs', async () => {
    const timed = await setup([{ hang: true }]);
    const { result } = await run(timed.llm, timed.repo, { maxMs: 300 });
    expect(result.reason).toBe('max_time');

    const cancelled = await setup([{ hang: true }]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const outcome = await run(cancelled.llm, cancelled.repo, { signal: controller.signal });
    expect(outcome.result.reason).toBe('cancelled');
  });

  it('compacts old tool outputs as the context fills, never dropping a result', async () => {
    const big = Array.from({ length: 400 }, (_, i) => `line ${i} ${'x'.repeat(60)}`).join('\n');
    const { llm, repo } = await setup(
      [
        { toolCalls: [{ name: 'read_file', arguments: { path: 'big.txt' } }] },
        { toolCalls: [{ name: 'read_file', arguments: { path: 'big.txt', start_line: 200 } }] },
        { toolCalls: [{ name: 'read_file', arguments: { path: 'big.txt', start_line: 300 } }] },
        { text: 'done' },
      ],
      { 'big.txt': big },
    );
    const { result, events } = await run(llm, repo, { contextTokens: 12_000 });
    expect(result.reason).toBe('completed');
    const compacted = events.filter((e) => e.type === 'compacted');
    expect(compacted.length).toBeGreaterThan(0);
    const last = llm.requests.at(-1)!.body.messages as { role: string; content: string }[];
    const tools = last.filter((m) => m.role === 'tool');
    expect(tools).toHaveLength(3);
    expect(tools[0].content).toMatch(/^\[compacted: \d+ characters of this tool output were removed/);
    expect(JSON.stringify(last).length / 4).toBeLessThan(12_000);
  });

  it('takes a plain answer without tool calls as the end of the run', async () => {
    const { llm, repo } = await setup([{ text: 'Nothing to do: add() is already right.' }]);
    const { result } = await run(llm, repo);
    expect(result).toMatchObject({ reason: 'completed', summary: 'Nothing to do: add() is already right.', changedFiles: [] });
  });
});

describe('token and cost budgets, from the usage the API reports', () => {
  const edit = (n: number) => ({
    toolCalls: [{ name: 'write_file', arguments: { path: `notes-${n}.txt`, content: `note ${n}\n` } }],
    usage: { prompt_tokens: 900, completion_tokens: 100 },
  });

  it('ends at the token budget after the answer that crossed it, its tool calls run, and calls the model no more', async () => {
    const { llm, repo } = await setup((_request, index) => edit(index + 1));
    const { result, events } = await run(llm, repo, { maxTokens: 2_500 });
    expect(result.reason).toBe('max_tokens');
    // 1,000 tokens an answer: after the third the run has used 3,000 of 2,500, and stops there.
    expect(llm.requests).toHaveLength(3);
    expect(result.usage).toEqual({ promptTokens: 2_700, completionTokens: 300, totalTokens: 3_000 });
    expect(result.changedFiles.map((f) => f.path).sort()).toEqual(['notes-1.txt', 'notes-2.txt', 'notes-3.txt']);
    expect(result.summary).toBe('Stopped after using 3,000 tokens of its 2,500-token budget, before the work was finished.');
    expect(events[0]).toMatchObject({ type: 'started', maxTokens: 2_500 });
    expect(events.at(-1)).toMatchObject({ type: 'finished', reason: 'max_tokens', usage: { totalTokens: 3_000 } });
    for (const event of events) runEventSchema.parse(event);
  });

  it('a finish in the answer that crosses the budget still completes the run', async () => {
    const { llm, repo } = await setup([{ toolCalls: [{ name: 'finish', arguments: { summary: 'All done.' } }], usage: { prompt_tokens: 5_000, completion_tokens: 10 } }]);
    const { result } = await run(llm, repo, { maxTokens: 100 });
    expect(result).toMatchObject({ reason: 'completed', summary: 'All done.' });
  });

  it('a budget of 0 tokens (a day already spent) calls no model at all', async () => {
    const { llm, repo } = await setup([edit(1)]);
    const { result } = await run(llm, repo, { maxTokens: 0 });
    expect(result.reason).toBe('max_tokens');
    expect(llm.requests).toHaveLength(0);
    expect(result.steps).toBe(0);
  });

  it('prices every answer and ends at the cost budget', async () => {
    const { llm, repo } = await setup((_request, index) => edit(index + 1));
    // 900 prompt tokens at $2 and 100 completion tokens at $8 per million: $0.0026 an answer.
    const { result, events } = await run(llm, repo, { prices: { inputPerMTok: 2, outputPerMTok: 8 }, maxCostUsd: 0.005 });
    expect(result.reason).toBe('max_cost');
    expect(llm.requests).toHaveLength(2);
    expect(result.usage.totalTokens).toBe(2_000);
    expect(result.usage.costUsd).toBeCloseTo(0.0052, 10);
    const usage = events.filter((e) => e.type === 'usage') as Extract<RunEvent, { type: 'usage' }>[];
    expect(usage.map((e) => e.usage.costUsd)).toEqual([expect.closeTo(0.0026, 10), expect.closeTo(0.0026, 10)]);
    expect(result.summary).toBe('Stopped after using $0.0052 of its $0.005 cost budget, before the work was finished.');
    expect(events.at(-1)).toMatchObject({ type: 'finished', reason: 'max_cost' });
    expect(events[0]).toMatchObject({ type: 'started', maxCostUsd: 0.005 });
  });

  it('without prices, usage has no cost and a cost budget cannot end the run', async () => {
    const { llm, repo } = await setup([edit(1), edit(2), { text: 'done', usage: { prompt_tokens: 10, completion_tokens: 1 } }]);
    const { result } = await run(llm, repo, { maxCostUsd: 0.000001 });
    expect(result.reason).toBe('completed');
    expect(result.usage.costUsd).toBeUndefined();
  });
});
