import { realpath } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { runAgent, type AgentResult } from '../engine/agent.js';
import { readAgentsFile } from '../engine/agents-file.js';
import { AutocoderError, toAutocoderError } from '../engine/errors.js';
import { createEmitter, type EndReason, type RunEvent } from '../engine/events.js';
import type { ExecutorCore } from '../runtime/core.js';
import { DEFAULT_MAX_MINUTES, DEFAULT_MAX_STEPS } from '../runtime/local-run.js';
import type { TaskRecord, TaskResult } from '../store/tasks.js';
import { newId } from '../util/ids.js';
import { createGitChangeTracker } from '../workspace/snapshot.js';
import type { PreparedWorkspace } from '../workspace/index.js';
import type { CreateTaskBody } from './schemas.js';
import { taskBudgets } from './budget-limits.js';
import { attemptsOf, createUsageTally, type AttemptOutcome } from '../engine/attempts.js';
import { runRepoCommand, type CommandRun } from '../engine/repo-command.js';
import { detectSandbox } from '../engine/sandbox/index.js';
import { runApiAttempts } from './api-attempts.js';

const AUTHOR = { authorName: 'autocoder', authorEmail: 'autocoder@localhost' };
const PUSH_ATTEMPTS = 3;

/** The branch a task works on: the one to push to, or a private one that is never pushed. */
export const workBranch = (task: Pick<TaskRecord, 'id'>, request: CreateTaskBody) => request.pushBranch ?? `autocoder/task-${task.id}`;

/** Local paths are cloned from their real path (one mirror per repository however it is named). */
async function cloneUrlOf(repo: string): Promise<string> {
  if (!isAbsolute(repo)) return repo;
  return realpath(repo).catch(() => {
    throw new AutocoderError('config_invalid', `the repository ${repo} does not exist`);
  });
}

function commitMessage(prompt: string, summary: string): string {
  const subject = prompt.trim().split('\n')[0].slice(0, 72);
  return `${subject}\n\n${summary}`.trim();
}

/** Pushes without force; when the branch moved on meanwhile, replays the commit on it and tries again. */
async function pushWithRetries(ws: PreparedWorkspace, signal: AbortSignal): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const pushed = await ws.push({ signal });
    if (pushed.ok) return pushed.sha;
    if (!pushed.rejected || attempt >= PUSH_ATTEMPTS) {
      throw new AutocoderError('push_rejected', `the push to ${ws.branch} was rejected: ${pushed.message}`);
    }
    const rebased = await ws.rebaseOnRemote({ signal });
    if (!rebased.ok) throw new AutocoderError('push_rejected', rebased.message);
  }
}

/**
 * Executes tasks of source `api`: a working tree of the repository, the agent with the
 * session's conversation, and, when asked, a commit pushed to `pushBranch`. Every event goes to
 * the store (for replays) and the bus (for live readers).
 */
export function createApiRunner(core: ExecutorCore) {
  const { store, secrets } = core;
  return async function execute(task: TaskRecord, signal: AbortSignal): Promise<void> {
    const request = task.request as CreateTaskBody;
    const log = core.log.child({ taskId: task.id, repo: request.repo });
    // Best of N: each attempt counts its own total; the task's is all of them together.
    const tally = createUsageTally();
    const emit = createEmitter(
      task.id,
      (event: RunEvent) => {
        store.appendEvent(event);
        core.bus.publish(event);
        // Live token counts for lists, before the result exists.
        if (event.type === 'usage') {
          store.update(task.id, { data: { usage: tally(event) } });
        }
      },
      store.nextSeq(task.id),
    );
    const sessionId = request.session ?? newId('ses');
    const model = task.model ?? core.env.model;
    let result: AgentResult | undefined;
    // Best of N: the comparison, kept with the result; the test command's run, when one ran.
    let compared: { attempts: AttemptOutcome[]; chosenAttempt: number | null } | undefined;
    let tested: CommandRun | undefined;
    let usedModel = request.models?.[0] ?? model;
    let pushed: { branch: string; sha: string } | undefined;
    let workspace: PreparedWorkspace | undefined;

    const finish = (endReason: EndReason, error?: string) => {
      const summary: TaskResult | undefined = result && {
        summary: result.summary,
        changedFiles: result.changedFiles,
        usage: result.usage,
        steps: result.steps,
        durationMs: result.durationMs,
        sessionId,
        patch: result.patch,
        ...(pushed ? { pushed } : {}),
        ...(tested ? { test: { command: tested.command, exitCode: tested.exitCode } } : {}),
      };
      store.update(task.id, {
        state: 'finished',
        ...(usedModel !== task.model ? { model: usedModel } : {}),
        endReason,
        finishedAt: new Date().toISOString(),
        ...(summary ? { result: { ...summary, ...compared } } : compared ? { result: { summary: '', changedFiles: [], usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, steps: 0, durationMs: 0, sessionId, ...compared } } : {}),
        error: error ?? null,
      });
    };

    try {
      store.update(task.id, { data: { sessionId } });
      if (task.cancelRequested || signal.aborted) {
        finish('cancelled');
        return;
      }
      emit({ type: 'phase', phase: 'preparing' });
      workspace = await core.workspaces.prepare({
        cloneUrl: await cloneUrlOf(request.repo),
        branch: workBranch(task, request),
        baseBranch: request.branch,
        fromExistingBranch: Boolean(request.pushBranch),
        runId: task.id,
        signal,
      });
      const session = request.session ? await core.sessions.getSession(request.session) : undefined;

      emit({ type: 'phase', phase: 'working' });
      const attempts = attemptsOf(request.attempts, request.models);
      if (attempts > 1) {
        const best = await runApiAttempts(core, {
          taskId: task.id,
          cloneUrl: await cloneUrlOf(request.repo),
          primary: workspace,
          attempts,
          models: request.models,
          defaultModel: model,
          testCommand: request.testCommand,
          prompt: request.prompt,
          sessionId,
          history: session?.messages,
          maxSteps: request.maxSteps ?? DEFAULT_MAX_STEPS,
          maxMs: (request.maxMinutes ?? DEFAULT_MAX_MINUTES) * 60_000,
          budgets: taskBudgets(request, core.env),
          emit,
          signal,
        });
        compared = { attempts: best.outcomes, chosenAttempt: best.chosen };
        tested = best.test;
        usedModel = best.model;
        if (!best.result) {
          throw new AutocoderError('internal', `no attempt could start: ${best.outcomes.map((o) => `attempt ${o.attempt}: ${o.error ?? o.reason}`).join('; ')}`);
        }
        result = best.result;
      } else {
        result = await runAgent({
          llm: core.llm,
          model: usedModel,
          cwd: workspace.path,
          prompt: request.prompt,
          sessionId,
          emit,
          history: session?.messages,
          instructions: await readAgentsFile(workspace.path),
          maxSteps: request.maxSteps ?? DEFAULT_MAX_STEPS,
          maxMs: (request.maxMinutes ?? DEFAULT_MAX_MINUTES) * 60_000,
          ...taskBudgets(request, core.env),
          signal,
          changeTracker: createGitChangeTracker(workspace.path),
          commandEnv: core.commandEnv,
          sandbox: core.sandbox,
        });
        if (request.testCommand && result.changedFiles.length > 0 && result.reason !== 'failed' && result.reason !== 'cancelled' && !signal.aborted) {
          emit({ type: 'phase', phase: 'testing' });
          tested = await runRepoCommand({
            purpose: 'test', command: request.testCommand, cwd: workspace.path, root: workspace.path, sandbox: await detectSandbox(core.sandbox), env: core.commandEnv, emit, signal,
          });
        }
      }
      await core.sessions.saveSession({ id: sessionId, cwd: request.repo, model: usedModel, messages: result.messages });

      const publishable = result.reason !== 'failed' && result.reason !== 'cancelled' && !signal.aborted;
      if (request.pushBranch && publishable && result.changedFiles.length > 0) {
        emit({ type: 'phase', phase: 'publishing' });
        await workspace.commitAll({ message: secrets.redact(commitMessage(request.prompt, result.summary)), ...AUTHOR });
        pushed = { branch: workspace.branch, sha: await pushWithRetries(workspace, signal) };
      }
      finish(signal.aborted ? 'cancelled' : result.reason, result.error ? secrets.redact(result.error.message) : undefined);
    } catch (thrown) {
      const error = toAutocoderError(thrown);
      const cancelled = signal.aborted;
      if (!cancelled) {
        log.error({ err: error }, 'api task failed');
        emit({ type: 'error', code: error.code, message: secrets.redact(error.message), retryable: error.retryable });
      }
      finish(cancelled ? 'cancelled' : 'failed', cancelled ? undefined : secrets.redact(error.message));
    } finally {
      await workspace?.remove().catch((error) => log.warn({ err: error }, 'could not remove the worktree'));
    }
  };
}
