import { buildCommandEnv } from '../../src/engine/tools/command-env.js';
import { defaultTools, executeToolCall } from '../../src/engine/tools/index.js';
import type { ToolContext, ToolResult } from '../../src/engine/tools/types.js';

export interface RecordingContext extends ToolContext {
  changes: Array<[string, 'added' | 'modified' | 'deleted']>;
}

export function makeContext(root: string, overrides: Partial<ToolContext> = {}): RecordingContext {
  const changes: RecordingContext['changes'] = [];
  return {
    root,
    commandTimeoutMs: 20_000,
    commandMaxOutputBytes: 1024 * 1024,
    commandEnv: buildCommandEnv(process.env),
    onFileChanged: (rel, change) => changes.push([rel, change]),
    ...overrides,
    changes,
  };
}

/** Calls a tool the way the agent loop does: by name, with JSON arguments. */
export function call(context: ToolContext, name: string, args: unknown): Promise<ToolResult> {
  return executeToolCall(defaultTools, name, typeof args === 'string' ? args : JSON.stringify(args), context);
}
