import type { ChatMessage } from './llm.js';

/** A rough token estimate (4 characters a token) — good enough to decide when to compact. */
export function estimateTokens(messages: ChatMessage[], extraChars = 0): number {
  let chars = extraChars;
  for (const message of messages) {
    chars += 16;
    if (message.content) chars += message.content.length;
    if (message.role === 'assistant' && message.tool_calls) {
      for (const call of message.tool_calls) chars += call.name.length + call.arguments.length + 16;
    }
  }
  return Math.ceil(chars / 4);
}

const COMPACTED_PREFIX = '[compacted:';
/** Tool outputs shorter than this are not worth compacting. */
const MIN_COMPACT_CHARS = 400;
const KEPT_PREVIEW_CHARS = 160;

export interface CompactionResult {
  messages: number;
  removedChars: number;
}

/**
 * Replaces the text of old tool outputs with a short note that says what was removed, keeping the
 * newest `keepRecent` messages whole. The conversation keeps its shape (every tool call still has
 * its result), so the model knows a result existed and can ask for it again.
 */
export function compactToolOutputs(messages: ChatMessage[], keepRecent: number): CompactionResult {
  let count = 0;
  let removedChars = 0;
  const limit = Math.max(0, messages.length - keepRecent);
  for (let i = 0; i < limit; i++) {
    const message = messages[i];
    if (message.role !== 'tool') continue;
    if (message.content.startsWith(COMPACTED_PREFIX) || message.content.length < MIN_COMPACT_CHARS) continue;
    const original = message.content;
    const preview = original.slice(0, KEPT_PREVIEW_CHARS).replace(/\s+$/, '');
    const note = `${COMPACTED_PREFIX} ${original.length} characters of this tool output were removed to save context; call the tool again if you need them. It began with:]\n${preview}`;
    messages[i] = { ...message, content: note };
    removedChars += original.length - note.length;
    count++;
  }
  return { messages: count, removedChars };
}

/**
 * Keeps the estimated size of the conversation under `ratio` of the context window by compacting
 * old tool outputs, newest last. Returns what was compacted, or undefined when nothing had to be.
 */
export function fitContext(
  messages: ChatMessage[],
  contextTokens: number,
  fixedChars: number,
  ratio = 0.7,
): CompactionResult | undefined {
  const budget = contextTokens * ratio;
  if (estimateTokens(messages, fixedChars) <= budget) return undefined;
  const total: CompactionResult = { messages: 0, removedChars: 0 };
  for (const keep of [12, 6, 2, 0]) {
    const step = compactToolOutputs(messages, keep);
    total.messages += step.messages;
    total.removedChars += step.removedChars;
    if (estimateTokens(messages, fixedChars) <= budget) break;
  }
  return total.messages > 0 ? total : undefined;
}
