import type { Logger } from 'pino';
import type { Redactor } from '../util/redact.js';
import type { Octokit } from './octokit.js';
import { renderProgressComment, type ProgressState } from './render.js';

export type ProgressUpdate = Omit<ProgressState, 'runId' | 'redact'>;

export interface ProgressReporterOptions {
  octokit: () => Promise<Octokit>;
  owner: string;
  repo: string;
  commentId: number;
  runId: string;
  redact: Redactor;
  log: Logger;
  /** Least time between two edits, phase changes included (`flush` writes at once). */
  minIntervalMs?: number;
  /** Called with every state, for the store (status command, dashboard). */
  onState?: (state: ProgressUpdate) => void;
}

/**
 * Keeps one progress comment in step with a run: edits are serialised, at most one per interval,
 * each with the latest state, and skipped when the text would not change. A phase change is sent
 * at once when the interval since the last edit has passed, else with the next edit: a fast run
 * would otherwise spend GitHub writes (which take turns, see write-limits.ts) on phases nobody
 * saw, ahead of its pull request. The final state goes out with `flush`.
 */
export function createProgressReporter(options: ProgressReporterOptions) {
  const minInterval = options.minIntervalMs ?? 3_000;
  let written: string | undefined;
  let wanted: { body: string; phase: string } | undefined;
  let lastPhase: string | undefined;
  let lastWrite = 0;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();

  const write = () => {
    timer = undefined;
    // Counted from the start of an edit: one in flight is not a reason to send the next at once.
    if (wanted && wanted.body !== written) lastWrite = Date.now();
    chain = chain.then(async () => {
      const target = wanted;
      if (!target || target.body === written) return;
      try {
        const octokit = await options.octokit();
        await octokit.rest.issues.updateComment({ owner: options.owner, repo: options.repo, comment_id: options.commentId, body: target.body });
        written = target.body;
      } catch (error) {
        // Progress is best effort: a failed edit is logged and the next state is tried again.
        options.log.warn({ err: error }, 'could not update the progress comment');
      }
    });
  };

  return {
    update(state: ProgressUpdate): void {
      options.onState?.(state);
      const body = renderProgressComment({ ...state, runId: options.runId, redact: options.redact });
      const phaseChanged = state.phase !== lastPhase;
      lastPhase = state.phase;
      wanted = { body, phase: state.phase };
      if (timer) return; // the edit already planned takes this state with it
      const wait = minInterval - (Date.now() - lastWrite);
      if (phaseChanged && wait <= 0) write();
      else timer = setTimeout(write, Math.max(0, wait));
    },
    /** Waits until the latest state is written (or has failed to be). */
    async flush(): Promise<void> {
      if (timer) {
        clearTimeout(timer);
        write();
      }
      await chain;
    },
  };
}

export type ProgressReporter = ReturnType<typeof createProgressReporter>;
