import type { AgentOptions, AgentResult } from '../engine/agent.js';
import { rankAttempts, type AttemptOutcome } from '../engine/attempts.js';
import { shareBudgets } from '../engine/budget.js';
import { AutocoderError } from '../engine/errors.js';
import type { Emit } from '../engine/events.js';
import type { ChatMessage } from '../engine/llm.js';
import type { CommandRun } from '../engine/repo-command.js';
import { runBestOfN, type AttemptTree } from '../workspace/best-of-n.js';
import type { ExecutorCore } from '../runtime/core.js';
import { HARDENED_CONFIG, git } from '../workspace/git.js';
import type { PreparedWorkspace } from '../workspace/index.js';
import { applyPatch } from '../workspace/tree-patch.js';

export interface ApiAttemptsInput {
  taskId: string;
  cloneUrl: string;
  /** Attempt 1's tree, already prepared on the task's branch: the one committed and pushed. */
  primary: PreparedWorkspace;
  attempts: number;
  models?: string[];
  defaultModel: string;
  testCommand?: string;
  prompt: string;
  sessionId: string;
  history?: ChatMessage[];
  maxSteps: number;
  maxMs: number;
  /** The task's token and cost budgets: the task's whole, so its attempts share them evenly (as on GitHub). */
  budgets?: Pick<AgentOptions, 'maxTokens' | 'maxCostUsd' | 'prices'>;
  emit: Emit;
  signal: AbortSignal;
}

export interface ApiAttempts {
  /** The chosen attempt's run, with every attempt's tokens; or the best-ranked one's when none is usable (then nothing changed). */
  result?: AgentResult;
  /** The model of that run. */
  model: string;
  outcomes: AttemptOutcome[];
  chosen: number | null;
  test?: CommandRun;
}

/**
 * Best of N for an API task: attempt 1 works in the task's own worktree, the others in worktrees
 * of their own from the same commit (private branches `autocoder/task-<id>-attempt-<k>`, never
 * pushed, removed at the end). The chosen attempt's change is then put into the task's worktree,
 * so what the runner commits and pushes is that change alone.
 */
export async function runApiAttempts(core: Pick<ExecutorCore, 'workspaces' | 'llm' | 'commandEnv' | 'sandbox'>, input: ApiAttemptsInput): Promise<ApiAttempts> {
  const { primary, signal } = input;
  const extra: PreparedWorkspace[] = [];
  // Every attempt starts where attempt 1 did: the pushed branch when it exists, else the base.
  const startBranch = primary.startedFrom === 'branch' ? primary.branch : primary.baseBranch;
  try {
    const best = await runBestOfN({
      attempts: input.attempts,
      models: input.models,
      defaultModel: input.defaultModel,
      testCommand: input.testCommand,
      emit: input.emit,
      sandbox: core.sandbox,
      agent: {
        llm: core.llm,
        prompt: input.prompt,
        sessionId: input.sessionId,
        history: input.history,
        maxSteps: input.maxSteps,
        maxMs: input.maxMs,
        ...(input.budgets ? shareBudgets(input.budgets, input.attempts) : {}),
        signal,
        commandEnv: core.commandEnv,
      },
      prepare: async (attempt): Promise<AttemptTree> => {
        if (attempt === 1) return { root: primary.path, cwd: primary.path };
        const ws = await core.workspaces.prepare({
          cloneUrl: input.cloneUrl,
          branch: `autocoder/task-${input.taskId}-attempt-${attempt}`,
          baseBranch: startBranch,
          runId: `${input.taskId}-attempt-${attempt}`,
          signal,
        });
        extra.push(ws);
        if (ws.baseSha !== primary.baseSha) {
          throw new AutocoderError('git_failed', `${startBranch} moved on while the attempts were prepared (${primary.baseSha.slice(0, 12)} → ${ws.baseSha.slice(0, 12)})`, { retryable: true });
        }
        return { root: ws.path, cwd: ws.path };
      },
    });

    const chosen = best.chosen;
    const kept = chosen ?? best.runs.find((run) => run.result && run.outcome.attempt === rankAttempts(best.outcomes)[0]?.attempt) ?? best.runs.find((run) => run.result);
    // The task's tree gets exactly the chosen change: attempt 1's own edits and anything its tests left go first.
    await git([...HARDENED_CONFIG, 'reset', '--hard', '--quiet'], { cwd: primary.path });
    await git([...HARDENED_CONFIG, 'clean', '-fdq'], { cwd: primary.path });
    if (chosen && !signal.aborted) await applyPatch(primary.path, chosen.patch, signal);
    const result = kept?.result && {
      ...kept.result,
      ...(chosen ? {} : { changedFiles: [], patch: '' }),
      usage: best.usage,
    };
    return {
      result,
      model: kept?.outcome.model ?? input.defaultModel,
      outcomes: best.outcomes,
      chosen: chosen?.outcome.attempt ?? null,
      ...(chosen?.test ? { test: chosen.test } : {}),
    };
  } finally {
    await Promise.all(extra.map((ws) => ws.remove().catch(() => undefined)));
  }
}
