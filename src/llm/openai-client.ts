/**
 * `LlmClient` over the openai SDK, for any OpenAI-compatible chat-completions endpoint.
 *
 * We retry ourselves (the SDK gets `maxRetries: 0`) so that every retry is visible to the
 * run through `onRetry`, and so that a stream that breaks half-way is retried too, which the
 * SDK never does. The SDK never reads the environment here: every option it would take from
 * `OPENAI_*` variables is passed explicitly, so `src/main.ts` stays the one place that does.
 */
import OpenAI, { APIConnectionTimeoutError } from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import { AutocoderError } from '../engine/errors.js';
import { createRedactor } from '../util/redact.js';
import type { ChatMessage, LlmCallbacks, LlmClient, LlmRequest, LlmResponse, ToolSpec } from '../engine/llm.js';
import { classifyFailure, exhaustedError, IdleTimeoutError, StreamBrokenError } from './openai-errors.js';
import { StreamAssembler } from './stream-assembler.js';

export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';

export interface OpenAiClientOptions {
  apiKey: string;
  /** Default OpenAI's. Never read from the environment here. */
  baseURL?: string;
  /** Longest wait for the answer to start, and then between two pieces of the stream. */
  timeoutMs?: number;
  /** Retries after the first attempt for transient failures (429, 5xx, network, broken stream). */
  maxRetries?: number;
  /** First backoff delay; doubled each retry, with jitter. */
  retryBaseMs?: number;
  /** Cap on any delay, including one a server asks for with `retry-after`. */
  maxRetryDelayMs?: number;
  /** Waits between attempts; injectable so tests need not really wait. */
  sleep?: (ms: number) => Promise<void>;
}

const silentLogger = { error() {}, warn() {}, info() {}, debug() {} };

export function createOpenAiClient(options: OpenAiClientOptions): LlmClient {
  const {
    apiKey,
    timeoutMs = 120_000,
    maxRetries = 4,
    retryBaseMs = 500,
    maxRetryDelayMs = 30_000,
    sleep = defaultSleep,
  } = options;
  const baseURL = (options.baseURL || DEFAULT_OPENAI_BASE_URL).replace(/\/+$/, '');
  if (!apiKey) {
    // Local servers ignore the key, but the SDK (and OpenAI) need one: say which key to set.
    throw new AutocoderError(
      'missing_api_key',
      "OPENAI_API_KEY is not set. Set it to your provider's API key (any value works for a local server such as Ollama or vLLM), and OPENAI_BASE_URL to the endpoint when it is not OpenAI.",
    );
  }
  const sdk = new OpenAI({
    apiKey,
    baseURL,
    organization: null,
    project: null,
    adminAPIKey: null,
    webhookSecret: null,
    timeout: timeoutMs,
    maxRetries: 0,
    // At debug level the SDK prints request bodies; an explicit level wins over OPENAI_LOG.
    logLevel: 'off',
    logger: silentLogger,
    fetch: fetchWithReadableErrors,
  });
  // Learned once per client: servers that refuse `stream_options` refuse it every time.
  let sendStreamOptions = true;

  async function attempt(request: LlmRequest, callbacks: LlmCallbacks): Promise<LlmResponse> {
    const controller = new AbortController();
    const cancel = () => controller.abort();
    request.signal?.addEventListener('abort', cancel, { once: true });
    let idle = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        idle = true;
        controller.abort();
      }, timeoutMs);
    };
    arm();
    const assembler = new StreamAssembler(callbacks.onTextDelta);
    try {
      const { data: stream, response } = await sdk.chat.completions.create(buildParams(request, sendStreamOptions), { signal: controller.signal }).withResponse();
      // A web page with status 200 (a base URL that is a site, a proxy's login page) holds no events:
      // asking again gets the same page, so it is said at once, with the setting that fixes it.
      if (/^\s*text\/html/i.test(response.headers.get('content-type') ?? '')) {
        throw new AutocoderError(
          'llm_bad_response',
          `${baseURL} answered with a web page (text/html), not a stream of chat-completion events — check OPENAI_BASE_URL (it usually ends in /v1)`,
        );
      }
      const iterator = stream[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<ChatCompletionChunk>;
        try {
          next = await iterator.next();
        } catch (error) {
          if (controller.signal.aborted) break;
          throw new StreamBrokenError(errorText(error), assembler.completedToolCalls, { cause: error });
        }
        if (next.done) break;
        arm();
        // Outside the try above: an error thrown by onTextDelta is the caller's, not a broken stream.
        assembler.push(next.value);
      }
      // The SDK ends an aborted stream quietly, so why it ended is decided here.
      if (request.signal?.aborted) throw cancelled();
      if (idle) {
        if (assembler.chunks === 0) throw new IdleTimeoutError(timeoutMs);
        throw new StreamBrokenError(new IdleTimeoutError(timeoutMs).message, assembler.completedToolCalls);
      }
      if (assembler.chunks === 0) throw new StreamBrokenError('the answer ended before any data', 0);
      return assembler.result();
    } catch (error) {
      if (request.signal?.aborted) throw cancelled();
      // Our timer and the SDK's (headers only) measure the same wait: report both the same way.
      const timedOut = (idle && !(error instanceof StreamBrokenError)) || error instanceof APIConnectionTimeoutError;
      if (timedOut && !(error instanceof IdleTimeoutError)) throw new IdleTimeoutError(timeoutMs);
      throw error;
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', cancel);
      controller.abort();
    }
  }

  return {
    async complete(request: LlmRequest, callbacks: LlmCallbacks = {}): Promise<LlmResponse> {
      if (request.signal?.aborted) throw cancelled();
      let failures = 0;
      for (;;) {
        try {
          return await attempt(request, callbacks);
        } catch (error) {
          if (request.signal?.aborted) throw cancelled();
          const failure = classifyFailure(error, { baseURL, model: request.model, sentStreamOptions: sendStreamOptions });
          if (failure.kind === 'foreign') throw error;
          if (failure.kind === 'fatal') throw redact(failure.error, apiKey);
          if (failure.kind === 'drop_stream_options') {
            sendStreamOptions = false;
            continue;
          }
          failures += 1;
          if (failures > maxRetries || !failure.retry) throw redact(exhaustedError(failure, failures, baseURL), apiKey);
          const delayMs = Math.round(
            failure.retryAfterMs !== undefined
              ? Math.min(failure.retryAfterMs, maxRetryDelayMs)
              : backoff(failures, retryBaseMs, maxRetryDelayMs),
          );
          callbacks.onRetry?.({ attempt: failures, delayMs, reason: redactText(failure.reason, apiKey) });
          await abortableSleep(sleep, delayMs, request.signal);
        }
      }
    },
  };
}

function buildParams(request: LlmRequest, sendStreamOptions: boolean): ChatCompletionCreateParamsStreaming {
  return {
    model: request.model,
    messages: request.messages.map(toSdkMessage),
    // Some servers reject an empty list, and there is nothing to offer anyway.
    ...(request.tools.length > 0 ? { tools: request.tools.map(toSdkTool) } : {}),
    stream: true,
    ...(sendStreamOptions ? { stream_options: { include_usage: true } } : {}),
  };
}

function toSdkTool(tool: ToolSpec): ChatCompletionTool {
  return { type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.parameters } };
}

function toSdkMessage(message: ChatMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case 'system':
    case 'user':
      return { role: message.role, content: message.content };
    case 'tool':
      return { role: 'tool', tool_call_id: message.tool_call_id, content: message.content };
    case 'assistant':
      return {
        role: 'assistant',
        content: message.content,
        // An empty `tool_calls` array is refused by several servers.
        ...(message.tool_calls && message.tool_calls.length > 0
          ? {
              tool_calls: message.tool_calls.map((call) => ({
                id: call.id,
                type: 'function' as const,
                function: { name: call.name, arguments: call.arguments },
              })),
            }
          : {}),
      };
  }
}

/** Exponential backoff with up to 25 % jitter taken off, so clients that failed together spread out. */
function backoff(failures: number, baseMs: number, maxMs: number): number {
  const raw = Math.min(maxMs, baseMs * 2 ** (failures - 1));
  return raw * (1 - Math.random() * 0.25);
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A cancel during a backoff wait must not wait for the backoff to end. */
function abortableSleep(sleep: (ms: number) => Promise<void>, ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return sleep(ms);
  if (signal.aborted) return Promise.reject(cancelled());
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(cancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    sleep(ms).then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function cancelled(): AutocoderError {
  return new AutocoderError('cancelled', 'the model call was cancelled');
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}

function redactText(text: string, secret: string): string {
  return createRedactor([secret])(text);
}

/** Servers sometimes echo what they were sent; the key must not reach a log or a comment. */
function redact(error: AutocoderError, secret: string): AutocoderError {
  const message = redactText(error.message, secret);
  if (message === error.message) return error;
  return new AutocoderError(error.code, message, { retryable: error.retryable });
}

/**
 * The SDK finds the server's message only under `{ error: { message } }`. vLLM answers with
 * `{ message, type, code }` at the top level and some servers with `{ error: "text" }`; without
 * this the user would read "400 status code (no body)".
 */
async function fetchWithReadableErrors(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const response = await fetch(input, init);
  if (response.ok) return response;
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  let normalized = text;
  if (body && typeof body === 'object') {
    const record = body as Record<string, unknown>;
    if (typeof record.error === 'string') normalized = JSON.stringify({ ...record, error: { message: record.error } });
    else if (record.error === undefined && typeof record.message === 'string') normalized = JSON.stringify({ error: record });
  }
  const headers = new Headers(response.headers);
  // The body was decoded and may have changed length.
  headers.delete('content-encoding');
  headers.delete('content-length');
  return new Response(normalized, { status: response.status, statusText: response.statusText, headers });
}
