import { describe, expect, it } from 'vitest';
import { AutocoderError } from '../../src/engine/errors.js';
import { createOpenAiClient } from '../../src/llm/openai-client.js';
import { API_KEY, expectError, request, setup } from './setup.js';
import { freePort } from '../helpers/ports.js';

type RetryInfo = { attempt: number; delayMs: number; reason: string };

describe('openai client: retries', () => {
  it('waits as long as retry-after says after a 429, then succeeds', async () => {
    const { llm, client, sleeps } = await setup([{ status: 429, headers: { 'retry-after': '1' } }, { text: 'ok' }]);
    const retries: RetryInfo[] = [];
    const response = await client.complete(request(), { onRetry: (info) => retries.push(info) });
    expect(response.text).toBe('ok');
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ attempt: 1, delayMs: 1000 });
    expect(retries[0].reason).toMatch(/rate limited \(429\)/);
    expect(sleeps).toEqual([1000]);
    expect(llm.requests).toHaveLength(2);
  });

  it('honours retry-after-ms and HTTP dates, capped at maxRetryDelayMs', async () => {
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
    const { client, sleeps } = await setup(
      [
        { status: 429, headers: { 'retry-after-ms': '250' } },
        { status: 429, headers: { 'retry-after': inTenSeconds } },
        { status: 429, headers: { 'retry-after': '3600' } },
        { text: 'ok' },
      ],
      {},
      { maxRetryDelayMs: 20_000 },
    );
    await client.complete(request());
    expect(sleeps[0]).toBe(250);
    expect(sleeps[1]).toBeGreaterThan(8_000);
    expect(sleeps[1]).toBeLessThanOrEqual(10_000);
    expect(sleeps[2]).toBe(20_000);
  });

  it('retries a 500 with backoff, then succeeds', async () => {
    const { client, sleeps } = await setup([{ status: 500 }, { text: 'ok' }], {}, { retryBaseMs: 400 });
    const retries: RetryInfo[] = [];
    const response = await client.complete(request(), { onRetry: (info) => retries.push(info) });
    expect(response.text).toBe('ok');
    expect(retries).toHaveLength(1);
    expect(retries[0].reason).toMatch(/server error \(500\)/);
    expect(sleeps[0]).toBeGreaterThanOrEqual(300);
    expect(sleeps[0]).toBeLessThanOrEqual(400);
  });

  it('gives up on a 500 after maxRetries + 1 requests, backing off exponentially', async () => {
    const { llm, client, sleeps } = await setup(() => ({ status: 503, body: { error: { message: 'overloaded' } } }), {}, { maxRetries: 3, retryBaseMs: 100 });
    const error = await expectError(client.complete(request()), 'llm_server_error');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(llm.baseURL);
    expect(error.message).toContain('overloaded');
    expect(error.message).toContain('4 attempts');
    expect(llm.requests).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
    sleeps.forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual(100 * 2 ** i * 0.75);
      expect(ms).toBeLessThanOrEqual(100 * 2 ** i);
    });
  });

  it('fails at once when the scripted server has run out of steps', async () => {
    const { llm, client } = await setup([{ text: 'only one' }]);
    await client.complete(request());
    const error = await expectError(client.complete(request()), 'llm_server_error');
    expect(error.message).toMatch(/script is exhausted/);
    expect(llm.requests).toHaveLength(2);
  });

  it('reports an unreachable endpoint readably', async () => {
    const port = await freePort();
    const baseURL = `http://127.0.0.1:${port}/v1`;
    const sleeps: number[] = [];
    const client = createOpenAiClient({ apiKey: API_KEY, baseURL, maxRetries: 2, sleep: async (ms) => void sleeps.push(ms) });
    const error = await expectError(client.complete(request()), 'llm_unreachable');
    expect(error.message).toBe(`cannot reach ${baseURL}: connection refused — check OPENAI_BASE_URL (3 attempts)`);
    expect(sleeps).toHaveLength(2);
  });

  it('times out an endpoint that never answers', async () => {
    const { llm, client } = await setup([{ hang: true }, { hang: true }], {}, { timeoutMs: 200, maxRetries: 1 });
    const error = await expectError(client.complete(request()), 'llm_unreachable');
    expect(error.message).toContain(`cannot reach ${llm.baseURL}: no answer within 0.2 s`);
    expect(llm.requests).toHaveLength(2);
  });
});

describe('openai client: errors that are not retried', () => {
  it('says which model is missing, without retrying', async () => {
    const { llm, client } = await setup([{ text: 'never' }], { models: ['real-model'] });
    const error = await expectError(client.complete(request({ model: 'no-such-model' })), 'model_not_found');
    expect(error.message).toMatch(
      new RegExp(`^model 'no-such-model' is not available at ${llm.baseURL.replace(/\./g, '\\.')} .*— set --model or AUTOCODER_MODEL$`),
    );
    expect(llm.requests).toHaveLength(1);
  });

  it('maps a 400 that says the model does not exist to model_not_found', async () => {
    const { client } = await setup([{ status: 400, body: { error: { message: 'The model `gpt-9` does not exist or you do not have access to it.' } } }]);
    await expectError(client.complete(request({ model: 'gpt-9' })), 'model_not_found');
  });

  it('maps 401 to llm_auth and never repeats the key, even when the server does', async () => {
    const { llm, client } = await setup([
      { status: 401, body: { error: { message: `Incorrect API key provided: ${API_KEY}.`, type: 'invalid_request_error', code: 'invalid_api_key' } } },
    ]);
    const error = await expectError(client.complete(request()), 'llm_auth');
    expect(error.message).toMatch(/refused the API key .*— check OPENAI_API_KEY$/);
    expect(error.message).toContain('[REDACTED]');
    expect(llm.requests).toHaveLength(1);
  });

  it('maps 403 to llm_auth', async () => {
    const { client } = await setup([{ status: 403 }]);
    await expectError(client.complete(request()), 'llm_auth');
  });

  it('maps context-length errors to context_overflow', async () => {
    const { client } = await setup([
      { status: 400, body: { error: { message: 'too long', code: 'context_length_exceeded' } } },
      { status: 400, body: { error: { message: "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens." } } },
    ]);
    await expectError(client.complete(request()), 'context_overflow');
    await expectError(client.complete(request()), 'context_overflow');
  });

  it("maps other 400s to llm_bad_request with the server's message, also from vLLM-style bodies", async () => {
    const { llm, client } = await setup([
      { status: 400, body: { error: { message: 'tools[0].function.name is invalid' } } },
      { status: 422, body: { object: 'error', message: 'messages: field required', type: 'BadRequestError', code: 422 } },
      { status: 400, body: { error: 'plain string error' } },
    ]);
    expect((await expectError(client.complete(request()), 'llm_bad_request')).message).toBe(
      `${llm.baseURL} rejected the request (400): tools[0].function.name is invalid`,
    );
    expect((await expectError(client.complete(request()), 'llm_bad_request')).message).toContain('messages: field required');
    expect((await expectError(client.complete(request()), 'llm_bad_request')).message).toContain('plain string error');
    expect(llm.requests).toHaveLength(3);
  });
});

describe('openai client: cancellation', () => {
  it('stops a request that hangs as soon as the signal fires', async () => {
    const { llm, client } = await setup([{ hang: true }]);
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 100);
    await expectError(client.complete(request({ signal: controller.signal })), 'cancelled');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(llm.requests).toHaveLength(1);
  });

  it('stops during a stream and during a backoff wait', async () => {
    const { client } = await setup([{ text: 'a long slow answer', chunkSize: 1, chunkDelayMs: 50 }]);
    const controller = new AbortController();
    const deltas: string[] = [];
    const pending = client.complete(request({ signal: controller.signal }), {
      onTextDelta: (delta) => {
        deltas.push(delta);
        if (deltas.length === 3) controller.abort();
      },
    });
    await expectError(pending, 'cancelled');
    expect(deltas.length).toBeLessThan(6);

    // A real (not injected) sleep of 30 s, cut short by the signal.
    const { client: waiting } = await setup([{ status: 429, headers: { 'retry-after': '30' } }], {}, { sleep: undefined });
    const backoff = new AbortController();
    const started = Date.now();
    const retrying = waiting.complete(request({ signal: backoff.signal }), { onRetry: () => setTimeout(() => backoff.abort(), 50) });
    await expectError(retrying, 'cancelled');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses at once when the signal has already fired', async () => {
    const { llm, client } = await setup([{ text: 'never' }]);
    await expectError(client.complete(request({ signal: AbortSignal.abort() })), 'cancelled');
    expect(llm.requests).toHaveLength(0);
  });

  it('passes an error thrown by a callback through unchanged', async () => {
    const { llm, client } = await setup([{ text: 'some text' }, { text: 'never' }]);
    const boom = new Error('consumer failed');
    await expect(client.complete(request(), { onTextDelta: () => { throw boom; } })).rejects.toBe(boom);
    expect(llm.requests).toHaveLength(1);
  });
});

describe('openai client: construction', () => {
  it('asks for OPENAI_API_KEY when the key is empty', () => {
    expect(() => createOpenAiClient({ apiKey: '' })).toThrow(AutocoderError);
    expect(() => createOpenAiClient({ apiKey: '' })).toThrow(/OPENAI_API_KEY/);
  });
});
