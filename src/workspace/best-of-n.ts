import { runAgent, type AgentOptions, type AgentResult } from '../engine/agent.js';
import { readAgentsFile } from '../engine/agents-file.js';
import { addUsages, chooseAttempt, countDiffLines, modelForAttempt, type AttemptOutcome } from '../engine/attempts.js';
import { toAutocoderError } from '../engine/errors.js';
import type { Emit, FileChange, RunEventBody, Usage } from '../engine/events.js';
import { runRepoCommand, setupFailure, type CommandRun } from '../engine/repo-command.js';
import { resolveSandbox } from '../engine/sandbox/index.js';
import type { CommandSandbox, SandboxRequest } from '../engine/sandbox/types.js';
import { git } from './git.js';
import { createGitChangeTracker, snapshotTree } from './snapshot.js';
import { binaryPatch } from './tree-patch.js';

/**
 * Best of N, the part every front-end shares (the GitHub App, the CLI, the SDK, the REST API).
 * It lives beside the worktrees because it reads each attempt's change with git.
 */

/** Where one attempt works: a working tree of its own at the same commit as the others. */
export interface AttemptTree {
  /** The worktree's top level. */
  root: string;
  /** The folder the agent works in: `root`, or the same subfolder the request was made in. */
  cwd: string;
}

/** What of an attempt's work counts as its change (see `BestOfNOptions.settle`). */
export interface SettledChange {
  files: FileChange[];
  /** A unified diff of `files`, for counting lines. */
  patch: string;
  /** Why nothing is left, when `files` is empty (default: "changed nothing"). */
  note?: string;
}

export interface BestOfNOptions {
  attempts: number;
  /** Attempt k uses the k-th, round-robin; absent: every attempt uses `defaultModel`. */
  models?: readonly string[];
  defaultModel: string;
  /** Makes attempt k's tree. Called one at a time (git takes turns on one repository); each attempt starts once its tree is ready. */
  prepare(attempt: number): Promise<AttemptTree>;
  /** Run in each tree before its agent starts (dependencies); when it fails, that attempt ends. */
  setupCommand?: string;
  /** Judges each attempt that changed something; without it, the smallest change wins. */
  testCommand?: string;
  /**
   * After an agent that changed something, before the tests: what of its work is the change
   * (the GitHub App leaves out paths it may not change, and commits). Default: all it changed.
   */
  settle?(attempt: number, tree: AttemptTree, result: AgentResult): Promise<SettledChange>;
  /** The run's emitter: every event of attempt k is given `attempt: k`. */
  emit: Emit;
  /** What every attempt's agent gets; model, tree, emitter, change tracker and sandbox are per attempt. */
  agent: Omit<AgentOptions, 'model' | 'cwd' | 'emit' | 'changeTracker' | 'sandbox'>;
  sandbox?: CommandSandbox | SandboxRequest;
  /** Applied to error messages before they are emitted or kept in an outcome. */
  redact?: (text: string) => string;
}

export interface AttemptRun {
  outcome: AttemptOutcome;
  /** Absent when the attempt never started (its tree could not be made, its setup failed). */
  result?: AgentResult;
  tree?: AttemptTree;
  test?: CommandRun;
  /** The attempt's change from the common start, `git apply`-able (binary files too), from the tree's top level. */
  patch: string;
}

export interface BestOfN {
  /** In attempt order. */
  runs: AttemptRun[];
  outcomes: AttemptOutcome[];
  /** The one to keep (tests passing, then the smallest diff: src/engine/attempts.ts), if any is usable. */
  chosen?: AttemptRun;
  /** Every attempt's tokens added up: what the request cost. */
  usage: Usage;
}

const NO_USAGE: Usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };

/**
 * N agents at once, each in its own tree with its own model and conversation, the test command
 * on each that changed something, and the choice, told in an `attempts` event. What happens to
 * the chosen change (applied to the user's tree, pushed) and to the trees is the caller's. Never
 * throws for an attempt that goes wrong: its outcome says what happened.
 */
export async function runBestOfN(options: BestOfNOptions): Promise<BestOfN> {
  const sandbox = await resolveSandbox(options.sandbox);
  let turn: Promise<unknown> = Promise.resolve();
  const runs = await Promise.all(
    Array.from({ length: options.attempts }, (_, index) => {
      const attempt = index + 1;
      const model = modelForAttempt(attempt, options.models, options.defaultModel);
      const emit: Emit = (body) => options.emit({ ...body, attempt } as RunEventBody);
      const ready = turn.then(() => options.prepare(attempt));
      turn = ready.catch(() => undefined);
      return ready.then(
        (tree) => runAttempt(options, { attempt, model, emit, tree, sandbox }),
        (thrown: unknown) => failedToStart(options, attempt, model, emit, thrown),
      );
    }),
  );
  const outcomes = runs.map((run) => run.outcome);
  const best = options.agent.signal?.aborted ? undefined : chooseAttempt(outcomes);
  const chosen = best && runs.find((run) => run.outcome.attempt === best.attempt);
  options.emit({ type: 'attempts', outcomes, chosen: chosen?.outcome.attempt ?? null });
  return { runs, outcomes, chosen, usage: addUsages(runs.map((run) => run.outcome.usage)) };
}

async function runAttempt(
  options: BestOfNOptions,
  at: { attempt: number; model: string; emit: Emit; tree: AttemptTree; sandbox: CommandSandbox },
): Promise<AttemptRun> {
  const started = Date.now();
  const { tree, emit } = at;
  const signal = options.agent.signal;
  const redact = options.redact ?? ((text: string) => text);
  const env = options.agent.commandEnv ?? {};
  let result: AgentResult | undefined;
  const failed = (error: string): AttemptRun => ({
    outcome: {
      attempt: at.attempt,
      model: at.model,
      reason: signal?.aborted ? 'cancelled' : 'failed',
      filesChanged: 0,
      linesAdded: 0,
      linesRemoved: 0,
      usage: result?.usage ?? NO_USAGE,
      durationMs: Date.now() - started,
      error: redact(error),
    },
    result,
    tree,
    patch: '',
  });
  try {
    if (options.setupCommand) {
      const setup = await runRepoCommand({ purpose: 'setup', command: options.setupCommand, cwd: tree.cwd, root: tree.root, sandbox: at.sandbox, env, emit, signal });
      const failure = setupFailure(setup);
      if (failure) return failed(failure);
    }
    const baseTree = (await git(['rev-parse', 'HEAD^{tree}'], { cwd: tree.root })).stdout.trim();
    result = await runAgent({
      ...options.agent,
      model: at.model,
      cwd: tree.cwd,
      emit,
      instructions: [...(options.agent.instructions ?? []), ...(await readAgentsFile(tree.cwd))],
      changeTracker: createGitChangeTracker(tree.cwd),
      sandbox: at.sandbox,
    });
    const worked = result.changedFiles.length > 0 && result.reason !== 'failed' && result.reason !== 'cancelled' && !signal?.aborted;
    const settled: SettledChange = worked && options.settle
      ? await options.settle(at.attempt, tree, result)
      : { files: result.changedFiles, patch: result.patch };
    const usable = worked && settled.files.length > 0;
    // The change is taken before the tests run: what they leave behind (reports, caches) is not part of it.
    const endTree = usable ? await snapshotTree(tree.root) : undefined;
    const patch = endTree ? await binaryPatch(tree.root, baseTree, endTree) : '';
    let test: CommandRun | undefined;
    if (usable && options.testCommand) {
      emit({ type: 'phase', phase: 'testing' });
      test = await runRepoCommand({ purpose: 'test', command: options.testCommand, cwd: tree.cwd, root: tree.root, sandbox: at.sandbox, env, emit, signal });
    }
    const lines = countDiffLines(settled.patch);
    const nothing = result.error ? redact(result.error.message) : settled.files.length === 0 ? (settled.note ?? 'changed nothing') : undefined;
    return {
      outcome: {
        attempt: at.attempt,
        model: at.model,
        reason: signal?.aborted ? 'cancelled' : result.reason,
        ...(test ? { testExitCode: test.exitCode } : {}),
        filesChanged: settled.files.length,
        linesAdded: lines.added,
        linesRemoved: lines.removed,
        usage: result.usage,
        durationMs: Date.now() - started,
        ...(nothing ? { error: nothing } : {}),
      },
      result,
      tree,
      test,
      patch,
    };
  } catch (thrown) {
    // The agent never throws; this is git, a hook or a command's sandbox failing around it.
    const error = toAutocoderError(thrown);
    if (!signal?.aborted) emit({ type: 'error', code: error.code, message: redact(error.message), retryable: error.retryable });
    return failed(error.message);
  }
}

function failedToStart(options: BestOfNOptions, attempt: number, model: string, emit: Emit, thrown: unknown): AttemptRun {
  const error = toAutocoderError(thrown);
  const message = (options.redact ?? ((text: string) => text))(error.message);
  emit({ type: 'error', code: error.code, message, retryable: error.retryable });
  return {
    outcome: { attempt, model, reason: 'failed', filesChanged: 0, linesAdded: 0, linesRemoved: 0, usage: NO_USAGE, durationMs: 0, error: `its working tree could not be made: ${message}` },
    patch: '',
  };
}
