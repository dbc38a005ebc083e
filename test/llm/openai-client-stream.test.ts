import { describe, expect, it } from 'vitest';
import type { ChatMessage, ToolSpec } from '../../src/engine/llm.js';
import { API_KEY, expectError, request, setup } from './setup.js';

const readFileTool: ToolSpec = {
  name: 'read_file',
  description: 'Read a file',
  parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
};

describe('openai client: streaming', () => {
  it('assembles text streamed in pieces and reports each piece', async () => {
    const text = 'The quick brown fox jumps over the lazy dog — ünïcödé 🦊 included.';
    const { llm, client } = await setup([{ text, chunkSize: 5 }]);
    const deltas: string[] = [];
    const response = await client.complete(request(), { onTextDelta: (delta) => deltas.push(delta) });

    expect(response.text).toBe(text);
    expect(response.toolCalls).toEqual([]);
    expect(response.finishReason).toBe('stop');
    expect(deltas.length).toBeGreaterThan(5);
    expect(deltas.join('')).toBe(text);

    const body = llm.requests[0].body;
    expect(body.stream).toBe(true);
    expect(body.stream_options).toEqual({ include_usage: true });
    expect(body.model).toBe('test-model');
    expect(body.messages).toEqual([{ role: 'user', content: 'hello' }]);
    expect('tools' in body).toBe(false);
  });

  it('assembles two tool calls whose arguments are split mid-string across chunks', async () => {
    const first = { path: 'src/some "quoted" file.ts' };
    const second = { path: 'README.md', note: 'line1\nline2' };
    const { llm, client } = await setup([
      {
        text: 'Reading two files.',
        chunkSize: 3,
        toolCalls: [
          { name: 'read_file', arguments: first, id: 'call_a' },
          { name: 'read_file', arguments: second },
        ],
      },
    ]);
    const response = await client.complete(request({ tools: [readFileTool] }));

    expect(response.text).toBe('Reading two files.');
    expect(response.finishReason).toBe('tool_calls');
    expect(response.toolCalls).toHaveLength(2);
    expect(response.toolCalls[0]).toEqual({ id: 'call_a', name: 'read_file', arguments: JSON.stringify(first) });
    expect(response.toolCalls[1]).toEqual({ id: 'call_1_2', name: 'read_file', arguments: JSON.stringify(second) });
    expect(llm.requests[0].body.tools).toEqual([
      { type: 'function', function: { name: 'read_file', description: 'Read a file', parameters: readFileTool.parameters } },
    ]);
  });

  it('passes arguments that are not valid JSON through unchanged', async () => {
    const broken = '{"path": "a.ts", "content": "unterminated';
    const { client } = await setup([{ toolCalls: [{ name: 'write_file', arguments: broken }] }]);
    const response = await client.complete(request());
    expect(response.toolCalls[0].arguments).toBe(broken);
  });

  it('takes usage from the usage chunk', async () => {
    const { client } = await setup([{ text: 'ok', usage: { prompt_tokens: 1234, completion_tokens: 56 } }]);
    const response = await client.complete(request());
    expect(response.usage).toEqual({ promptTokens: 1234, completionTokens: 56, totalTokens: 1290 });
  });

  it('drops stream_options once for a server that refuses it, and reports zero usage', async () => {
    const { llm, client, sleeps } = await setup([{ text: 'one' }, { text: 'two' }], { rejectStreamOptions: true });
    const retries: unknown[] = [];
    const first = await client.complete(request(), { onRetry: (info) => retries.push(info) });
    expect(first.text).toBe('one');
    expect(first.usage).toEqual({ promptTokens: 0, completionTokens: 0, totalTokens: 0 });
    expect(llm.requests).toHaveLength(2);
    expect(llm.requests[0].body.stream_options).toBeDefined();
    expect(llm.requests[1].body.stream_options).toBeUndefined();
    expect(retries).toEqual([]);
    expect(sleeps).toEqual([]);

    // Remembered for the next turn: no wasted request.
    const second = await client.complete(request());
    expect(second.text).toBe('two');
    expect(llm.requests).toHaveLength(3);
  });

  it('copes with servers that split or repeat ids and names, omit index or id, and put usage on the last chunk', async () => {
    const chunk = (delta: unknown, extra: Record<string, unknown> = {}) => ({
      id: 'x',
      object: 'chat.completion.chunk',
      created: 0,
      model: 'm',
      choices: [{ index: 0, delta, finish_reason: null }],
      ...extra,
    });
    const { client } = await setup([
      {
        chunks: [
          chunk({ role: 'assistant' }),
          chunk({ tool_calls: [{ index: 0, id: 'call_', type: 'function', function: { name: 'read_', arguments: '{"pa' } }] }),
          chunk({ tool_calls: [{ index: 0, id: 'xyz', function: { name: 'file', arguments: 'th":"a"}' } }] }),
          // No index, repeated full id and name in every piece (some proxies do this).
          chunk({ tool_calls: [{ id: 'call_2', type: 'function', function: { name: 'list_files', arguments: '{' } }] }),
          chunk({ tool_calls: [{ id: 'call_2', function: { name: 'list_files', arguments: '}' } }] }),
          // No id at all.
          chunk({ tool_calls: [{ index: 2, type: 'function', function: { name: 'finish', arguments: '{}' } }] }),
          {
            ...chunk({}),
            choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }],
            usage: { prompt_tokens: 10, completion_tokens: 3 },
          },
        ],
      },
    ]);
    const response = await client.complete(request());
    expect(response.toolCalls.map(({ name, arguments: args }) => [name, args])).toEqual([
      ['read_file', '{"path":"a"}'],
      ['list_files', '{}'],
      ['finish', '{}'],
    ]);
    expect(response.toolCalls[0].id).toBe('call_xyz');
    expect(response.toolCalls[1].id).toBe('call_2');
    expect(response.toolCalls[2].id).toMatch(/^call_.+/);
    expect(response.usage).toEqual({ promptTokens: 10, completionTokens: 3, totalTokens: 13 });
    expect(response.finishReason).toBe('tool_calls');
  });

  it('returns an empty answer as empty', async () => {
    const { client } = await setup([{}]);
    const response = await client.complete(request());
    expect(response).toMatchObject({ text: '', toolCalls: [], finishReason: 'stop' });
  });

  it('sends the conversation in OpenAI form, tool calls included', async () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'You are a coder.' },
      { role: 'user', content: 'Fix it.' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', name: 'read_file', arguments: '{"path":"a"}' }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'file text' },
      { role: 'assistant', content: 'Done.', tool_calls: [] },
    ];
    const { llm, client } = await setup([{ text: 'ok' }]);
    await client.complete(request({ messages }));
    expect(llm.requests[0].body.messages).toEqual([
      { role: 'system', content: 'You are a coder.' },
      { role: 'user', content: 'Fix it.' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'read_file', arguments: '{"path":"a"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'file text' },
      { role: 'assistant', content: 'Done.' },
    ]);
  });

  it('sends the API key as a bearer token', async () => {
    const { llm, client } = await setup([{ text: 'ok' }]);
    await client.complete(request());
    expect(llm.requests[0].headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  it('retries a stream that breaks before any tool call is complete', async () => {
    const { llm, client, sleeps } = await setup([
      { text: 'this answer will be cut off half-way', dropAfterChunks: 3 },
      { text: 'second try' },
    ]);
    const retries: { attempt: number; reason: string }[] = [];
    const response = await client.complete(request(), { onRetry: (info) => retries.push(info) });
    expect(response.text).toBe('second try');
    expect(llm.requests).toHaveLength(2);
    expect(retries).toHaveLength(1);
    expect(retries[0].attempt).toBe(1);
    expect(retries[0].reason).toMatch(/stream broke/);
    expect(sleeps).toHaveLength(1);
  });

  it('does not retry a stream that breaks after a tool call was complete', async () => {
    const { llm, client } = await setup([
      {
        chunkSize: 2,
        toolCalls: [
          { name: 'read_file', arguments: { path: 'a' } },
          { name: 'read_file', arguments: { path: 'b' } },
        ],
        // role chunk + first call (1 + 6 pieces) + the start of the second
        dropAfterChunks: 9,
      },
      { text: 'never used' },
    ]);
    const error = await expectError(client.complete(request()), 'llm_server_error');
    expect(error.message).toMatch(/stream broke/);
    expect(llm.requests).toHaveLength(1);
  });

  it('treats silence in the middle of a stream as a broken stream', async () => {
    const { llm, client } = await setup([{ text: 'slow answer, slow answer', chunkDelayMs: 400 }], {}, { timeoutMs: 150, maxRetries: 0 });
    const error = await expectError(client.complete(request()), 'llm_server_error');
    expect(error.message).toMatch(/stream broke: no answer within 0\.15 s/);
    expect(llm.requests).toHaveLength(1);
  });
});
