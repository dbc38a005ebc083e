/** The SDK's token and cost budgets: options validated, the run ended with the budget's reason, cost reported with usage. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { querySync } from '../../src/sdk/index.js';
import { KEY, buggyRepo, dataDir, scriptedLlm } from './fixtures.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

/** Writes a note every turn, 1,000 tokens an answer, and never finishes. */
const notes = (_request: unknown, index: number) => ({
  toolCalls: [{ name: 'write_file', arguments: { path: `note-${index + 1}.md`, content: `note ${index + 1}\n` } }],
  usage: { prompt_tokens: 900, completion_tokens: 100 },
});

describe('querySync with budgets', () => {
  it('maxTokens ends the run with reason max_tokens, the work so far left in cwd', async () => {
    const repo = await buggyRepo();
    const llm = await scriptedLlm(notes);
    const result = await querySync('write notes', { cwd: repo.root, apiKey: KEY, baseURL: llm.baseURL, dataDir: await dataDir(), maxTokens: 1_500 });
    expect(result.reason).toBe('max_tokens');
    expect(result.usage).toEqual({ promptTokens: 1_800, completionTokens: 200, totalTokens: 2_000 });
    expect(result.changedFiles.map((f) => f.path).sort()).toEqual(['note-1.md', 'note-2.md']);
    expect(llm.requests).toHaveLength(2);
  });

  it('with prices from the environment: usage.costUsd, and maxCostUsd ends the run with max_cost', async () => {
    const repo = await buggyRepo();
    const llm = await scriptedLlm(notes);
    vi.stubEnv('AUTOCODER_PRICE_PER_MTOK_INPUT', '2');
    vi.stubEnv('AUTOCODER_PRICE_PER_MTOK_OUTPUT', '8');
    const result = await querySync('write notes', { cwd: repo.root, apiKey: KEY, baseURL: llm.baseURL, dataDir: await dataDir(), maxCostUsd: 0.005 });
    expect(result.reason).toBe('max_cost');
    expect(result.usage.costUsd).toBeCloseTo(0.0052, 10);
  });

  it('AUTOCODER_MAX_TOKENS is the default; the option wins', async () => {
    const repo = await buggyRepo();
    const llm = await scriptedLlm(notes);
    vi.stubEnv('AUTOCODER_MAX_TOKENS', '1000');
    const byEnv = await querySync('write notes', { cwd: repo.root, apiKey: KEY, baseURL: llm.baseURL, dataDir: await dataDir() });
    expect(byEnv).toMatchObject({ reason: 'max_tokens', usage: { totalTokens: 1_000 } });
    const byOption = await querySync('write notes', { cwd: repo.root, apiKey: KEY, baseURL: llm.baseURL, dataDir: await dataDir(), maxTokens: 3_000 });
    expect(byOption).toMatchObject({ reason: 'max_tokens', usage: { totalTokens: 3_000 } });
  });

  it('rejects bad budgets with config_invalid naming the option or what to set, before any model call', async () => {
    const llm = await scriptedLlm(notes);
    const base = { apiKey: KEY, baseURL: llm.baseURL, dataDir: await dataDir() };
    await expect(querySync('x', { ...base, maxTokens: 0 })).rejects.toMatchObject({ code: 'config_invalid', message: 'invalid options: maxTokens: expected a positive whole number of tokens' });
    await expect(querySync('x', { ...base, maxTokens: 2.5 })).rejects.toMatchObject({ code: 'config_invalid', message: expect.stringContaining('maxTokens') });
    await expect(querySync('x', { ...base, maxCostUsd: -1 })).rejects.toMatchObject({ code: 'config_invalid', message: expect.stringContaining('maxCostUsd: expected a positive number of US dollars') });
    await expect(querySync('x', { ...base, maxCostUsd: 1 })).rejects.toMatchObject({
      code: 'config_invalid',
      message: expect.stringContaining('set AUTOCODER_PRICE_PER_MTOK_INPUT and AUTOCODER_PRICE_PER_MTOK_OUTPUT'),
    });
    vi.stubEnv('AUTOCODER_PRICE_PER_MTOK_INPUT', '2');
    await expect(querySync('x', base)).rejects.toMatchObject({ code: 'config_invalid', message: expect.stringContaining('AUTOCODER_PRICE_PER_MTOK_OUTPUT') });
    expect(llm.requests).toHaveLength(0);
  });
});
