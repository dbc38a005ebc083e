import { afterEach, describe, expect, it } from 'vitest';
import { startScriptedLlm, type ScriptedLlm } from '../helpers/scripted-llm-server.js';

const servers: ScriptedLlm[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function start(...args: Parameters<typeof startScriptedLlm>) {
  const server = await startScriptedLlm(...args);
  servers.push(server);
  return server;
}

/** Wire JSON, loosely typed: the shape is what these tests check. */
async function json(response: Response): Promise<any> {
  return response.json();
}

function post(baseURL: string, body: unknown) {
  return fetch(`${baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
    body: JSON.stringify(body),
  });
}

describe('scripted LLM server', () => {
  it('answers a non-streaming request with a chat.completion object', async () => {
    const llm = await start([{ text: 'hi', toolCalls: [{ name: 'finish', arguments: { summary: 's' } }], usage: { prompt_tokens: 3, completion_tokens: 2 } }]);
    const response = await post(llm.baseURL, { model: 'm', messages: [{ role: 'user', content: 'x' }] });
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body.object).toBe('chat.completion');
    expect(body.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: {
        role: 'assistant',
        content: 'hi',
        tool_calls: [{ id: 'call_1_1', type: 'function', function: { name: 'finish', arguments: '{"summary":"s"}' } }],
      },
    });
    expect(body.usage).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
  });

  it('streams in the OpenAI chunk format, usage only when asked for', async () => {
    const llm = await start([{ text: 'hello world' }, { text: 'again' }]);
    const withUsage = await (await post(llm.baseURL, { model: 'm', messages: [], stream: true, stream_options: { include_usage: true } })).text();
    const events = withUsage.split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event.replace(/^data: /, '')));
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('hello world');
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
    expect(chunks.at(-1).choices).toEqual([]);
    expect(chunks.at(-1).usage.total_tokens).toBeGreaterThan(0);

    const withoutUsage = await (await post(llm.baseURL, { model: 'm', messages: [], stream: true })).text();
    expect(withoutUsage).not.toContain('"usage"');
  });

  it('lists models and records requests with headers', async () => {
    const llm = await start([{ text: 'a' }], { models: ['one', 'two'] });
    const models = await json(await fetch(`${llm.baseURL}/models`));
    expect(models.data.map((model: { id: string }) => model.id)).toEqual(['one', 'two']);

    const missing = await post(llm.baseURL, { model: 'three', messages: [] });
    expect(missing.status).toBe(404);
    expect((await json(missing)).error).toMatchObject({ code: 'model_not_found', message: 'The model `three` does not exist' });
    expect(llm.requests).toHaveLength(1);
    expect(llm.requests[0].headers.authorization).toBe('Bearer k');
    expect(llm.remaining()).toBe(1);
  });

  it('gives a function script each request and its number', async () => {
    const seen: number[] = [];
    const llm = await start((req, index) => {
      seen.push(index);
      return { text: `echo ${req.body.messages[0].content}` };
    });
    const response = await post(llm.baseURL, { model: 'm', messages: [{ role: 'user', content: 'ping' }] });
    expect((await json(response)).choices[0].message.content).toBe('echo ping');
    expect(seen).toEqual([0]);
  });

  it('closes even while a request hangs', async () => {
    const llm = await start([{ hang: true }]);
    const pending = post(llm.baseURL, { model: 'm', messages: [] }).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await llm.close();
    expect(await pending).toBeInstanceOf(Error);
  });
});
