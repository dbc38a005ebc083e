import type { Logger } from 'pino';
import { runAgent, type AgentResult } from '../engine/agent.js';
import { readAgentsFile } from '../engine/agents-file.js';
import { createUsageTally, modelForAttempt } from '../engine/attempts.js';
import { attemptPrefix, describeToolCall } from '../engine/describe.js';
import { AutocoderError, toAutocoderError } from '../engine/errors.js';
import { createEmitter, type EndReason, type RunEvent, type Usage } from '../engine/events.js';
import type { LlmClient } from '../engine/llm.js';
import { runRepoCommand, setupFailure } from '../engine/repo-command.js';
import { detectSandbox, type SandboxRequest } from '../engine/sandbox/index.js';
import type { SessionStore } from '../engine/session.js';
import { isShutdown } from '../queue/embedded-queue.js';
import type { RunStore } from '../store/run-store.js';
import type { TaskRecord } from '../store/tasks.js';
import type { Redactor } from '../util/redact.js';
import { createGitChangeTracker } from '../workspace/snapshot.js';
import type { PreparedWorkspace, WorkspaceManager } from '../workspace/index.js';
import { sweepAttemptBranches } from './attempt-branches.js';
import { attemptsOf, createAttemptsRunner } from './attempts-runner.js';
import type { BotIdentity } from './identity.js';
import { mintInstallationToken, type GetOctokit, type Octokit } from './octokit.js';
import { createProgressReporter, type ProgressReporter } from './progress.js';
import { buildGithubPrompt } from './prompt.js';
import { describeBudgetEnd, planRunBudgets, type BudgetSettings, type RunBudgetPlan, type UsageToday } from './budgets.js';
import { publishedNotes, publishPullRequest } from './publish-pull-request.js';
import { createCommentOnce } from './create-comment-once.js';
import { renderPlanComment, renderRunLog, type TestResult } from './render.js';
import { createWritePolicy, REPO_CONFIG_DEFAULTS, type RepoConfig } from './repo-config.js';
import { revertBlocked } from './revert-blocked.js';
import { loadPromptContext, namesOf } from './run-context.js';
import type { GithubRun } from './trigger.js';

export interface RunnerDeps {
  /** SQLite in the server; in a Redis worker, the job's data with writes sent back (RemoteTaskStore). */
  store: RunStore;
  sessions: SessionStore;
  workspaces: WorkspaceManager;
  llm: LlmClient;
  getOctokit: GetOctokit;
  /** The app's own client (JWT), for minting installation tokens. */
  getAppOctokit: () => Promise<Octokit>;
  identity: (installation: Octokit) => Promise<BotIdentity>;
  redact: Redactor;
  /** Every secret the process learns (installation tokens) is added here before it is used. */
  addSecret: (secret: string) => void;
  /** Environment for commands (already an allowlist). */
  commandEnv: NodeJS.ProcessEnv;
  /** How commands are confined (setup, test, the agent's): bwrap when it works here, with these paths hidden. */
  sandbox?: SandboxRequest;
  /** Every event of every run, for live readers (SSE, dashboard). */
  publish?: (event: RunEvent) => void;
  log: Logger;
  /** Pushes rejected because the branch moved: how often to rebase and try again. */
  pushAttempts?: number;
  progressIntervalMs?: number;
  /** The operator's token, cost and daily budgets (src/github/budgets.ts). */
  budgets?: BudgetSettings;
  /** What a repository has used today (from the task store): the daily token budget's remainder. */
  usageToday?: UsageToday;
}

/**
 * Which budget ended the run, with its figure (src/github/budgets.ts); undefined when none did.
 * `pushed`: whether the work so far was pushed (default) or there was none.
 */
function endSentence(
  reason: EndReason,
  steps: number,
  maxMinutes: number,
  more: { usage?: Usage; plan?: RunBudgetPlan; maxSteps?: number; pushed?: boolean } = {},
): string | undefined {
  const figures = { steps, maxSteps: more.maxSteps ?? steps, maxMinutes, usage: more.usage ?? { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, plan: more.plan };
  return describeBudgetEnd(reason, figures, more.pushed ?? true);
}

/** The first run's summary, then each revision's, so the body tells the pull request's whole story. */
function pullRequestSummaryOf(earlier: string[], current: string): string {
  const all = [...earlier, current].filter((text) => text.trim());
  return all.map((text, i) => (i === 0 ? text : `**Revision ${i}:** ${text}`)).join('\n\n');
}

/** Executes queued GitHub runs: working tree, agent, tests, commit, push, pull request, progress. */
export function createGithubRunner(deps: RunnerDeps) {
  const executeAttempts = createAttemptsRunner(deps);
  return async function execute(task: TaskRecord, signal: AbortSignal): Promise<void> {
    const run = task.data.run as GithubRun;
    const trigger = run.trigger;
    // Runs queued before `keepAttemptsDays` existed carry configurations without it.
    const stored = run.config as unknown as RepoConfig;
    const config: RepoConfig = { ...stored, keepAttemptsDays: stored.keepAttemptsDays ?? REPO_CONFIG_DEFAULTS.keepAttemptsDays };
    /** Best of N when above 1 (see attempts-runner.ts). */
    const attempts = attemptsOf(run);
    const repo = { owner: trigger.repo.owner, repo: trigger.repo.name };
    const log = deps.log.child({ taskId: task.id, repo: `${repo.owner}/${repo.repo}`, issue: run.issueNumber });
    const octokit = () => deps.getOctokit(trigger.installationId);
    const events: RunEvent[] = deps.store.events(task.id);
    const emit = createEmitter(task.id, (event) => {
      events.push(event);
      deps.store.appendEvent(event);
      deps.publish?.(event);
      onEvent(event);
    }, deps.store.nextSeq(task.id));

    const progress: ProgressReporter = createProgressReporter({
      octokit,
      ...repo,
      commentId: task.data.progressCommentId as number,
      runId: task.id,
      redact: deps.redact,
      log,
      minIntervalMs: deps.progressIntervalMs,
      onState: (state) => deps.store.update(task.id, { data: { progress: { phase: state.phase, step: state.step, currentAction: state.currentAction } } }),
    });
    let step = 0;
    const tally = createUsageTally();
    function onEvent(event: RunEvent) {
      if (event.type === 'step') step = event.step;
      // The live count (every attempt's together), so the daily token budget sees what a run still going has used.
      if (event.type === 'usage') deps.store.update(task.id, { data: { usage: tally(event) } });
      if (event.type === 'tool_call') {
        progress.update({ phase: 'working', step, maxSteps: config.maxSteps, attempts, currentAction: attemptPrefix(event) + describeToolCall(event.name, event.args) });
      }
    }
    const log_ = () => renderRunLog(events, { redact: deps.redact });
    const finish = (endReason: EndReason, patch: { error?: string; result?: TaskRecord['result']; data?: Record<string, unknown> } = {}) => {
      deps.store.update(task.id, { state: 'finished', endReason, finishedAt: new Date().toISOString(), ...patch });
    };

    /** A shutdown stopped the run: the queue takes it up again after the restart. */
    const leaveForRestart = () => {
      progress.update({ phase: 'queued', reason: 'autocoder is restarting; this run will start again when it is back.' });
    };

    let workspace: PreparedWorkspace | undefined;
    try {
      if (task.attempts > 1) log.warn({ attempts: task.attempts }, 'starting again after an interruption');
      progress.update({ phase: 'preparing', attempts });
      emit({ type: 'phase', phase: 'preparing' });
      const installation = await octokit();
      const token = await mintInstallationToken(await deps.getAppOctokit(), trigger.installationId);
      deps.addSecret(token);
      if (attempts > 1) {
        return await executeAttempts({
          task, run, config, attempts, installation, token, signal, log, emit, progress, finish, leaveForRestart,
          freshToken: async () => {
            const fresh = await mintInstallationToken(await deps.getAppOctokit(), trigger.installationId);
            deps.addSecret(fresh);
            return fresh;
          },
          runLog: log_,
          pushWithRetries: (ws) => pushWithRetries(ws, trigger.installationId, signal),
          pullRequestSummary: (current) => pullRequestSummary(task, current),
          endSentence,
          budgets: planRunBudgets(deps.budgets ?? {}, config.maxTokens, deps.usageToday?.(`${repo.owner}/${repo.repo}`, task.id)),
        });
      }
      workspace = await deps.workspaces.prepare({
        cloneUrl: trigger.repo.cloneUrl,
        token,
        branch: run.branch,
        baseBranch: trigger.repo.defaultBranch,
        fromExistingBranch: true,
        runId: task.id,
        signal,
      });
      const ws = workspace;
      await sweepAttemptBranches({ octokit: installation, repo, cachePath: ws.cachePath, keepDays: config.keepAttemptsDays, log });
      // `--models a` with one attempt: that model.
      const model = modelForAttempt(1, run.models, config.model);

      const sandbox = await detectSandbox(deps.sandbox);
      if (config.setupCommand) {
        const setup = await runRepoCommand({ purpose: 'setup', command: config.setupCommand, cwd: ws.path, root: ws.path, sandbox, env: deps.commandEnv, emit, signal });
        const failure = setupFailure(setup);
        if (failure && !signal.aborted) throw new AutocoderError('tool_failed', failure);
      }

      const sessionId = `github:${task.threadKey}`;
      const session = await deps.sessions.getSession(sessionId);
      const context = await loadPromptContext(installation, run, ws.path);

      // At most what is left of the repository's daily tokens, besides the run's own budgets.
      const budgetPlan = planRunBudgets(deps.budgets ?? {}, config.maxTokens, deps.usageToday?.(`${repo.owner}/${repo.repo}`, task.id));
      const budgetFigures = { usage: undefined as Usage | undefined, plan: budgetPlan, maxSteps: config.maxSteps };
      progress.update({ phase: 'working', step: 0, maxSteps: config.maxSteps });
      emit({ type: 'phase', phase: 'working' });
      const result: AgentResult = await runAgent({
        llm: deps.llm,
        model,
        cwd: ws.path,
        prompt: buildGithubPrompt(run, context),
        sessionId,
        emit,
        history: session?.messages,
        instructions: [config.instructions ?? '', ...(await readAgentsFile(ws.path))],
        maxSteps: config.maxSteps,
        maxMs: config.maxMinutes * 60_000,
        maxTokens: budgetPlan.maxTokens,
        maxCostUsd: budgetPlan.maxCostUsd,
        prices: budgetPlan.prices,
        signal,
        changeTracker: createGitChangeTracker(ws.path),
        commandEnv: deps.commandEnv,
        sandbox,
        writePolicy: run.mode === 'plan' ? () => 'a plan changes no file' : createWritePolicy(config),
      });
      await deps.sessions.saveSession({ id: sessionId, cwd: `${repo.owner}/${repo.repo}`, model, messages: result.messages });
      const summaryResult = {
        summary: result.summary, changedFiles: result.changedFiles, usage: result.usage, steps: result.steps,
        durationMs: result.durationMs, sessionId,
      };

      if (result.reason === 'cancelled' || result.reason === 'failed') {
        if (isShutdown(signal)) return leaveForRestart();
        const phase = result.reason === 'cancelled' ? 'cancelled' : 'failed';
        progress.update({ phase, reason: result.reason === 'cancelled' ? 'The run was cancelled.' : undefined, error: result.error ? { code: result.error.code, message: result.error.message } : undefined, log: log_() });
        finish(result.reason, { result: summaryResult, error: result.error?.message });
        return;
      }

      if (run.mode === 'plan' && result.reason !== 'completed') {
        // A budget ended it before it wrote one: nothing to approve, so no plan comment.
        const why = endSentence(result.reason, result.steps, config.maxMinutes, { ...budgetFigures, usage: result.usage, pushed: false });
        progress.update({ phase: 'no_changes', reason: [why, 'No plan was written; comment `/autocoder plan` to try again.'].filter(Boolean).join('\n\n'), log: log_() });
        finish(result.reason, { result: summaryResult });
        return;
      }
      if (run.mode === 'plan') {
        const planComment = await createCommentOnce(
          installation,
          { ...repo, issue_number: run.progressNumber, body: renderPlanComment({ plan: result.summary, runId: task.id, redact: deps.redact }) },
          { kind: 'plan', attributes: { run: task.id } },
        );
        // Approval finds the plan by this id, and only a comment so remembered can be approved.
        deps.store.update(task.id, { data: { planCommentId: planComment.id } });
        progress.update({ phase: 'done', reason: 'The plan is in the comment below.', log: log_() });
        finish(result.reason, { result: summaryResult });
        return;
      }

      const reverted = await revertBlocked(ws, result.changedFiles, config);
      const changedFiles = result.changedFiles.filter((f) => !reverted.includes(f.path));
      if (changedFiles.length === 0) {
        const why = reverted.length > 0
          ? `The only changes were to paths this repository does not let autocoder change: ${reverted.join(', ')}.`
          : result.reason === 'completed' ? 'The agent finished without changing any file.' : endSentence(result.reason, result.steps, config.maxMinutes, { ...budgetFigures, usage: result.usage, pushed: false });
        progress.update({ phase: 'no_changes', reason: [why, result.summary].filter(Boolean).join('\n\n'), log: log_() });
        finish(result.reason, { result: summaryResult });
        return;
      }

      let test: TestResult | undefined;
      if (config.testCommand) {
        progress.update({ phase: 'testing' });
        emit({ type: 'phase', phase: 'testing' });
        const tested = await runRepoCommand({ purpose: 'test', command: config.testCommand, cwd: ws.path, root: ws.path, sandbox, env: deps.commandEnv, emit, signal });
        test = { command: tested.command, exitCode: tested.exitCode, output: tested.output };
      }
      if (signal.aborted) {
        if (isShutdown(signal)) return leaveForRestart();
        progress.update({ phase: 'cancelled', reason: 'The run was cancelled.', log: log_() });
        finish('cancelled', { result: summaryResult });
        return;
      }

      emit({ type: 'phase', phase: 'publishing' });
      const bot = await deps.identity(installation);
      const { title, subject, requester } = namesOf(run, context.issue.title);
      await ws.commitAll({
        message: deps.redact(`${subject}\n\n${result.summary}`),
        authorName: bot.name,
        authorEmail: bot.email,
        coAuthors: [requester],
      });
      await pushWithRetries(ws, trigger.installationId, signal);

      const incomplete = endSentence(result.reason, result.steps, config.maxMinutes, { ...budgetFigures, usage: result.usage });
      // The body tells each run's summary: the whole pull request's story.
      const pr = await publishPullRequest(installation, {
        ...repo, cwd: ws.path, head: ws.branch, base: trigger.repo.defaultBranch, title, draft: config.draft, incomplete, reverted, log,
        body: {
          summary: pullRequestSummary(task, result.summary),
          issueNumber: run.issueNumber,
          test,
          model,
          usage: result.usage,
          durationMs: result.durationMs,
          log: log_(),
          runId: task.id,
          redact: deps.redact,
        },
      });
      deps.store.update(task.id, { data: { pullRequestNumber: pr.number, pullRequestUrl: pr.url } });
      progress.update({
        phase: 'done',
        pullRequestUrl: pr.url,
        reason: publishedNotes({ incomplete, test, notice: pr.notice }),
        log: log_(),
      });
      finish(result.reason, { result: { ...summaryResult, changedFiles, test, pullRequestUrl: pr.url } });
    } catch (thrown) {
      const error = toAutocoderError(thrown);
      if (isShutdown(signal)) return leaveForRestart();
      const cancelled = signal.aborted;
      log.error({ err: error }, 'run failed');
      if (!cancelled) emit({ type: 'error', code: error.code, message: deps.redact(error.message), retryable: error.retryable });
      progress.update({ phase: cancelled ? 'cancelled' : 'failed', error: cancelled ? undefined : { code: error.code, message: error.message }, log: log_() });
      finish(cancelled ? 'cancelled' : 'failed', { error: deps.redact(error.message) });
    } finally {
      await progress.flush();
      await workspace?.remove().catch((error) => log.warn({ err: error }, 'could not remove the worktree'));
    }
  };

  function pullRequestSummary(task: TaskRecord, current: string): string {
    const earlier = task.threadKey
      ? deps.store
          .byThread(task.threadKey)
          // A run that stopped on a budget and was continued says only that it stopped: left out.
          .filter((t) => t.id !== task.id && t.state === 'finished' && t.result?.pullRequestUrl && t.endReason === 'completed')
          .map((t) => t.result!.summary)
      : [];
    return pullRequestSummaryOf(earlier, current);
  }

  /** Pushes with a fresh token; when the branch moved on, rebases on it and tries again a few times. */
  async function pushWithRetries(ws: PreparedWorkspace, installationId: number, signal: AbortSignal): Promise<void> {
    const attempts = deps.pushAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      const token = await mintInstallationToken(await deps.getAppOctokit(), installationId);
      deps.addSecret(token);
      const pushed = await ws.push({ token, signal });
      if (pushed.ok) return;
      if (!pushed.rejected || attempt >= attempts) {
        throw new AutocoderError(
          'push_rejected',
          `the push to ${ws.branch} was rejected${pushed.rejected ? ` ${attempt} times because the branch kept moving` : ''}: ${pushed.message}`,
        );
      }
      const rebased = await ws.rebaseOnRemote({ token, signal });
      if (!rebased.ok) throw new AutocoderError('push_rejected', rebased.message);
    }
  }
}
