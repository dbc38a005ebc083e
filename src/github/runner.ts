import type { Logger } from 'pino';
import { runAgent, type AgentResult } from '../engine/agent.js';
import { readAgentsFile } from '../engine/agents-file.js';
import { describeToolCall } from '../engine/describe.js';
import { AutocoderError, toAutocoderError } from '../engine/errors.js';
import { createEmitter, type EndReason, type FileChange, type RunEvent } from '../engine/events.js';
import type { LlmClient } from '../engine/llm.js';
import { detectSandbox, type SandboxRequest } from '../engine/sandbox/index.js';
import type { SessionStore } from '../engine/session.js';
import { isShutdown } from '../queue/embedded-queue.js';
import type { TaskRecord, TaskStore } from '../store/tasks.js';
import { runProcess } from '../util/process.js';
import type { Redactor } from '../util/redact.js';
import { git } from '../workspace/git.js';
import { createGitChangeTracker, diffTrees } from '../workspace/snapshot.js';
import type { PreparedWorkspace, WorkspaceManager } from '../workspace/index.js';
import type { BotIdentity } from './identity.js';
import { mintInstallationToken, type GetOctokit, type Octokit } from './octokit.js';
import { createProgressReporter, type ProgressReporter } from './progress.js';
import { buildGithubPrompt } from './prompt.js';
import { ensurePullRequest } from './pull-request.js';
import { renderPullRequestBody, renderRunLog, type TestResult } from './render.js';
import { createWritePolicy, type RepoConfig } from './repo-config.js';
import type { GithubRun } from './trigger.js';

export interface RunnerDeps {
  store: TaskStore;
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
}

const SETUP_TIMEOUT_MS = 15 * 60_000;
const TEST_TIMEOUT_MS = 20 * 60_000;
const COMMAND_OUTPUT_BYTES = 512 * 1024;

/** Paths changed against the policy are put back as they were; the pull request says which. */
async function revertBlocked(workspace: PreparedWorkspace, files: FileChange[], config: RepoConfig): Promise<string[]> {
  const policy = createWritePolicy(config);
  const blocked = files.filter((file) => policy(file.path) !== undefined).map((file) => file.path);
  for (const path of blocked) {
    const tracked = await git(['cat-file', '-e', `${workspace.baseSha}:${path}`], { cwd: workspace.path, okExitCodes: [1, 128] });
    if (tracked.exitCode === 0) {
      await git(['checkout', workspace.baseSha, '--', path], { cwd: workspace.path });
    } else {
      await git(['rm', '-q', '-f', '--cached', '--ignore-unmatch', '--', path], { cwd: workspace.path });
      await runProcess('rm', ['-f', '--', path], { cwd: workspace.path, env: { PATH: process.env.PATH } });
    }
  }
  return blocked;
}

function endSentence(reason: EndReason, steps: number, maxMinutes: number): string | undefined {
  if (reason === 'max_steps') return `The run used all ${steps} of its steps before it was finished; what it did so far is here.`;
  if (reason === 'max_time') return `The run reached its time budget of ${maxMinutes} minutes before it was finished; what it did so far is here.`;
  return undefined;
}

/** The first run's summary, then each revision's, so the body tells the pull request's whole story. */
function pullRequestSummaryOf(earlier: string[], current: string): string {
  const all = [...earlier, current].filter((text) => text.trim());
  return all.map((text, i) => (i === 0 ? text : `**Revision ${i}:** ${text}`)).join('\n\n');
}

/** Executes queued GitHub runs: working tree, agent, tests, commit, push, pull request, progress. */
export function createGithubRunner(deps: RunnerDeps) {
  return async function execute(task: TaskRecord, signal: AbortSignal): Promise<void> {
    const run = task.data.run as GithubRun;
    const trigger = run.trigger;
    const config = run.config as unknown as RepoConfig;
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
    function onEvent(event: RunEvent) {
      if (event.type === 'step') step = event.step;
      if (event.type === 'tool_call') {
        progress.update({ phase: 'working', step, maxSteps: config.maxSteps, currentAction: describeToolCall(event.name, event.args) });
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
      progress.update({ phase: 'preparing' });
      emit({ type: 'phase', phase: 'preparing' });
      const installation = await octokit();
      const token = await mintInstallationToken(await deps.getAppOctokit(), trigger.installationId);
      deps.addSecret(token);
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

      const sandbox = await detectSandbox(deps.sandbox);
      if (config.setupCommand) {
        // The one command with the network: it installs dependencies.
        const wrapped = await sandbox.wrap(config.setupCommand, { cwd: ws.path, env: deps.commandEnv, writablePaths: [ws.path], network: true });
        const setup = await runProcess(wrapped.file, wrapped.args, {
          cwd: ws.path, env: wrapped.env, timeoutMs: SETUP_TIMEOUT_MS, maxOutputBytes: COMMAND_OUTPUT_BYTES, signal,
        });
        emit({ type: 'command', purpose: 'setup', command: config.setupCommand, exitCode: setup.exitCode, output: setup.output, durationMs: setup.durationMs, timedOut: setup.timedOut });
        if (setup.exitCode !== 0 && !signal.aborted) {
          throw new AutocoderError('tool_failed', `the setup command \`${config.setupCommand}\` failed (exit ${setup.exitCode ?? 'killed'})`);
        }
      }

      const sessionId = `github:${task.threadKey}`;
      const session = await deps.sessions.getSession(sessionId);
      const issue = run.mode === 'revision' || trigger.isPullRequest
        ? (await installation.rest.issues.get({ ...repo, issue_number: run.issueNumber }).then((r) => ({ number: run.issueNumber, title: r.data.title, body: r.data.body ?? '' })).catch(() => ({ number: run.issueNumber, title: trigger.title, body: trigger.body })))
        : { number: run.issueNumber, title: trigger.title, body: trigger.body };
      const diff = run.mode === 'revision'
        ? (await git(['diff', `refs/remotes/origin/${ws.baseBranch}...HEAD`], { cwd: ws.path }).catch(() => undefined))?.stdout
        : undefined;

      progress.update({ phase: 'working', step: 0, maxSteps: config.maxSteps });
      emit({ type: 'phase', phase: 'working' });
      const result: AgentResult = await runAgent({
        llm: deps.llm,
        model: config.model,
        cwd: ws.path,
        prompt: buildGithubPrompt(run, { issue, diff }),
        sessionId,
        emit,
        history: session?.messages,
        instructions: [config.instructions ?? '', ...(await readAgentsFile(ws.path))],
        maxSteps: config.maxSteps,
        maxMs: config.maxMinutes * 60_000,
        signal,
        changeTracker: createGitChangeTracker(ws.path),
        commandEnv: deps.commandEnv,
        sandbox,
        writePolicy: run.mode === 'plan' ? () => 'a plan changes no file' : createWritePolicy(config),
      });
      await deps.sessions.saveSession({ id: sessionId, cwd: `${repo.owner}/${repo.repo}`, model: config.model, messages: result.messages });
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

      if (run.mode === 'plan') {
        await installation.rest.issues.createComment({ ...repo, issue_number: run.progressNumber, body: deps.redact(`### Plan\n\n${result.summary}\n\n<sub>run \`${task.id}\` · comment \`/autocoder\` to carry it out</sub>`) });
        progress.update({ phase: 'done', reason: 'The plan is in the comment below.', log: log_() });
        finish(result.reason, { result: summaryResult });
        return;
      }

      const reverted = await revertBlocked(ws, result.changedFiles, config);
      const changedFiles = result.changedFiles.filter((f) => !reverted.includes(f.path));
      if (changedFiles.length === 0) {
        const why = reverted.length > 0
          ? `The only changes were to paths this repository does not let autocoder change: ${reverted.join(', ')}.`
          : result.reason === 'completed' ? 'The agent finished without changing any file.' : endSentence(result.reason, result.steps, config.maxMinutes);
        progress.update({ phase: 'no_changes', reason: [why, result.summary].filter(Boolean).join('\n\n'), log: log_() });
        finish(result.reason, { result: summaryResult });
        return;
      }

      let test: TestResult | undefined;
      if (config.testCommand) {
        progress.update({ phase: 'testing' });
        emit({ type: 'phase', phase: 'testing' });
        const wrapped = await sandbox.wrap(config.testCommand, { cwd: ws.path, env: deps.commandEnv, writablePaths: [ws.path] });
        const tested = await runProcess(wrapped.file, wrapped.args, {
          cwd: ws.path, env: wrapped.env, timeoutMs: TEST_TIMEOUT_MS, maxOutputBytes: COMMAND_OUTPUT_BYTES, signal,
        });
        emit({ type: 'command', purpose: 'test', command: config.testCommand, exitCode: tested.exitCode, output: tested.output, durationMs: tested.durationMs, timedOut: tested.timedOut });
        test = { command: config.testCommand, exitCode: tested.exitCode, output: tested.output };
      }
      if (signal.aborted) {
        if (isShutdown(signal)) return leaveForRestart();
        progress.update({ phase: 'cancelled', reason: 'The run was cancelled.', log: log_() });
        finish('cancelled', { result: summaryResult });
        return;
      }

      emit({ type: 'phase', phase: 'publishing' });
      const bot = await deps.identity(installation);
      const requester = { name: trigger.sender.login, email: `${trigger.sender.id}+${trigger.sender.login}@users.noreply.github.com` };
      const title = issue.title.trim() || `Resolve #${run.issueNumber}`;
      const subject = run.mode === 'revision' ? `Revise #${run.pullNumber}: ${trigger.commandText ? 'address feedback' : 'update'}` : `${title} (#${run.issueNumber})`;
      await ws.commitAll({
        message: deps.redact(`${subject}\n\n${result.summary}`),
        authorName: bot.name,
        authorEmail: bot.email,
        coAuthors: [requester],
      });
      await pushWithRetries(ws, trigger.installationId, signal);

      const incomplete = endSentence(result.reason, result.steps, config.maxMinutes);
      // The body describes the whole pull request: every file the branch changes, and each run's summary.
      const mergeBase = (await git(['merge-base', `refs/remotes/origin/${ws.baseBranch}`, 'HEAD'], { cwd: ws.path })).stdout.trim();
      const branchFiles = (await diffTrees(ws.path, mergeBase, 'HEAD')).files;
      const body = renderPullRequestBody({
        summary: pullRequestSummary(task, result.summary),
        issueNumber: run.issueNumber,
        changedFiles: branchFiles,
        test,
        model: config.model,
        usage: result.usage,
        durationMs: result.durationMs,
        log: log_(),
        runId: task.id,
        incomplete: [incomplete, reverted.length ? `Changes to ${reverted.join(', ')} were left out: this repository's configuration does not let autocoder change them.` : undefined].filter(Boolean).join('\n') || undefined,
        redact: deps.redact,
      });
      const pr = await ensurePullRequest(installation, {
        ...repo,
        head: ws.branch,
        base: trigger.repo.defaultBranch,
        title: deps.redact(title),
        body,
        draft: config.draft || incomplete !== undefined,
      });
      deps.store.update(task.id, { data: { pullRequestNumber: pr.number, pullRequestUrl: pr.url } });
      progress.update({
        phase: 'done',
        pullRequestUrl: pr.url,
        reason: incomplete ?? (test && test.exitCode !== 0 ? `The test command \`${test.command}\` failed; see the pull request.` : undefined),
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
          .filter((t) => t.id !== task.id && t.state === 'finished' && t.result?.pullRequestUrl)
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
