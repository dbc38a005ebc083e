import type { z } from 'zod';
import type { CommandSandbox } from '../sandbox/types.js';

/** How a tool may touch the working tree; built once per run. */
export interface ToolContext {
  /** Real path of the working tree (symbolic links resolved). */
  root: string;
  signal?: AbortSignal;
  /** Time limit of one `run_command`. */
  commandTimeoutMs: number;
  /** Bytes of command output kept (head and tail). */
  commandMaxOutputBytes: number;
  /** The whole environment a command gets: an allowlist, never the process's own. */
  commandEnv: NodeJS.ProcessEnv;
  /** How `run_command` is confined; the agent always sets it. Absent: allowlist and limits only. */
  sandbox?: CommandSandbox;
  /** Returns a reason when the path (relative, `/`-separated) may not be changed by the agent. */
  writePolicy?: (relPath: string) => string | undefined;
  /** Called after a tool created, changed or deleted a file. */
  onFileChanged?: (relPath: string, change: 'added' | 'modified' | 'deleted') => void;
}

export interface ToolResult {
  ok: boolean;
  /** Text given back to the model. */
  output: string;
  /** For `run_command`. */
  exitCode?: number | null;
  /** Set by `finish`: the run ends with this summary. */
  finish?: { summary: string };
}

export interface ToolDefinition<S extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  schema: S;
  run(args: z.infer<S>, context: ToolContext): Promise<ToolResult>;
}
