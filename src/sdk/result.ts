import type { AutocoderError } from '../engine/errors.js';
import type { EndReason, FileChange, Usage } from '../engine/events.js';
import type { AttemptOutcome } from '../engine/attempts.js';
import type { LocalRunResult } from '../runtime/local-run.js';

export type { AttemptOutcome };

/** What a finished run did. */
export interface RunResult {
  /** What the agent says it did (or why it stopped). */
  summary: string;
  /** The files that differ in the working tree from before the run. */
  changedFiles: FileChange[];
  /** The run's changes as a unified patch (`git apply`-able); empty when nothing changed or `cwd` is not a git repository. */
  diff: string;
  /** Tokens used by all model turns of the run; `costUsd` too when prices are configured. */
  usage: Usage;
  /** Pass as `session` to continue this conversation. */
  sessionId: string;
  /** Why the run ended: `completed`, `failed`, `cancelled`, or a budget: `max_steps`, `max_time`, `max_tokens`, `max_cost`. */
  reason: EndReason;
  /** Model turns taken. */
  steps: number;
  durationMs: number;
  /** The run's id: the `taskId` of each of its events. */
  taskId: string;
  /** What went wrong, when `reason` is `failed` (or the changes could not be listed). */
  error?: AutocoderError;
  /**
   * Best of N only: each attempt's outcome, in attempt order: model, end reason, test exit code
   * (absent when no test ran), files and lines changed, tokens, duration, and why it has nothing
   * to offer. The result's other fields are the chosen attempt's (`usage`: all attempts together).
   */
  attempts?: AttemptOutcome[];
  /** Best of N only: the attempt whose change is in `cwd`, or null when none changed anything usable. */
  chosenAttempt?: number | null;
  /** The test command's run (of the chosen attempt), when one ran. */
  test?: { command: string; exitCode: number | null; output: string };
}

export function toRunResult(result: LocalRunResult): RunResult {
  return {
    summary: result.summary,
    changedFiles: result.changedFiles,
    diff: result.patch,
    usage: result.usage,
    sessionId: result.sessionId,
    reason: result.reason,
    steps: result.steps,
    durationMs: result.durationMs,
    taskId: result.taskId,
    ...(result.error ? { error: result.error } : {}),
    ...(result.attempts ? { attempts: result.attempts, chosenAttempt: result.chosenAttempt ?? null } : {}),
    ...(result.test ? { test: { command: result.test.command, exitCode: result.test.exitCode, output: result.test.output } } : {}),
  };
}
