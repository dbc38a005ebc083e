/**
 * What the engine needs from a language model: one chat-completion turn with tools.
 * Implemented over the openai SDK in `src/llm/`; the engine never imports a provider SDK.
 */
import type { Usage } from './events.js';

export interface ToolCall {
  id: string;
  name: string;
  /** The arguments exactly as the model produced them (JSON text, maybe invalid). */
  arguments: string;
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: ToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

export interface ToolSpec {
  name: string;
  description: string;
  /** JSON schema of the arguments object. */
  parameters: Record<string, unknown>;
}

export interface LlmRequest {
  model: string;
  messages: ChatMessage[];
  tools: ToolSpec[];
  signal?: AbortSignal;
}

export interface LlmResponse {
  text: string;
  toolCalls: ToolCall[];
  usage: Usage;
  finishReason: string | null;
}

export interface LlmCallbacks {
  /** A piece of the model's text as it streams in. */
  onTextDelta?: (delta: string) => void;
  /** The client is about to try again after a transient failure. */
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

export interface LlmClient {
  /**
   * One model turn. Throws AutocoderError: `llm_rate_limited` / `llm_server_error` /
   * `llm_unreachable` after retries, `model_not_found`, `llm_auth`, `context_overflow`,
   * `llm_bad_request`, or `cancelled` when the signal fires.
   */
  complete(request: LlmRequest, callbacks?: LlmCallbacks): Promise<LlmResponse>;
}
