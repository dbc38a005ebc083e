/**
 * A scripted OpenAI-compatible chat-completions server on 127.0.0.1, for tests of everything
 * that talks to a model: the LLM client, the agent loop, the CLI as a child process, the app
 * end to end. It speaks the real wire format (SSE chunks as OpenAI sends them) so that the
 * code under test runs exactly as it does against a real provider.
 *
 *   const llm = await startScriptedLlm([
 *     { toolCalls: [{ name: 'read_file', arguments: { path: 'README.md' } }] },
 *     { toolCalls: [{ name: 'finish', arguments: { summary: 'done' } }] },
 *   ]);
 *   // ... point the code at llm.baseURL, then look at llm.requests[1].body.messages
 *   await llm.close();
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedToolCall {
  name: string;
  /** Sent as JSON; a string is sent as it is (to test arguments that are not valid JSON). */
  arguments?: unknown;
  /** Default `call_<step>_<n>`, both counted from 1. */
  id?: string;
}

/** A normal answer: text and/or tool calls. */
export interface ReplyStep {
  text?: string;
  toolCalls?: ScriptedToolCall[];
  /** Default: prompt ≈ JSON length of the messages / 4, completion ≈ output length / 4. */
  usage?: { prompt_tokens: number; completion_tokens: number };
  /** Text and tool-call arguments are split into pieces of this many characters. Default 7. */
  chunkSize?: number;
  /** Wait before answering at all. */
  delayMs?: number;
  /** Wait between two streamed chunks (to cancel or time out mid-stream). */
  chunkDelayMs?: number;
  /** Default `tool_calls` when there are tool calls, else `stop`. */
  finishReason?: string;
  /** Destroy the connection after this many chunks: a stream that breaks half-way. */
  dropAfterChunks?: number;
}

/** An error answer, e.g. `{ status: 429, headers: { 'retry-after': '1' } }`. */
export interface ErrorStep {
  status: number;
  /** JSON body; a string is sent raw. Default `{ error: { message, type, code } }`. */
  body?: unknown;
  headers?: Record<string, string>;
  delayMs?: number;
}

/** Never answers: for timeouts and cancellation. */
export interface HangStep {
  hang: true;
}

/** Streams these objects verbatim as `data:` events: for servers that bend the format. */
export interface RawChunksStep {
  chunks: unknown[];
  /** Send `data: [DONE]` at the end. Default true. */
  done?: boolean;
}

export type ScriptStep = ReplyStep | ErrorStep | HangStep | RawChunksStep;

export interface RecordedRequest {
  method: string;
  path: string;
  /** The parsed JSON body: model, messages, tools, stream, stream_options... */
  body: any;
  headers: IncomingHttpHeaders;
}

export type Script = ScriptStep[] | ((request: RecordedRequest, index: number) => ScriptStep | Promise<ScriptStep>);

export interface ScriptedLlmOptions {
  /** Models accepted; another gets OpenAI's 404 `model_not_found`. Default: any model. */
  models?: string[];
  /** Answer 400 to any request with `stream_options`, as some older servers do. */
  rejectStreamOptions?: boolean;
}

export interface ScriptedLlm {
  /** `http://127.0.0.1:<port>/v1` */
  baseURL: string;
  /** Every chat-completions request, in order, including the ones answered with an error. */
  requests: RecordedRequest[];
  /** Steps of a static script not used yet (0 for a function script). */
  remaining(): number;
  close(): Promise<void>;
}

const DEFAULT_CHUNK_SIZE = 7;

/**
 * Starts the server. A static script is read live, so steps pushed onto the array later are
 * used too; the function form gets each request and the 0-based number of the step asked for.
 */
export async function startScriptedLlm(script: Script, options: ScriptedLlmOptions = {}): Promise<ScriptedLlm> {
  const requests: RecordedRequest[] = [];
  let stepsUsed = 0;

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, errorBody(`scripted LLM: ${String(error)}`, 'server_error'));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0].replace(/\/+$/, '');
    if (req.method === 'GET' && path === '/v1/models') {
      const ids = options.models ?? ['scripted-model'];
      sendJson(res, 200, { object: 'list', data: ids.map((id) => ({ id, object: 'model', created: 0, owned_by: 'scripted' })) });
      return;
    }
    if (req.method !== 'POST' || path !== '/v1/chat/completions') {
      sendJson(res, 404, errorBody(`scripted LLM: no route ${req.method} ${path}`, 'invalid_request_error'));
      return;
    }
    const raw = await readBody(req);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      sendJson(res, 400, errorBody('scripted LLM: the body is not valid JSON', 'invalid_request_error'));
      return;
    }
    const recorded: RecordedRequest = { method: req.method, path, body, headers: req.headers };
    requests.push(recorded);

    if (options.models && !options.models.includes(String(body.model))) {
      sendJson(res, 404, errorBody(`The model \`${String(body.model)}\` does not exist`, 'invalid_request_error', 'model_not_found'));
      return;
    }
    if (options.rejectStreamOptions && body.stream_options !== undefined) {
      sendJson(res, 400, errorBody('Unrecognized request argument supplied: stream_options', 'invalid_request_error'));
      return;
    }

    const index = stepsUsed++;
    let step: ScriptStep | undefined;
    if (typeof script === 'function') step = await script(recorded, index);
    else step = script[index];
    if (!step) {
      // `x-should-retry: false` so a retrying client fails at once rather than after its backoff.
      sendJson(res, 500, errorBody(exhaustedMessage(script as ScriptStep[], body), 'server_error'), { 'x-should-retry': 'false' });
      return;
    }
    await answer(step, recorded, index, res);
  }

  const listening = new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  await listening;
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    remaining: () => (typeof script === 'function' ? 0 : Math.max(0, script.length - stepsUsed)),
    close: () =>
      new Promise<void>((resolve) => {
        // Hanging answers and keep-alive sockets would hold close() open forever.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function answer(step: ScriptStep, request: RecordedRequest, index: number, res: ServerResponse): Promise<void> {
  if ('hang' in step) return; // the request stays open until the client gives up or close()
  if ('delayMs' in step && step.delayMs) await wait(step.delayMs);
  if ('status' in step) {
    const body = step.body ?? errorBody(`scripted error ${step.status}`, step.status >= 500 ? 'server_error' : 'invalid_request_error');
    if (typeof body === 'string') {
      res.writeHead(step.status, { 'content-type': 'text/plain', ...step.headers });
      res.end(body);
    } else sendJson(res, step.status, body, step.headers);
    return;
  }
  if ('chunks' in step) {
    startSse(res);
    for (const chunk of step.chunks) res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    if (step.done !== false) res.write('data: [DONE]\n\n');
    res.end();
    return;
  }
  const reply = normalizeReply(step, request, index);
  if (request.body.stream === true) await streamReply(step, reply, request, res);
  else sendJson(res, 200, completionObject(reply, request));
}

interface NormalizedReply {
  id: string;
  text: string;
  toolCalls: { id: string; name: string; arguments: string }[];
  finishReason: string;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

function normalizeReply(step: ReplyStep, request: RecordedRequest, index: number): NormalizedReply {
  const text = step.text ?? '';
  const toolCalls = (step.toolCalls ?? []).map((call, n) => ({
    id: call.id ?? `call_${index + 1}_${n + 1}`,
    name: call.name,
    arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments ?? {}),
  }));
  const output = text.length + toolCalls.reduce((sum, call) => sum + call.name.length + call.arguments.length, 0);
  const prompt = step.usage?.prompt_tokens ?? Math.ceil(JSON.stringify(request.body.messages ?? []).length / 4);
  const completion = step.usage?.completion_tokens ?? Math.max(1, Math.ceil(output / 4));
  return {
    id: `chatcmpl-scripted-${index + 1}`,
    text,
    toolCalls,
    finishReason: step.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
    usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
  };
}

/** The chunks in the order and shape OpenAI sends them. */
function chunksOf(step: ReplyStep, reply: NormalizedReply, request: RecordedRequest): unknown[] {
  const size = Math.max(1, step.chunkSize ?? DEFAULT_CHUNK_SIZE);
  const includeUsage = (request.body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  const base = {
    id: reply.id,
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model: String(request.body.model),
    system_fingerprint: 'fp_scripted',
  };
  const chunk = (delta: unknown, finishReason: string | null = null) => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  });
  const chunks: unknown[] = [chunk({ role: 'assistant', content: '', refusal: null })];
  for (const piece of split(reply.text, size)) chunks.push(chunk({ content: piece }));
  reply.toolCalls.forEach((call, index) => {
    chunks.push(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }));
    for (const piece of split(call.arguments, size)) {
      chunks.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
    }
  });
  chunks.push(chunk({}, reply.finishReason));
  if (includeUsage) chunks.push({ ...base, choices: [], usage: reply.usage });
  return chunks;
}

async function streamReply(step: ReplyStep, reply: NormalizedReply, request: RecordedRequest, res: ServerResponse): Promise<void> {
  startSse(res);
  const chunks = chunksOf(step, reply, request);
  for (const [n, chunk] of chunks.entries()) {
    if (res.destroyed) return; // the client went away (cancel, timeout)
    if (step.dropAfterChunks !== undefined && n >= step.dropAfterChunks) {
      res.socket?.destroy();
      return;
    }
    // Waiting for each write lets a later destroy() drop only what comes after it.
    await new Promise<void>((resolve) => res.write(`data: ${JSON.stringify(chunk)}\n\n`, () => resolve()));
    if (step.chunkDelayMs) await wait(step.chunkDelayMs);
  }
  res.end('data: [DONE]\n\n');
}

function completionObject(reply: NormalizedReply, request: RecordedRequest): unknown {
  return {
    id: reply.id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: String(request.body.model),
    system_fingerprint: 'fp_scripted',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: reply.text === '' && reply.toolCalls.length > 0 ? null : reply.text,
          refusal: null,
          ...(reply.toolCalls.length > 0
            ? {
                tool_calls: reply.toolCalls.map((call) => ({
                  id: call.id,
                  type: 'function',
                  function: { name: call.name, arguments: call.arguments },
                })),
              }
            : {}),
        },
        logprobs: null,
        finish_reason: reply.finishReason,
      },
    ],
    usage: reply.usage,
  };
}

function exhaustedMessage(script: ScriptStep[], body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages) ? (body.messages as { role?: string; content?: unknown }[]) : [];
  const last = messages.at(-1);
  const content = typeof last?.content === 'string' ? last.content.slice(0, 200) : '';
  return (
    `scripted LLM: the script is exhausted — it has ${script.length} steps and request ${script.length + 1} asked for another` +
    (last ? ` (last message, ${last.role}: ${JSON.stringify(content)})` : '')
  );
}

function errorBody(message: string, type: string, code: string | null = null) {
  return { error: { message, type, param: null, code } };
}

function startSse(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function split(text: string, size: number): string[] {
  // By code point, so a piece never ends inside a surrogate pair.
  const chars = Array.from(text);
  const pieces: string[] = [];
  for (let i = 0; i < chars.length; i += size) pieces.push(chars.slice(i, i + size).join(''));
  return pieces;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
