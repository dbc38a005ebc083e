import type { RunEvent } from '../engine/events.js';
import type { RunResult } from './result.js';

/** The model's text of one turn (its reasoning aloud, or the final answer). */
export interface AssistantMessage {
  type: 'assistant';
  text: string;
  /** Best of N: which attempt said it (absent for a run of one attempt). */
  attempt?: number;
}

/** The model asked for a tool. */
export interface ToolCallMessage {
  type: 'tool_call';
  /** Pairs the call with its `tool_result`. */
  id: string;
  /** `list_files`, `read_file`, `search_code`, `edit_file`, `write_file`, `run_command` or `finish`. */
  name: string;
  /** The parsed arguments, or the raw text when the model's arguments were not valid JSON. */
  input: unknown;
  /** Best of N: which attempt called it; ids repeat across attempts. */
  attempt?: number;
}

/** What the tool gave back to the model. */
export interface ToolResultMessage {
  type: 'tool_result';
  id: string;
  name: string;
  /** False for a tool error (bad arguments, a path outside the tree, a command that failed). */
  ok: boolean;
  output: string;
  /** Best of N: which attempt's call this answers. */
  attempt?: number;
}

/** The last message of every run. */
export type ResultMessage = { type: 'result' } & RunResult;

/** One entry of a run's transcript, as `query` yields it. */
export type SdkMessage = AssistantMessage | ToolCallMessage | ToolResultMessage | ResultMessage;

/** The transcript's view of an engine event; undefined for bookkeeping events (steps, usage, retries). */
export function toSdkMessage(event: RunEvent): SdkMessage | undefined {
  const attempt = event.attempt ? { attempt: event.attempt } : {};
  switch (event.type) {
    case 'model_text':
      return { type: 'assistant', text: event.text, ...attempt };
    case 'tool_call':
      return { type: 'tool_call', id: event.callId, name: event.name, input: event.args, ...attempt };
    case 'tool_result':
      return { type: 'tool_result', id: event.callId, name: event.name, ok: event.ok, output: event.output, ...attempt };
    default:
      return undefined;
  }
}
