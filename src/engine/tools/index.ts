import { z } from 'zod';
import { isAutocoderError } from '../errors.js';
import type { ToolSpec } from '../llm.js';
import { truncateMiddle } from '../../util/text.js';
import { editFileTool } from './edit-file.js';
import { finishTool } from './finish.js';
import { listFilesTool } from './list-files.js';
import { readFileTool } from './read-file.js';
import { runCommandTool } from './run-command.js';
import { searchCodeTool } from './search-code.js';
import { writeFileTool } from './write-file.js';
import type { ToolContext, ToolDefinition, ToolResult } from './types.js';

export type { ToolContext, ToolDefinition, ToolResult } from './types.js';
export { buildCommandEnv } from './command-env.js';
export { resolveInside } from './paths.js';
export type { ToolSpec } from '../llm.js';

/** Last-resort bound on what one tool call puts into the conversation. */
const MAX_OUTPUT_CHARS = 60_000;

/** The tools offered to the model, in the order of the contract (section 5). */
export const defaultTools: ToolDefinition[] = [
  listFilesTool,
  readFileTool,
  searchCodeTool,
  editFileTool,
  writeFileTool,
  runCommandTool,
  finishTool,
];

/** Drops what only costs tokens: `$schema`, and the safe-integer bounds zod adds to `.int()`. */
function compact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(compact);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (key === '$schema') continue;
    if (key === 'maximum' && item === Number.MAX_SAFE_INTEGER) continue;
    if (key === 'minimum' && item === Number.MIN_SAFE_INTEGER) continue;
    out[key] = compact(item);
  }
  return out;
}

export function toolSpecs(tools: readonly ToolDefinition[] = defaultTools): ToolSpec[] {
  return tools.map((tool) => ({
    name: tool.name,
    description: tool.description,
    parameters: compact(z.toJSONSchema(tool.schema)) as Record<string, unknown>,
  }));
}

function error(output: string): ToolResult {
  return { ok: false, output };
}

function parseArguments(raw: string): { value: unknown } | { error: string } {
  // Some models send "" for a call without arguments.
  if (raw.trim() === '') return { value: {} };
  try {
    const value: unknown = JSON.parse(raw);
    // Many models send null for an optional parameter they mean to leave out.
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return { value: Object.fromEntries(Object.entries(value).filter(([, item]) => item !== null)) };
    }
    return { value };
  } catch (cause) {
    return { error: (cause as Error).message };
  }
}

/**
 * Runs one tool call from the model. Never throws: whatever goes wrong (unknown tool, bad JSON,
 * arguments that fail the schema, a refused path, a failing file system) comes back as an error
 * result, so the model can correct itself and the run goes on.
 */
export async function executeToolCall(
  tools: readonly ToolDefinition[],
  name: string,
  rawArguments: string,
  context: ToolContext,
): Promise<ToolResult> {
  const tool = tools.find((candidate) => candidate.name === name);
  if (!tool) return error(`unknown tool '${name}'; the available tools are: ${tools.map((t) => t.name).join(', ')}`);

  const parsed = parseArguments(rawArguments);
  if ('error' in parsed) {
    return error(`arguments are not valid JSON: ${parsed.error}; send a JSON object matching the schema`);
  }
  const checked = tool.schema.safeParse(parsed.value);
  if (!checked.success) {
    const issues = checked.error.issues.map((issue) => `- ${issue.path.length ? issue.path.join('.') : '(arguments)'}: ${issue.message}`);
    return error(`invalid arguments for ${name}:\n${issues.join('\n')}`);
  }
  if (context.signal?.aborted) return error('cancelled');

  try {
    const result = await tool.run(checked.data, context);
    return { ...result, output: truncateMiddle(result.output, MAX_OUTPUT_CHARS) };
  } catch (cause) {
    if (isAutocoderError(cause)) return error(cause.message);
    return error(`${name} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}
