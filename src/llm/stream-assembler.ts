/**
 * Turns streamed chat-completion chunks into one model turn. Written against what
 * OpenAI-compatible servers really send, which is looser than the SDK's types: tool-call
 * `index` may be missing, `id` and `name` may be split or repeated in every piece, and usage
 * may come on its own choice-less chunk or on the last one.
 */
import { randomUUID } from 'node:crypto';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { LlmResponse, ToolCall } from '../engine/llm.js';

interface PartialCall {
  id: string;
  name: string;
  arguments: string;
}

type LooseToolCallDelta = {
  index?: number;
  id?: string | null;
  function?: { name?: string | null; arguments?: string | null } | null;
};

/** A repeated full value is ignored, a new piece is appended (servers do both). */
function mergePiece(current: string, piece: string | null | undefined): string {
  if (!piece) return current;
  if (current === '') return piece;
  if (piece === current) return current;
  return current + piece;
}

export class StreamAssembler {
  private text = '';
  private readonly calls = new Map<number, PartialCall>();
  private lastIndex = -1;
  private usage: ChatCompletionChunk['usage'] | undefined;
  private finishReason: string | null = null;
  /** Chunks seen; zero after a stream "ended" means it never really started. */
  chunks = 0;

  constructor(private readonly onTextDelta?: (delta: string) => void) {}

  /** Tool calls that can no longer change: every one before the latest, all of them once finished. */
  get completedToolCalls(): number {
    if (this.finishReason !== null) return this.calls.size;
    return Math.max(0, this.calls.size - 1);
  }

  push(chunk: ChatCompletionChunk): void {
    this.chunks += 1;
    if (chunk.usage) this.usage = chunk.usage;
    for (const choice of chunk.choices ?? []) {
      // We ask for one choice; a server that sends more gets its first one used.
      if (typeof choice.index === 'number' && choice.index !== 0) continue;
      const delta = choice.delta ?? {};
      if (typeof delta.content === 'string' && delta.content !== '') {
        this.text += delta.content;
        this.onTextDelta?.(delta.content);
      }
      for (const call of (delta.tool_calls ?? []) as LooseToolCallDelta[]) this.pushToolCall(call);
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
    }
  }

  private pushToolCall(delta: LooseToolCallDelta): void {
    let index: number;
    if (typeof delta.index === 'number') index = delta.index;
    else if (delta.id && this.calls.get(this.lastIndex)?.id !== delta.id) index = this.calls.size;
    else index = Math.max(this.lastIndex, 0);
    this.lastIndex = index;
    const call = this.calls.get(index) ?? { id: '', name: '', arguments: '' };
    call.id = mergePiece(call.id, delta.id);
    call.name = mergePiece(call.name, delta.function?.name);
    if (delta.function?.arguments) call.arguments += delta.function.arguments;
    this.calls.set(index, call);
  }

  result(): LlmResponse {
    const toolCalls: ToolCall[] = [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      // The engine pairs results with calls by id, so every call needs one.
      .map(([, call]) => ({ id: call.id || `call_${randomUUID()}`, name: call.name, arguments: call.arguments }));
    const promptTokens = this.usage?.prompt_tokens ?? 0;
    const completionTokens = this.usage?.completion_tokens ?? 0;
    return {
      text: this.text,
      toolCalls,
      usage: {
        promptTokens,
        completionTokens,
        totalTokens: this.usage?.total_tokens ?? promptTokens + completionTokens,
      },
      finishReason: this.finishReason,
    };
  }
}
