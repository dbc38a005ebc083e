import { z } from 'zod';
import { runProcess, type ProcessResult } from '../../util/process.js';
import { truncateMiddle } from '../../util/text.js';
import { createUnsandboxed } from '../sandbox/none.js';
import { DEFAULT_LIMITS, type CommandSandbox } from '../sandbox/types.js';
import type { ToolContext, ToolDefinition } from './types.js';

/** Characters of output given back to the model (head and tail). */
const MAX_RESULT_CHARS = 30_000;

const schema = z.object({
  command: z.string().min(1).describe('the command line'),
});

/** Colour codes and progress-bar redraws cost tokens and carry nothing for the model. */
function clean(output: string): string {
  return output
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    .split('\n')
    .map((line) => {
      const bare = line.endsWith('\r') ? line.slice(0, -1) : line;
      const redraw = bare.lastIndexOf('\r');
      return redraw >= 0 ? bare.slice(redraw + 1) : bare;
    })
    .join('\n');
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

function status(result: ProcessResult, context: ToolContext): string {
  if (result.aborted) return 'cancelled';
  if (result.timedOut) return `killed: timed out after ${seconds(context.commandTimeoutMs)}`;
  if (result.exitCode === null) return `killed by signal ${result.signal ?? 'unknown'}`;
  return `exit code ${result.exitCode}`;
}

/** A context built without one (a test of the tool alone) still gets the allowlist and the limits. */
const UNSANDBOXED: CommandSandbox = createUnsandboxed(DEFAULT_LIMITS, 'no sandbox in the tool context');

export const runCommandTool: ToolDefinition<typeof schema> = {
  name: 'run_command',
  description:
    'Run a shell command (bash -c) in the repository root: stdin closed, time limit, no secrets; when sandboxed, no network and only the repository is writable. Returns exit code and output.',
  schema,
  async run(args, context) {
    const sandbox = context.sandbox ?? UNSANDBOXED;
    const wrapped = await sandbox.wrap(args.command, { cwd: context.root, env: context.commandEnv, writablePaths: [context.root] });
    const result = await runProcess(wrapped.file, wrapped.args, {
      cwd: context.root,
      env: wrapped.env,
      timeoutMs: context.commandTimeoutMs,
      maxOutputBytes: context.commandMaxOutputBytes,
      signal: context.signal,
    });
    const output = truncateMiddle(clean(result.output), MAX_RESULT_CHARS);
    return {
      ok: result.exitCode === 0 && !result.timedOut && !result.aborted,
      output: `${status(result, context)}\n${output.trim() === '' ? '(no output)' : output}`,
      exitCode: result.exitCode,
    };
  },
};
