/** Shared set-up for the LLM client tests: a scripted server per test, closed afterwards. */
import { afterEach, expect } from 'vitest';
import { AutocoderError, type ErrorCode } from '../../src/engine/errors.js';
import type { LlmRequest } from '../../src/engine/llm.js';
import { createOpenAiClient, type OpenAiClientOptions } from '../../src/llm/openai-client.js';
import { startScriptedLlm, type Script, type ScriptedLlm, type ScriptedLlmOptions } from '../helpers/scripted-llm-server.js';

export const API_KEY = 'sk-test-0123456789abcdef-secret';

const servers: ScriptedLlm[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

export async function setup(script: Script, serverOptions?: ScriptedLlmOptions, clientOptions: Partial<OpenAiClientOptions> = {}) {
  const llm = await startScriptedLlm(script, serverOptions);
  servers.push(llm);
  const sleeps: number[] = [];
  const client = createOpenAiClient({
    apiKey: API_KEY,
    baseURL: llm.baseURL,
    // Record the backoff instead of waiting it out.
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...clientOptions,
  });
  return { llm, client, sleeps };
}

export function request(overrides: Partial<LlmRequest> = {}): LlmRequest {
  return { model: 'test-model', messages: [{ role: 'user', content: 'hello' }], tools: [], ...overrides };
}

/** Awaits a rejection with this code, and checks the API key is nowhere in what a user would read. */
export async function expectError(promise: Promise<unknown>, code: ErrorCode): Promise<AutocoderError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected an AutocoderError '${code}', got a result`);
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AutocoderError);
  const autocoderError = error as AutocoderError;
  expect(autocoderError.code, autocoderError.message).toBe(code);
  expect(autocoderError.message).not.toContain(API_KEY);
  expect(String(autocoderError.stack)).not.toContain(API_KEY);
  return autocoderError;
}
