/**
 * The autocoder SDK: the coding agent inside your own program, on a local repository.
 *
 * ```ts
 * import { query } from 'autocoder';
 *
 * for await (const message of query('Fix the failing test', { cwd: '/path/to/repo' })) {
 *   if (message.type === 'tool_call') process.stderr.write(`→ ${message.name}\n`);
 *   if (message.type === 'result') process.stdout.write(`${message.reason}: ${message.summary}\n${message.diff}`);
 * }
 * ```
 *
 * The agent edits files in `cwd` and leaves the changes there; nothing is committed or pushed.
 * Nothing happens on import: the environment is read when a run starts, and each run opens
 * (and closes) its own model client and session store, so runs in one process are independent.
 *
 * @packageDocumentation
 */
import type { RunEvent } from '../engine/events.js';
import { toSdkMessage, type SdkMessage } from './messages.js';
import type { AutoCodeOptions } from './options.js';
import type { RunResult } from './result.js';
import { execute, streamRun } from './run.js';

export { AutocoderError, type ErrorCode } from '../engine/errors.js';
export type { EndReason, FileChange, RunEvent, Usage } from '../engine/events.js';
export type { AssistantMessage, ResultMessage, SdkMessage, ToolCallMessage, ToolResultMessage } from './messages.js';
export type { AutoCodeOptions } from './options.js';
export type { AttemptOutcome, RunResult } from './result.js';

/**
 * Runs the agent and yields its transcript as it happens: `assistant` text, each `tool_call`
 * and its `tool_result`, and last a `result` with everything {@link querySync} returns.
 *
 * The run starts when you start iterating. Stopping early (`break`, `return`) cancels it:
 * the model request and any command in flight are stopped, and the loop exits once they are.
 * An error that keeps the run from starting (`missing_api_key`, `config_invalid` for a bad
 * `cwd` or option) is thrown from the loop as an {@link AutocoderError}; a run that starts
 * always ends with a `result`, whose `reason` says how it went.
 *
 * @param prompt - what to do, in words
 * @param options - model, repository, session, budgets, endpoint, cancellation
 */
export function query(prompt: string, options: AutoCodeOptions = {}): AsyncIterable<SdkMessage> {
  return streamRun<SdkMessage>(prompt, options, toSdkMessage, (result) => ({ type: 'result', ...result }));
}

/**
 * Runs the agent to the end and resolves with the result: summary, changed files, the diff,
 * tokens used, the session id to continue with, and why it ended.
 *
 * Rejects, with an {@link AutocoderError}, only when the run cannot start (`missing_api_key`,
 * `config_invalid`). A run that fails, runs out of budget or is cancelled through
 * `options.signal` resolves, with `reason` (`failed`, `max_steps`, `max_time`, `max_tokens`, `max_cost`, `cancelled`)
 * and, for a failure, `error`.
 *
 * @param prompt - what to do, in words
 * @param options - model, repository, session, budgets, endpoint, cancellation
 */
export function querySync(prompt: string, options: AutoCodeOptions = {}): Promise<RunResult> {
  return execute(prompt, options);
}

/**
 * Runs the agent and yields every engine event, typed and in `seq` order, exactly as
 * `autocoder run --output stream-json` prints them: `started`, `step`, `model_text`,
 * `tool_call`, `tool_result`, `file_changed`, `usage`, `retry`, `compacted`, `error`, and
 * last `finished`. Starting, stopping early and errors behave as in {@link query}.
 *
 * @param prompt - what to do, in words
 * @param options - model, repository, session, budgets, endpoint, cancellation
 */
export function modifyCodeStream(prompt: string, options: AutoCodeOptions = {}): AsyncIterable<RunEvent> {
  return streamRun<RunEvent>(prompt, options, (event) => event);
}
