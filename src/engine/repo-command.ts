import { runProcess } from '../util/process.js';
import type { Emit } from './events.js';
import type { CommandSandbox } from './sandbox/types.js';

/**
 * The repository's own commands, `setupCommand` and `testCommand`: one way to run them for the
 * GitHub App, the CLI, the SDK and the REST API, single runs and best of N alike.
 */

/** Installing dependencies may take a while, a test suite too; neither hangs a run forever. */
export const SETUP_TIMEOUT_MS = 15 * 60_000;
export const TEST_TIMEOUT_MS = 20 * 60_000;
const COMMAND_OUTPUT_BYTES = 512 * 1024;

export type RepoCommandPurpose = 'setup' | 'test';

export interface CommandRun {
  command: string;
  /** null: killed (the time limit, or the run was cancelled). */
  exitCode: number | null;
  output: string;
  durationMs: number;
  timedOut: boolean;
}

/**
 * Runs the command in the same sandbox as the agent's `run_command` (only the working tree
 * writable) and reports it as a `command` event. Setup is the one command with the network: it
 * installs dependencies.
 */
export async function runRepoCommand(options: {
  purpose: RepoCommandPurpose;
  command: string;
  /** Where it runs (the folder the agent works in). */
  cwd: string;
  /** The working tree's top level: the only place it may write. */
  root: string;
  sandbox: CommandSandbox;
  env: NodeJS.ProcessEnv;
  emit: Emit;
  signal?: AbortSignal;
}): Promise<CommandRun> {
  const setup = options.purpose === 'setup';
  const wrapped = await options.sandbox.wrap(options.command, {
    cwd: options.cwd,
    env: options.env,
    writablePaths: [options.root],
    ...(setup ? { network: true } : {}),
  });
  const result = await runProcess(wrapped.file, wrapped.args, {
    cwd: options.cwd,
    env: wrapped.env,
    timeoutMs: setup ? SETUP_TIMEOUT_MS : TEST_TIMEOUT_MS,
    maxOutputBytes: COMMAND_OUTPUT_BYTES,
    signal: options.signal,
  });
  const run: CommandRun = {
    command: options.command,
    exitCode: result.exitCode,
    output: result.output,
    durationMs: result.durationMs,
    timedOut: result.timedOut,
  };
  options.emit({ type: 'command', purpose: options.purpose, ...run });
  return run;
}

/** Why a setup command's run stops the work, or undefined when it succeeded. */
export function setupFailure(run: CommandRun): string | undefined {
  return run.exitCode === 0 ? undefined : `the setup command \`${run.command}\` failed (exit ${run.exitCode ?? 'killed'})`;
}
