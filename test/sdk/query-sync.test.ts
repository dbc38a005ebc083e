import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AutocoderError, query, querySync } from '../../src/sdk/index.js';
import type { RecordedRequest } from '../helpers/scripted-llm-server.js';
import { makeTempDir } from '../helpers/temp-repo.js';
import { KEY, MODEL, buggyRepo, dataDir, fixingModel, isAlive, scriptedLlm, sleepingModel, waitForPid } from './fixtures.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

/** A model that answers with the user requests it was given, so a test can see the conversation. */
function echoModel() {
  return (request: RecordedRequest) => {
    const users = (request.body.messages as { role: string; content: string }[]).filter((m) => m.role === 'user');
    return { text: `I have seen ${users.length}: ${users.map((m) => m.content).join(' | ')}` };
  };
}

describe('querySync', () => {
  it('resolves with the summary, the changed files, the diff, usage and the session', async () => {
    const repo = await buggyRepo();
    const llm = await scriptedLlm(fixingModel());
    const result = await querySync('add() subtracts; fix it', { cwd: repo.root, model: MODEL, apiKey: KEY, baseURL: llm.baseURL, dataDir: await dataDir() });
    expect(result).toEqual({
      summary: 'Fixed add(): it subtracted instead of adding.',
      changedFiles: [{ path: 'src/math.js', change: 'modified' }],
      diff: expect.stringContaining('+++ b/src/math.js'),
      usage: { promptTokens: expect.any(Number), completionTokens: expect.any(Number), totalTokens: expect.any(Number) },
      sessionId: expect.stringMatching(/^ses_/),
      reason: 'completed',
      steps: 5,
      durationMs: expect.any(Number),
      taskId: expect.stringMatching(/^run_/),
    });
    expect(result.diff).toContain('+  return a + b;');
    expect(await readFile(join(repo.root, 'src/math.js'), 'utf8')).toContain('return a + b;');
    expect(llm.requests[0].headers.authorization).toBe(`Bearer ${KEY}`);
    expect(llm.requests[0].body.model).toBe(MODEL);
  });

  it('continues a session: the second run sends the first conversation', async () => {
    const repo = await buggyRepo();
    const llm = await scriptedLlm(echoModel());
    const options = { cwd: repo.root, apiKey: KEY, baseURL: llm.baseURL, dataDir: await dataDir() };
    const first = await querySync('remember the word heron', options);
    expect(first.summary).toBe('I have seen 1: remember the word heron');
    const second = await querySync('which word?', { ...options, session: first.sessionId });
    expect(second.sessionId).toBe(first.sessionId);
    expect(second.summary).toBe('I have seen 2: remember the word heron | which word?');
    const messages = llm.requests[1].body.messages as { role: string; content: string }[];
    expect(messages.filter((m) => m.role !== 'system')).toEqual([
      { role: 'user', content: 'remember the word heron' },
      { role: 'assistant', content: 'I have seen 1: remember the word heron' },
      { role: 'user', content: 'which word?' },
    ]);
    // Without `session` a run starts a new conversation.
    const third = await querySync('fresh', options);
    expect(third.sessionId).not.toBe(first.sessionId);
    expect(third.summary).toBe('I have seen 1: fresh');
  });

  it('runs two tasks at once in two repositories without mixing them', async () => {
    const [a, b] = await Promise.all([buggyRepo(), buggyRepo()]);
    const [llmA, llmB] = await Promise.all([scriptedLlm(fixingModel()), scriptedLlm(fixingModel())]);
    const data = await dataDir(); // one store for both: each run opens its own connection
    const transcriptB: string[] = [];
    const [resultA, resultB] = await Promise.all([
      querySync('fix A', { cwd: a.root, apiKey: 'key-a', baseURL: llmA.baseURL, dataDir: data }),
      (async () => {
        for await (const message of query('fix B', { cwd: b.root, apiKey: 'key-b', baseURL: llmB.baseURL, dataDir: data })) {
          transcriptB.push(message.type);
          if (message.type === 'result') return message;
        }
        throw new Error('no result');
      })(),
    ]);
    for (const [result, llm, key, prompt] of [
      [resultA, llmA, 'key-a', 'fix A'],
      [resultB, llmB, 'key-b', 'fix B'],
    ] as const) {
      expect(result.reason).toBe('completed');
      expect(result.changedFiles).toEqual([{ path: 'src/math.js', change: 'modified' }]);
      expect(llm.requests).toHaveLength(5);
      expect(llm.requests.every((r) => r.headers.authorization === `Bearer ${key}`)).toBe(true);
      expect(llm.requests.every((r) => JSON.stringify(r.body.messages).includes(prompt))).toBe(true);
    }
    expect(resultA.taskId).not.toBe(resultB.taskId);
    expect(resultA.sessionId).not.toBe(resultB.sessionId);
    expect(transcriptB.filter((t) => t === 'result')).toHaveLength(1);
    expect(await readFile(join(a.root, 'src/math.js'), 'utf8')).toContain('a + b');
    expect(await readFile(join(b.root, 'src/math.js'), 'utf8')).toContain('a + b');
  });

  it('resolves with reason cancelled when the signal fires, killing the command in flight', async () => {
    const repo = await buggyRepo();
    const pidFile = join(await makeTempDir('autocoder-pid-'), 'pid');
    const llm = await scriptedLlm(sleepingModel(pidFile));
    const controller = new AbortController();
    const running = querySync('sleep', { cwd: repo.root, apiKey: KEY, baseURL: llm.baseURL, dataDir: await dataDir(), signal: controller.signal });
    const pid = await waitForPid(pidFile);
    expect(isAlive(pid)).toBe(true);
    controller.abort();
    const result = await running;
    expect(result).toMatchObject({ reason: 'cancelled', summary: 'The run was cancelled.', steps: 1 });
    expect(result.durationMs).toBeLessThan(10_000);
    expect(isAlive(pid)).toBe(false);
    expect(llm.requests).toHaveLength(1);
  });

  it('does not call the model when the signal has already fired', async () => {
    const repo = await buggyRepo();
    const llm = await scriptedLlm([]);
    const result = await querySync('x', { cwd: repo.root, apiKey: KEY, baseURL: llm.baseURL, dataDir: await dataDir(), signal: AbortSignal.abort() });
    expect(result.reason).toBe('cancelled');
    expect(llm.requests).toHaveLength(0);
  });

  it('resolves a run that fails with reason failed and the error', async () => {
    const repo = await buggyRepo();
    const llm = await scriptedLlm([{ status: 400, body: { error: { message: 'bad tools', type: 'invalid_request_error' } } }]);
    const result = await querySync('x', { cwd: repo.root, apiKey: KEY, baseURL: llm.baseURL, dataDir: await dataDir() });
    expect(result.reason).toBe('failed');
    expect(result.error).toBeInstanceOf(AutocoderError);
    expect(result.error).toMatchObject({ code: 'llm_bad_request', retryable: false });
  });

  it('rejects with missing_api_key before anything runs when no key is given or set', async () => {
    const repo = await buggyRepo();
    const data = join(await dataDir(), 'not-made');
    vi.stubEnv('OPENAI_API_KEY', '');
    const error = await querySync('x', { cwd: repo.root, dataDir: data }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AutocoderError);
    expect(error).toMatchObject({ code: 'missing_api_key', retryable: false, message: expect.stringMatching(/OPENAI_API_KEY.*apiKey option/) });
    // The stream says the same, from its loop.
    await expect(async () => {
      for await (const _ of query('x', { cwd: repo.root, dataDir: data })) void _;
    }).rejects.toMatchObject({ code: 'missing_api_key' });
    expect(existsSync(data)).toBe(false);
  });

  it('rejects with config_invalid for a folder that does not exist and an option that is wrong', async () => {
    const data = await dataDir();
    await expect(querySync('x', { cwd: '/no/such/folder', apiKey: KEY, dataDir: data })).rejects.toMatchObject({
      name: 'AutocoderError',
      code: 'config_invalid',
      message: expect.stringContaining('/no/such/folder'),
    });
    await expect(querySync('x', { apiKey: KEY, dataDir: data, maxSteps: 0 })).rejects.toMatchObject({
      code: 'config_invalid',
      message: expect.stringContaining('maxSteps'),
    });
    await expect(querySync('x', { apiKey: KEY, dataDir: data, maxstep: 3 } as never)).rejects.toMatchObject({
      code: 'config_invalid',
      message: expect.stringContaining('unknown option "maxstep"'),
    });
    await expect(querySync('  ', { apiKey: KEY, dataDir: data })).rejects.toMatchObject({ code: 'config_invalid', message: expect.stringContaining('prompt') });
    await expect(querySync('x', { apiKey: KEY, dataDir: data, baseURL: 'not a url' })).rejects.toMatchObject({
      message: expect.stringContaining('baseURL'),
    });
  });

  it('reads the endpoint, model and data directory from the environment when the run starts', async () => {
    const repo = await buggyRepo();
    const llm = await scriptedLlm([{ text: 'hello' }]);
    const data = await dataDir();
    vi.stubEnv('OPENAI_API_KEY', KEY);
    vi.stubEnv('OPENAI_BASE_URL', llm.baseURL);
    vi.stubEnv('AUTOCODER_MODEL', 'model-from-env');
    vi.stubEnv('AUTOCODER_DATA_DIR', data);
    // Keys the SDK does not use never fail it.
    vi.stubEnv('AUTOCODER_CONCURRENCY', 'many');
    const result = await querySync('hi', { cwd: repo.root });
    expect(result).toMatchObject({ reason: 'completed', summary: 'hello' });
    expect(llm.requests[0].headers.authorization).toBe(`Bearer ${KEY}`);
    expect(llm.requests[0].body.model).toBe('model-from-env');
    expect(existsSync(join(data, 'autocoder.db'))).toBe(true);
  });
});
