/**
 * The project's error family: every error a user can see has a stable `code`, a readable
 * message, and says whether trying again may help.
 */
export type ErrorCode =
  | 'config_invalid'
  | 'missing_api_key'
  | 'llm_unreachable'
  | 'llm_auth'
  | 'model_not_found'
  | 'llm_rate_limited'
  | 'llm_server_error'
  | 'llm_bad_request'
  | 'context_overflow'
  | 'llm_bad_response'
  | 'path_outside'
  | 'tool_failed'
  | 'git_failed'
  | 'push_rejected'
  | 'session_not_found'
  | 'cancelled'
  | 'internal';

export class AutocoderError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'AutocoderError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }

  /** Serialisable as `{ code, message, retryable }` (an Error's own fields are not enumerable). */
  toJSON(): { name: string; code: ErrorCode; message: string; retryable: boolean } {
    return { name: this.name, code: this.code, message: this.message, retryable: this.retryable };
  }
}

export function isAutocoderError(error: unknown): error is AutocoderError {
  return error instanceof AutocoderError;
}

/** Any thrown value as an AutocoderError, keeping ours as they are. */
export function toAutocoderError(error: unknown): AutocoderError {
  if (error instanceof AutocoderError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new AutocoderError('internal', message, { cause: error });
}
