import type { AutocoderError } from '../engine/errors.js';
import type { EndReason, FileChange, Usage } from '../engine/events.js';
import type { LocalRunResult } from '../runtime/local-run.js';

/** What a finished run did. */
export interface RunResult {
  /** What the agent says it did (or why it stopped). */
  summary: string;
  /** The files that differ in the working tree from before the run. */
  changedFiles: FileChange[];
  /** The run's changes as a unified patch (`git apply`-able); empty when nothing changed or `cwd` is not a git repository. */
  diff: string;
  /** Tokens used by all model turns of the run. */
  usage: Usage;
  /** Pass as `session` to continue this conversation. */
  sessionId: string;
  /** Why the run ended: `completed`, `failed`, `cancelled`, `max_steps` or `max_time`. */
  reason: EndReason;
  /** Model turns taken. */
  steps: number;
  durationMs: number;
  /** The run's id: the `taskId` of each of its events. */
  taskId: string;
  /** What went wrong, when `reason` is `failed` (or the changes could not be listed). */
  error?: AutocoderError;
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
  };
}
