import type { Logger } from 'pino';
import type { AgentOptions } from '../engine/agent.js';
import { explainChoice, rankAttempts, type AttemptOutcome } from '../engine/attempts.js';
import { shareBudgets } from '../engine/budget.js';
import type { EndReason, Emit, FileChange } from '../engine/events.js';
import { isShutdown } from '../queue/embedded-queue.js';
import type { TaskRecord } from '../store/tasks.js';
import { runBestOfN } from '../workspace/best-of-n.js';
import { stripCredentials } from '../workspace/git.js';
import { PreparedWorkspace, type WorkspaceManager } from '../workspace/index.js';
import { diffTrees } from '../workspace/snapshot.js';
import { keepAttemptBranch, sweepAttemptBranches } from './attempt-branches.js';
import type { Octokit } from './octokit.js';
import type { ProgressReporter } from './progress.js';
import { buildGithubPrompt } from './prompt.js';
import { publishedNotes, publishPullRequest } from './publish-pull-request.js';
import type { AttemptsTable, TestResult } from './render.js';
import { createWritePolicy, type RepoConfig } from './repo-config.js';
import { revertBlocked } from './revert-blocked.js';
import { loadPromptContext, namesOf } from './run-context.js';
import type { RunnerDeps } from './runner.js';
import { branchForAttempt, type GithubRun } from './trigger.js';

/**
 * Best of N on GitHub: the shared core (src/workspace/best-of-n.ts: N agents at once, setup and
 * test command in each tree, the choice, the `attempts` event) in N worktrees of the run's
 * repository, with what only GitHub does around it: blocked paths put back and each change
 * committed before its tests, then the winner's commit pushed to the run's usual branch and pull
 * request, the others to `autocoder/issue-<N>-attempt-<k>` for `keepAttemptsDays`.
 */

export type AttemptsDeps = Pick<RunnerDeps, 'store' | 'sessions' | 'workspaces' | 'llm' | 'identity' | 'redact' | 'commandEnv' | 'sandbox'>;

/** What `execute` in runner.ts hands over: the run, and its helpers for events, progress and the end. */
export interface AttemptsContext {
  task: TaskRecord;
  run: GithubRun;
  config: RepoConfig;
  attempts: number;
  installation: Octokit;
  token: string;
  /** A fresh installation token (added to the redactor's secrets). */
  freshToken: () => Promise<string>;
  signal: AbortSignal;
  log: Logger;
  emit: Emit;
  progress: ProgressReporter;
  runLog: () => string;
  finish: (endReason: EndReason, patch?: { error?: string; result?: TaskRecord['result']; data?: Record<string, unknown> }) => void;
  leaveForRestart: () => void;
  pushWithRetries: (ws: PreparedWorkspace) => Promise<void>;
  pullRequestSummary: (current: string) => string;
  endSentence: (reason: EndReason, steps: number, maxMinutes: number) => string | undefined;
  /** The run's token and cost budgets (src/github/budgets.ts), shared evenly by its attempts. */
  budgets?: Pick<AgentOptions, 'maxTokens' | 'maxCostUsd' | 'prices'>;
}

/** What an attempt's change became on its branch (see `settle`). */
interface Committed {
  /** Paths it changed that the repository's configuration does not let autocoder change: put back. */
  reverted: string[];
  files: FileChange[];
  /** Its commit; absent when nothing was left to commit. */
  sha?: string;
}

/** The same working tree seen as a push to another branch: the winner goes to the run's branch. */
function retarget(ws: PreparedWorkspace, mirrors: WorkspaceManager['mirrors'], cloneUrl: string, branch: string): PreparedWorkspace {
  return new PreparedWorkspace({
    mirrors,
    cloneUrl: stripCredentials(cloneUrl),
    cachePath: ws.cachePath,
    path: ws.path,
    branch,
    baseBranch: ws.baseBranch,
    baseSha: ws.baseSha,
    startedFrom: ws.startedFrom,
  });
}

/** One line per attempt for a progress comment that has no pull request to point to. */
function describeOutcomes(outcomes: AttemptOutcome[]): string {
  return outcomes
    .map((o) => `- attempt ${o.attempt} (${o.model}): ${o.reason === 'failed' || o.reason === 'cancelled' ? (o.error ?? o.reason) : o.filesChanged === 0 ? `${o.reason}, no file changed` : o.reason}`)
    .join('\n');
}

export function createAttemptsRunner(deps: AttemptsDeps) {
  return async function executeAttempts(ctx: AttemptsContext): Promise<void> {
    const { task, run, config, signal, installation, emit, progress } = ctx;
    const trigger = run.trigger;
    const repo = { owner: trigger.repo.owner, repo: trigger.repo.name };
    const n = ctx.attempts;
    const started = Date.now();
    const workspaces: PreparedWorkspace[] = [];

    try {
      // Every attempt starts where a single run would: the run's branch when it exists (a
      // revision, or an issue worked on before), else the default branch.
      const start = await deps.workspaces.mirrors.sync({ cloneUrl: trigger.repo.cloneUrl, token: ctx.token, signal }, async (mirror) =>
        (await mirror.resolve(run.branch)) ? run.branch : trigger.repo.defaultBranch,
      );
      const prepared = await Promise.allSettled(
        Array.from({ length: n }, (_, i) =>
          deps.workspaces.prepare({
            cloneUrl: trigger.repo.cloneUrl,
            token: ctx.token,
            branch: branchForAttempt(run.issueNumber, i + 1),
            baseBranch: start,
            runId: `${task.id}-attempt-${i + 1}`,
            signal,
          }),
        ),
      );
      for (const p of prepared) if (p.status === 'fulfilled') workspaces.push(p.value);
      const failedPrepare = prepared.find((p): p is PromiseRejectedResult => p.status === 'rejected');
      if (failedPrepare) throw failedPrepare.reason;

      await sweepAttemptBranches({ octokit: installation, repo, cachePath: workspaces[0].cachePath, keepDays: config.keepAttemptsDays, log: ctx.log });

      const sessionId = `github:${task.threadKey}`;
      const session = await deps.sessions.getSession(sessionId);
      // Every attempt's tree starts at the same commit: the first one's tells the revision's diff.
      const context = await loadPromptContext(installation, run, workspaces[0].path);
      const prompt = buildGithubPrompt(run, context);
      const bot = await deps.identity(installation);
      const { title, subject, requester } = namesOf(run, context.issue.title);
      const committed = new Map<number, Committed>();

      progress.update({ phase: 'working', step: 0, maxSteps: config.maxSteps, attempts: n });
      emit({ type: 'phase', phase: 'working' });

      const best = await runBestOfN({
        attempts: n,
        models: run.models,
        defaultModel: config.model,
        prepare: async (k) => ({ root: workspaces[k - 1].path, cwd: workspaces[k - 1].path }),
        setupCommand: config.setupCommand,
        testCommand: config.testCommand,
        settle: async (k, _tree, result) => {
          const ws = workspaces[k - 1];
          const reverted = await revertBlocked(ws, result.changedFiles, config);
          const left = result.changedFiles.filter((f) => !reverted.includes(f.path));
          // Committed before the tests, so what the tests leave behind is not part of the change.
          const sha = left.length
            ? await ws.commitAll({ message: deps.redact(`${subject}\n\n${result.summary}`), authorName: bot.name, authorEmail: bot.email, coAuthors: [requester] })
            : undefined;
          if (!sha) {
            committed.set(k, { reverted, files: [] });
            return { files: [], patch: '', ...(reverted.length ? { note: `its only changes were to paths this repository does not let autocoder change: ${reverted.join(', ')}` } : {}) };
          }
          const changes = await diffTrees(ws.path, ws.baseSha, sha);
          committed.set(k, { reverted, files: changes.files, sha });
          return { files: changes.files, patch: changes.patch };
        },
        // The run's emitter keeps the live count of every attempt's tokens (runner.ts).
        emit,
        agent: {
          llm: deps.llm,
          prompt,
          sessionId,
          history: session?.messages,
          instructions: [config.instructions ?? ''],
          maxSteps: config.maxSteps,
          maxMs: config.maxMinutes * 60_000,
          // The run's budget is the run's, however many attempts share it.
          ...shareBudgets(ctx.budgets ?? {}, n),
          signal,
          commandEnv: deps.commandEnv,
          writePolicy: createWritePolicy(config),
        },
        sandbox: deps.sandbox,
        redact: deps.redact,
      });
      const { outcomes, usage } = best;
      const durationMs = Date.now() - started;
      ctx.log.info({ outcomes: rankAttempts(outcomes).map((o) => ({ attempt: o.attempt, model: o.model, reason: o.reason, test: o.testExitCode, files: o.filesChanged })) }, 'attempts finished');

      if (signal.aborted) {
        if (isShutdown(signal)) return ctx.leaveForRestart();
        progress.update({ phase: 'cancelled', reason: 'The run was cancelled.', log: ctx.runLog() });
        ctx.finish('cancelled', { result: { summary: '', changedFiles: [], usage, steps: 0, durationMs, attempts: outcomes, chosenAttempt: null } });
        return;
      }

      const chosenRun = best.chosen;
      const chosen = chosenRun?.outcome;
      const winner = chosen && committed.get(chosen.attempt);
      if (!chosen || !chosenRun?.result || !winner?.sha) {
        const allFailed = outcomes.every((o) => o.reason === 'failed' || o.reason === 'cancelled');
        const reason = allFailed
          ? `All ${n} attempts failed, so no pull request was opened.\n\n${describeOutcomes(outcomes)}`
          : `None of the ${n} attempts changed a file that could be published.\n\n${describeOutcomes(outcomes)}`;
        progress.update({ phase: allFailed ? 'failed' : 'no_changes', reason, log: ctx.runLog() });
        const first = rankAttempts(outcomes)[0];
        ctx.finish(allFailed ? 'failed' : first.reason, {
          result: { summary: '', changedFiles: [], usage, steps: 0, durationMs, attempts: outcomes, chosenAttempt: null },
          error: allFailed ? outcomes.map((o) => `attempt ${o.attempt}: ${o.error ?? o.reason}`).join('; ') : undefined,
        });
        return;
      }

      const result = chosenRun.result;
      // The thread remembers the conversation whose work was published.
      await deps.sessions.saveSession({ id: sessionId, cwd: `${repo.owner}/${repo.repo}`, model: chosen.model, messages: result.messages });

      emit({ type: 'phase', phase: 'publishing' });
      const kept = new Map<number, string>();
      if (config.keepAttemptsDays > 0) {
        for (const [k, other] of [...committed].sort(([a], [b]) => a - b)) {
          if (k === chosen.attempt || !other.sha) continue;
          const workspace = workspaces[k - 1];
          try {
            await keepAttemptBranch({ octokit: installation, repo, workspace, token: ctx.freshToken, signal });
            kept.set(k, workspace.branch);
          } catch (error) {
            ctx.log.warn({ err: error, attempt: k }, 'could not push the attempt’s branch');
          }
        }
      }
      const publish = retarget(workspaces[chosen.attempt - 1], deps.workspaces.mirrors, trigger.repo.cloneUrl, run.branch);
      await ctx.pushWithRetries(publish);

      const incomplete = ctx.endSentence(result.reason, result.steps, config.maxMinutes);
      const why = explainChoice(outcomes, chosen);
      const table: AttemptsTable = {
        rows: outcomes.map((outcome) => ({ outcome, branch: kept.get(outcome.attempt) })),
        published: { attempt: chosen.attempt, why },
        keepDays: config.keepAttemptsDays,
      };
      // What the pull request and the task keep of the winner's test run.
      const test: TestResult | undefined = chosenRun.test && { command: chosenRun.test.command, exitCode: chosenRun.test.exitCode, output: chosenRun.test.output };
      const pr = await publishPullRequest(installation, {
        ...repo, cwd: publish.path, head: run.branch, base: trigger.repo.defaultBranch, title, draft: config.draft, incomplete, reverted: winner.reverted, log: ctx.log,
        body: {
          summary: ctx.pullRequestSummary(result.summary),
          issueNumber: run.issueNumber,
          test,
          model: chosen.model,
          usage,
          durationMs,
          log: ctx.runLog(),
          runId: task.id,
          attempts: table,
          redact: deps.redact,
        },
      });
      deps.store.update(task.id, { data: { pullRequestNumber: pr.number, pullRequestUrl: pr.url } });
      progress.update({
        phase: 'done',
        pullRequestUrl: pr.url,
        reason: publishedNotes({ lead: `Best of ${n}: published attempt ${chosen.attempt} (${chosen.model}), ${why}.`, incomplete, test, notice: pr.notice }),
        log: ctx.runLog(),
      });
      ctx.finish(result.reason, {
        result: {
          summary: result.summary, changedFiles: winner.files, usage, steps: result.steps, durationMs, sessionId,
          test, pullRequestUrl: pr.url, attempts: outcomes, chosenAttempt: chosen.attempt,
        },
      });
    } finally {
      await Promise.all(workspaces.map((ws) => ws.remove().catch((error) => ctx.log.warn({ err: error }, 'could not remove an attempt’s worktree'))));
    }
  };
}

export type ExecuteAttempts = ReturnType<typeof createAttemptsRunner>;

/** How many attempts a queued run asks for: a plan is always one. */
export function attemptsOf(run: GithubRun): number {
  return run.mode === 'plan' ? 1 : Math.max(1, run.attempts ?? 1);
}
