/** `autocoder run --max-tokens / --max-cost` as a child process: the end reason and exit code, cost in the json, bad usage refused. */
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runNodeChild } from '../helpers/child.js';
import { startScriptedLlm } from '../helpers/scripted-llm-server.js';
import { makeTempDir, makeTempRepo } from '../helpers/temp-repo.js';

const BIN = resolve('bin/autocoder.js');
const KEY = 'sk-cli-budget-secret-0123456789abcdef';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup() {
  const llm = await startScriptedLlm((_request, index) => ({
    toolCalls: [{ name: 'write_file', arguments: { path: `note-${index + 1}.md`, content: 'note\n' } }],
    usage: { prompt_tokens: 900, completion_tokens: 100 },
  }));
  const repo = await makeTempRepo({ 'README.md': '# notes\n' });
  const dataDir = await makeTempDir('autocoder-cli-budgets-');
  cleanups.push(() => llm.close(), () => repo.cleanup());
  const env = { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: llm.baseURL, AUTOCODER_MODEL: 'scripted-model', AUTOCODER_DATA_DIR: dataDir };
  const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) => runNodeChild([BIN, 'run', ...args], { cwd: repo.root, env: { ...env, ...extra }, input: '' });
  return { llm, cli };
}

describe('autocoder run with budgets', () => {
  it('--max-tokens ends the run: exit 1, reason max_tokens, usage with the cost when prices are set', async () => {
    const { llm, cli } = await setup();
    const out = await cli(['--max-tokens', '1500', '-o', 'json', 'write notes'], { AUTOCODER_PRICE_PER_MTOK_INPUT: '2', AUTOCODER_PRICE_PER_MTOK_OUTPUT: '8' });
    expect(out.code).toBe(1);
    const result = JSON.parse(out.stdout);
    expect(result).toMatchObject({ reason: 'max_tokens', steps: 2, usage: { promptTokens: 1_800, completionTokens: 200, totalTokens: 2_000 } });
    expect(result.usage.costUsd).toBeCloseTo(0.0052, 10);
    expect(result.summary).toBe('Stopped after using 2,000 tokens of its 1,500-token budget, before the work was finished.');
    expect(llm.requests).toHaveLength(2);
  });

  it('--max-cost ends the run with max_cost; the text output says so on its last line', async () => {
    const { cli } = await setup();
    const out = await cli(['--max-cost', '0.005', 'write notes'], { AUTOCODER_PRICE_PER_MTOK_INPUT: '2', AUTOCODER_PRICE_PER_MTOK_OUTPUT: '8' });
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/■ max_cost after 2 steps · 2 files changed · 2,000 tokens \(\$0\.0052\)/);
    expect(out.stdout).toContain('Stopped after using $0.0052 of its $0.005 cost budget');
  });

  it('refuses a bad budget with one readable line and exit code 2, calling no model', async () => {
    const { llm, cli } = await setup();
    const bad = await cli(['--max-tokens', 'ten', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--max-tokens must be a positive whole number, got "ten"/);
    const noPrices = await cli(['--max-cost', '1', 'x']);
    expect(noPrices.code).toBe(2);
    expect(noPrices.stderr.trim()).toBe(
      "autocoder: a cost budget needs the model's prices: set AUTOCODER_PRICE_PER_MTOK_INPUT and AUTOCODER_PRICE_PER_MTOK_OUTPUT (USD per million tokens)",
    );
    const onePrice = await cli(['x'], { AUTOCODER_PRICE_PER_MTOK_INPUT: '2' });
    expect(onePrice.code).toBe(2);
    expect(onePrice.stderr).toMatch(/AUTOCODER_PRICE_PER_MTOK_OUTPUT/);
    expect(llm.requests).toHaveLength(0);
  });
});
