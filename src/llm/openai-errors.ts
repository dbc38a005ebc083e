/**
 * Sorting what went wrong with a chat-completions call: what is worth another attempt, and
 * how each failure reads to a user. Messages name the endpoint and the environment key that
 * fixes it, because the person reading them is usually configuring a new provider.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { AutocoderError } from '../engine/errors.js';

/** The body of an answer stopped before it was complete. */
export class StreamBrokenError extends Error {
  constructor(
    message: string,
    readonly completedToolCalls: number,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = 'StreamBrokenError';
  }
}

/** Our own timer fired: nothing arrived for `timeoutMs` (the SDK's timeout stops at the headers). */
export class IdleTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs / 1000} s`);
    this.name = 'IdleTimeoutError';
  }
}

export type TransientCode = 'llm_rate_limited' | 'llm_server_error' | 'llm_unreachable';

export type Failure =
  | { kind: 'fatal'; error: AutocoderError }
  /** The server does not know `stream_options`: send the request again without it. */
  | { kind: 'drop_stream_options' }
  | {
      kind: 'transient';
      code: TransientCode;
      reason: string;
      retryAfterMs?: number;
      /** False when the server said `x-should-retry: false`. */
      retry: boolean;
      cause: unknown;
    }
  /** Not a failure of the call (e.g. a callback threw): rethrow as it is. */
  | { kind: 'foreign' };

export interface FailureContext {
  baseURL: string;
  model: string;
  sentStreamOptions: boolean;
}

const CONTEXT_RE =
  /context[_ ]length|context window|maximum context|too many tokens|prompt is too long|input is too long|reduce the length|maximum (input|prompt) length/i;
const MODEL_RE =
  /model\b[^.]{0,80}?\b(does not exist|doesn't exist|not found|not exist|is not available|unknown)|unknown model|no such model|invalid model/i;
const STREAM_OPTIONS_RE = /stream_options|include_usage/i;

const CONNECTION_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed TLS certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate not trusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match the host',
};

function truncate(text: string, max = 400): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** The server's own words, without the SDK's "400 " prefix. */
export function serverMessage(error: APIError): string {
  const inner = (error.error as { message?: unknown } | undefined)?.message;
  const text = typeof inner === 'string' ? inner : error.message.replace(/^\d{3}\s+/, '');
  return truncate(text.trim() || `status ${error.status}`);
}

/** `retry-after-ms`, then `retry-after` in seconds or as an HTTP date; undefined when absent. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && Number.isFinite(Number.parseFloat(ms))) return Math.max(0, Number.parseFloat(ms));
  const after = headers?.get('retry-after');
  if (!after) return undefined;
  const seconds = Number(after.trim());
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** "connection refused" rather than "fetch failed": walk the cause chain for a system error code. */
export function describeConnectionError(error: unknown): string {
  let current: unknown = error;
  let fallback = '';
  for (let depth = 0; depth < 6 && current; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_CODES[code]) return CONNECTION_CODES[code];
    const inner = (current as { errors?: unknown[] }).errors;
    if (Array.isArray(inner) && inner.length > 0) {
      const described = describeConnectionError(inner[0]);
      if (described) return described;
    }
    const message = (current as { message?: unknown }).message;
    if (typeof message === 'string' && message && !/^(fetch failed|connection error\.?)$/i.test(message)) {
      fallback ||= message;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return truncate(fallback || 'connection failed', 200);
}

export function classifyFailure(error: unknown, ctx: FailureContext): Failure {
  const { baseURL, model } = ctx;
  if (error instanceof AutocoderError) return { kind: 'fatal', error };
  if (error instanceof IdleTimeoutError) {
    return { kind: 'transient', code: 'llm_unreachable', reason: error.message, retry: true, cause: error };
  }
  if (error instanceof StreamBrokenError) {
    if (CONTEXT_RE.test(error.message)) {
      return { kind: 'fatal', error: contextOverflow(model, error.message, error) };
    }
    const reason = `the stream broke: ${error.message}`;
    if (error.completedToolCalls > 0) {
      // Tool calls already complete would be asked for again and may come back different.
      return {
        kind: 'fatal',
        error: new AutocoderError('llm_server_error', `${baseURL}: ${reason} (after ${error.completedToolCalls} complete tool calls)`, {
          retryable: true,
          cause: error,
        }),
      };
    }
    return { kind: 'transient', code: 'llm_server_error', reason, retry: true, cause: error };
  }
  if (error instanceof APIConnectionTimeoutError) {
    return { kind: 'transient', code: 'llm_unreachable', reason: 'timed out', retry: true, cause: error };
  }
  if (error instanceof APIConnectionError) {
    return { kind: 'transient', code: 'llm_unreachable', reason: describeConnectionError(error), retry: true, cause: error };
  }
  if (!(error instanceof APIError) || error.status === undefined) return { kind: 'foreign' };

  const status = error.status;
  const message = serverMessage(error);
  const code = typeof error.code === 'string' ? error.code : '';
  const retry = error.headers?.get('x-should-retry') !== 'false';

  if (status === 429) {
    const after = retryAfterMs(error.headers);
    return { kind: 'transient', code: 'llm_rate_limited', reason: `rate limited (429): ${message}`, retryAfterMs: after, retry, cause: error };
  }
  if (status === 408 || status === 409 || status >= 500) {
    const after = retryAfterMs(error.headers);
    return { kind: 'transient', code: 'llm_server_error', reason: `server error (${status}): ${message}`, retryAfterMs: after, retry, cause: error };
  }
  if (status === 401 || status === 403) {
    return {
      kind: 'fatal',
      error: new AutocoderError('llm_auth', `the endpoint ${baseURL} refused the API key (${status}: ${message}) — check OPENAI_API_KEY`, { cause: error }),
    };
  }
  if (code === 'context_length_exceeded' || status === 413 || CONTEXT_RE.test(message)) {
    return { kind: 'fatal', error: contextOverflow(model, message, error) };
  }
  if (ctx.sentStreamOptions && (status === 400 || status === 422) && STREAM_OPTIONS_RE.test(message)) {
    return { kind: 'drop_stream_options' };
  }
  if (status === 404 || code === 'model_not_found' || MODEL_RE.test(message)) {
    // A 404 that says nothing of models is more often a base URL without `/v1`.
    const hint = MODEL_RE.test(message) || code === 'model_not_found' ? '' : '; if the model is right, check OPENAI_BASE_URL';
    return {
      kind: 'fatal',
      error: new AutocoderError(
        'model_not_found',
        `model '${model}' is not available at ${baseURL} (${status}: ${message}) — set --model or AUTOCODER_MODEL${hint}`,
        { cause: error },
      ),
    };
  }
  return {
    kind: 'fatal',
    error: new AutocoderError('llm_bad_request', `${baseURL} rejected the request (${status}): ${message}`, { cause: error }),
  };
}

function contextOverflow(model: string, message: string, cause: unknown): AutocoderError {
  return new AutocoderError('context_overflow', `the conversation is too long for model '${model}': ${truncate(message)}`, {
    retryable: false,
    cause,
  });
}

/** The error a caller sees once a transient failure has used up its attempts. */
export function exhaustedError(failure: Extract<Failure, { kind: 'transient' }>, attempts: number, baseURL: string): AutocoderError {
  const tries = attempts === 1 ? '1 attempt' : `${attempts} attempts`;
  const message =
    failure.code === 'llm_unreachable'
      ? `cannot reach ${baseURL}: ${failure.reason} — check OPENAI_BASE_URL (${tries})`
      : failure.code === 'llm_rate_limited'
        ? `${baseURL} is rate limiting requests, gave up after ${tries}: ${failure.reason}`
        : `${baseURL} failed, gave up after ${tries}: ${failure.reason}`;
  return new AutocoderError(failure.code, message, { retryable: true, cause: failure.cause });
}
