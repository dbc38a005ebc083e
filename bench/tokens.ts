/**
 * What every model call carries before the conversation: the system prompt and the tool
 * schemas, as the OpenAI client puts them on the wire. Counted as characters / 4 (no exact
 * tokenizer is a dependency of the project, and none is installed for this).
 */
import { createRequire } from 'node:module';
import { buildSystemPrompt } from '../src/engine/prompt.js';
import { toolSpecs } from '../src/engine/tools/index.js';
import type { Benchmark } from './lib/bench.js';
import type { Row } from './lib/table.js';

/** An exact tokenizer, when one happens to be installed (it is not a dependency). */
function exactTokenizer(): ((text: string) => number) | undefined {
  const require = createRequire(import.meta.url);
  for (const name of ['gpt-tokenizer', 'js-tiktoken', 'tiktoken']) {
    try {
      const mod = require(name) as Record<string, unknown>;
      if (name === 'gpt-tokenizer' && typeof mod.encode === 'function') return (text) => (mod.encode as (t: string) => unknown[])(text).length;
      if (typeof mod.encoding_for_model === 'function') {
        const enc = (mod.encoding_for_model as (m: string) => { encode(t: string): unknown[] })('gpt-4o');
        return (text) => enc.encode(text).length;
      }
    } catch {
      // not installed
    }
  }
  return undefined;
}

export const tokensBench: Benchmark = {
  name: 'tokens',
  description: 'tokens sent on every model call: system prompt + tool schemas',
  async run() {
    const system = buildSystemPrompt();
    // The shape the OpenAI client sends (`tools: [{ type: 'function', function: {...} }]`).
    const tools = JSON.stringify(toolSpecs().map((spec) => ({ type: 'function', function: spec })));
    const systemMessage = JSON.stringify({ role: 'system', content: system });
    const estimate = (text: string) => Math.ceil(text.length / 4);
    const exact = exactTokenizer();
    const count = (text: string) => (exact ? exact(text) : estimate(text));
    const how = exact ? 'exact tokenizer' : 'characters / 4; no tokenizer is installed';
    const total = count(system) + count(tools);
    const perTool = toolSpecs().map((spec) => ({ name: spec.name, tokens: count(JSON.stringify({ type: 'function', function: spec })) }));
    const rows: Row[] = [
      {
        id: 'tokens.fixed',
        bench: 'tokens',
        figure: 'tokens on every call: system prompt + tool schemas',
        value: total,
        shown: `${total} tokens`,
        target: 'reported, kept lean',
        note: `system prompt ${count(system)} tokens (${system.length} chars), 7 tool schemas ${count(tools)} tokens (${tools.length} chars), by ${how}; per tool: ${perTool.map((t) => `${t.name} ${t.tokens}`).join(', ')}`,
        details: { systemChars: system.length, systemMessageChars: systemMessage.length, toolsChars: tools.length, perTool, method: how },
      },
    ];
    return rows;
  },
};
