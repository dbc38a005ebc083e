import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { query, type SdkMessage } from '../../src/sdk/index.js';
import { makeTempDir } from '../helpers/temp-repo.js';
import { KEY, MODEL, buggyRepo, dataDir, fixingModel, isAlive, scriptedLlm, sleepingModel, waitForPid } from './fixtures.js';

describe('query', () => {
  it('yields the transcript in order: text, each call and its result, then one result', async () => {
    const repo = await buggyRepo();
    const llm = await scriptedLlm(fixingModel());
    const messages: SdkMessage[] = [];
    for await (const message of query('add() subtracts; fix it', {
      cwd: repo.root,
      model: MODEL,
      apiKey: KEY,
      baseURL: llm.baseURL,
      dataDir: await dataDir(),
    })) {
      messages.push(message);
    }

    const tools = ['search_code', 'read_file', 'edit_file', 'run_command', 'finish'];
    expect(messages.map((m) => (m.type === 'tool_call' || m.type === 'tool_result' ? `${m.type}:${m.name}` : m.type))).toEqual([
      'assistant',
      ...tools.flatMap((name) => [`tool_call:${name}`, `tool_result:${name}`]),
      'result',
    ]);
    expect(messages[0]).toEqual({ type: 'assistant', text: 'Looking for add.' });
    expect(messages[1]).toEqual({ type: 'tool_call', id: 'call_1_1', name: 'search_code', input: { query: 'add' } });
    // Every result answers the call before it.
    for (let i = 1; i < messages.length - 1; i += 2) {
      const call = messages[i];
      const result = messages[i + 1];
      expect(result).toMatchObject({ type: 'tool_result', id: call.type === 'tool_call' ? call.id : '?', ok: true });
    }
    expect(messages[8]).toMatchObject({ type: 'tool_result', name: 'run_command', output: expect.stringContaining('ok') });

    const result = messages.at(-1)!;
    expect(result).toMatchObject({
      type: 'result',
      reason: 'completed',
      summary: 'Fixed add(): it subtracted instead of adding.',
      changedFiles: [{ path: 'src/math.js', change: 'modified' }],
      steps: 5,
      taskId: expect.stringMatching(/^run_/),
      sessionId: expect.stringMatching(/^ses_/),
    });
    if (result.type !== 'result') throw new Error('no result');
    expect(result.diff).toContain('-  return a - b;\n+  return a + b;');
    expect(result.usage.totalTokens).toBeGreaterThan(0);
    expect(result).not.toHaveProperty('error');
    expect(await readFile(join(repo.root, 'src/math.js'), 'utf8')).toContain('return a + b;');
  });

  it('cancels the run when the reader breaks: the command in flight dies and the model is not asked again', async () => {
    const repo = await buggyRepo();
    const pidFile = join(await makeTempDir('autocoder-pid-'), 'pid');
    const llm = await scriptedLlm(sleepingModel(pidFile));
    const started = Date.now();
    let pid = 0;
    for await (const message of query('sleep', { cwd: repo.root, apiKey: KEY, baseURL: llm.baseURL, dataDir: await dataDir() })) {
      if (message.type === 'tool_call') {
        pid = await waitForPid(pidFile);
        expect(isAlive(pid)).toBe(true);
        break;
      }
    }
    // `break` returns once the run has wound down: nothing of it is left running.
    expect(isAlive(pid)).toBe(false);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(llm.requests).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(llm.requests).toHaveLength(1);
  });

  it('stops a model request in flight when the reader returns while waiting', async () => {
    const repo = await buggyRepo();
    const llm = await scriptedLlm([{ hang: true }]);
    const iterator = query('wait', { cwd: repo.root, apiKey: KEY, baseURL: llm.baseURL, dataDir: await dataDir() })[Symbol.asyncIterator]();
    const pending = iterator.next();
    while (llm.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
    await iterator.return!();
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
    await expect(iterator.next()).resolves.toMatchObject({ done: true });
  });

  it('cancels on the AbortSignal and ends with a cancelled result', async () => {
    const repo = await buggyRepo();
    const pidFile = join(await makeTempDir('autocoder-pid-'), 'pid');
    const llm = await scriptedLlm(sleepingModel(pidFile));
    const controller = new AbortController();
    const messages: SdkMessage[] = [];
    const stream = query('sleep', { cwd: repo.root, apiKey: KEY, baseURL: llm.baseURL, dataDir: await dataDir(), signal: controller.signal });
    let pid = 0;
    for await (const message of stream) {
      messages.push(message);
      if (message.type === 'tool_call') {
        pid = await waitForPid(pidFile);
        controller.abort();
      }
    }
    expect(isAlive(pid)).toBe(false);
    expect(messages.map((m) => m.type)).toEqual(['tool_call', 'tool_result', 'result']);
    expect(messages[1]).toMatchObject({ ok: false, output: expect.stringMatching(/^cancelled/) });
    expect(messages[2]).toMatchObject({ type: 'result', reason: 'cancelled' });
    expect(llm.requests).toHaveLength(1);
  });

  it('does not start before it is read, and runs once however often it is iterated', async () => {
    const repo = await buggyRepo();
    const llm = await scriptedLlm([{ text: 'one' }, { text: 'two' }]);
    const stream = query('hi', { cwd: repo.root, apiKey: KEY, baseURL: llm.baseURL, dataDir: await dataDir() });
    await new Promise((r) => setTimeout(r, 200));
    expect(llm.requests).toHaveLength(0);
    const first: SdkMessage[] = [];
    for await (const message of stream) first.push(message);
    const second: SdkMessage[] = [];
    for await (const message of stream) second.push(message);
    expect(first.map((m) => m.type)).toEqual(['assistant', 'result']);
    expect(second).toEqual([]);
    expect(llm.requests).toHaveLength(1);
  });
});
