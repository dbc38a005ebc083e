import { realpath, stat } from 'node:fs/promises';
import { runAgent, type AgentResult } from '../engine/agent.js';
import { readAgentsFile } from '../engine/agents-file.js';
import { AutocoderError } from '../engine/errors.js';
import { createEmitter, type Emit, type EndReason, type EventSink, type RunEvent } from '../engine/events.js';
import type { ChatMessage, LlmClient } from '../engine/llm.js';
import type { SessionStore } from '../engine/session.js';
import type { CommandSandbox, SandboxRequest } from '../engine/sandbox/types.js';
import { buildCommandEnv } from '../engine/tools/command-env.js';
import { createOpenAiClient } from '../llm/openai-client.js';
import { createSessionStore, openDatabase } from '../store/sqlite.js';
import { newId } from '../util/ids.js';
import { createGitChangeTracker } from '../workspace/snapshot.js';
import { shareBudgets, type Prices } from '../engine/budget.js';
import { resolveSandbox } from '../engine/sandbox/index.js';
import { attemptsOf, rankAttempts, validateAttempts, type AttemptOutcome } from '../engine/attempts.js';
import { runLocalAttempts } from './local-attempts.js';
import { runRepoCommand, type CommandRun } from '../engine/repo-command.js';

export interface LocalRunOptions {
  prompt: string;
  /** The working tree; default the current folder. */
  cwd?: string;
  model: string;
  /** Continue (or start) the session with this id. */
  session?: string;
  /** Continue the most recent session of this working tree. */
  continueLatest?: boolean;
  maxSteps?: number;
  maxMinutes?: number;
  /** Token and cost budgets (src/engine/budget.ts); a cost budget needs `prices`. */
  maxTokens?: number;
  maxCostUsd?: number;
  prices?: Prices;
  signal?: AbortSignal;
  onEvent?: EventSink;
  /** Where conversations are kept: a store the caller owns, or `dataDir`. */
  sessions?: SessionStore;
  /**
   * Without `sessions`: the data directory whose embedded store keeps the conversation. It is
   * opened only after the request is validated, and closed when the run ends, so an SDK caller
   * holds no database between runs.
   */
  dataDir?: string;
  /** The model endpoint: a client, or what to build one from. */
  llm?: LlmClient;
  apiKey?: string;
  baseURL?: string;
  /** The environment commands are given (filtered through the allowlist); default process.env. */
  commandSourceEnv?: NodeJS.ProcessEnv;
  /** How commands are confined; default: bwrap when it works here, the data dir hidden. */
  sandbox?: CommandSandbox | SandboxRequest;
  /**
   * Best of N (1–5): more than one runs that many agents at once, each in its own worktree of the
   * repository at HEAD, and applies the chosen one's change to the working tree. Default: one per
   * entry of `models` when there are several, else 1 (a run exactly as without it).
   */
  attempts?: number;
  /** The models of the attempts, round-robin; the first is the model of a run of one attempt. */
  models?: string[];
  /** The command that judges each attempt (tests passing first); with one attempt it runs after the agent. */
  testCommand?: string;
}

export type LocalRunResult = Omit<AgentResult, 'messages'> & {
  taskId: string;
  events: RunEvent[];
  /** Best of N: every attempt's outcome, in attempt order (absent for a run of one attempt). */
  attempts?: AttemptOutcome[];
  /** Best of N: the attempt whose change is in the working tree, or null when none was usable (or it could not be applied). */
  chosenAttempt?: number | null;
  /** The test command's result, when one ran (of the chosen attempt, for best of N). */
  test?: CommandRun;
};

/** The token and cost budgets a run was given, checked once for every front-end (CLI, SDK). */
function budgetsOf(options: Pick<LocalRunOptions, 'maxTokens' | 'maxCostUsd' | 'prices'>): Pick<LocalRunOptions, 'maxTokens' | 'maxCostUsd' | 'prices'> {
  if (options.maxTokens !== undefined && (!Number.isInteger(options.maxTokens) || options.maxTokens <= 0)) {
    throw new AutocoderError('config_invalid', `max tokens must be a positive whole number, got ${options.maxTokens}`);
  }
  if (options.maxCostUsd !== undefined && !options.prices) {
    throw new AutocoderError(
      'config_invalid',
      'a cost budget needs the model\'s prices: set AUTOCODER_PRICE_PER_MTOK_INPUT and AUTOCODER_PRICE_PER_MTOK_OUTPUT (USD per million tokens)',
    );
  }
  return { maxTokens: options.maxTokens, maxCostUsd: options.maxCostUsd, prices: options.prices };
}

export const DEFAULT_MAX_STEPS = 40;
export const DEFAULT_MAX_MINUTES = 30;

/**
 * One run of the engine on a local working tree, with its conversation kept in the session
 * store: what the CLI and the SDK both call.
 */
export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  const cwd = options.cwd ?? process.cwd();
  const info = await stat(cwd).catch(() => undefined);
  if (!info?.isDirectory()) throw new AutocoderError('config_invalid', `the folder ${cwd} does not exist`);
  const root = await realpath(cwd);
  if (!options.prompt.trim()) throw new AutocoderError('config_invalid', 'the prompt is empty: give it as an argument or on standard input');
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  if (!Number.isInteger(maxSteps) || maxSteps <= 0) {
    throw new AutocoderError('config_invalid', `max steps must be a positive whole number, got ${options.maxSteps}`);
  }

  budgetsOf(options);
  validateAttempts(options.attempts, options.models, options.testCommand);
  attemptsOf(options.attempts, options.models);

  const llm = options.llm ?? createOpenAiClient({ apiKey: options.apiKey ?? '', baseURL: options.baseURL });

  if (options.sessions) return runWithSessions(options, root, maxSteps, llm, options.sessions);
  if (!options.dataDir) throw new AutocoderError('internal', 'runLocal needs either a session store or a data directory');
  let db;
  try {
    db = openDatabase(options.dataDir);
  } catch (error) {
    throw new AutocoderError('config_invalid', `cannot open the data directory ${options.dataDir}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return await runWithSessions(options, root, maxSteps, llm, createSessionStore(db));
  } finally {
    db.close();
  }
}

async function runWithSessions(
  options: LocalRunOptions,
  root: string,
  maxSteps: number,
  llm: LlmClient,
  sessions: SessionStore,
): Promise<LocalRunResult> {
  let session = options.session ? await sessions.getSession(options.session) : undefined;
  if (!session && options.continueLatest) {
    session = await sessions.latestSession(root);
    if (!session) {
      throw new AutocoderError('session_not_found', `there is no earlier session in ${root} to continue; run without --continue first`);
    }
  }
  const sessionId = session?.id ?? options.session ?? newId('ses');
  const taskId = newId('run');
  const events: RunEvent[] = [];
  const emit = createEmitter(taskId, (event) => {
    events.push(event);
    options.onEvent?.(event);
  });
  const attempts = attemptsOf(options.attempts, options.models);
  if (attempts > 1) return runAttemptsWithSessions(options, { root, maxSteps, llm, sessions, sessionId, history: session?.messages, taskId, events, emit, attempts });
  const model = options.models?.[0] ?? options.model;
  const sandbox = await resolveSandbox(options.sandbox ?? { hiddenPaths: options.dataDir ? [options.dataDir] : [] });
  const commandEnv = buildCommandEnv(options.commandSourceEnv ?? process.env);

  const result = await runAgent({
    llm,
    model,
    cwd: root,
    prompt: options.prompt,
    sessionId,
    emit,
    history: session?.messages,
    instructions: await readAgentsFile(root),
    maxSteps,
    maxMs: (options.maxMinutes ?? DEFAULT_MAX_MINUTES) * 60_000,
    ...budgetsOf(options),
    signal: options.signal,
    changeTracker: createGitChangeTracker(root),
    commandEnv,
    sandbox,
  });
  await sessions.saveSession({ id: sessionId, cwd: root, model, messages: result.messages });
  let test: CommandRun | undefined;
  if (options.testCommand && result.reason !== 'failed' && result.reason !== 'cancelled' && !options.signal?.aborted) {
    emit({ type: 'phase', phase: 'testing' });
    test = await runRepoCommand({ purpose: 'test', command: options.testCommand, cwd: root, root, sandbox, env: commandEnv, emit, signal: options.signal });
  }
  const { messages: _messages, ...rest } = result;
  return { ...rest, taskId, events, ...(test ? { test } : {}) };
}

/**
 * Best of N on the working tree: the attempts (src/runtime/local-attempts.ts), then the session
 * remembered for `--continue` is the chosen attempt's conversation (or, when none was usable,
 * the best-ranked one's), and the result is the chosen attempt's, with every attempt's tokens.
 */
async function runAttemptsWithSessions(
  options: LocalRunOptions,
  run: {
    root: string;
    maxSteps: number;
    llm: LlmClient;
    sessions: SessionStore;
    sessionId: string;
    history: ChatMessage[] | undefined;
    taskId: string;
    events: RunEvent[];
    emit: Emit;
    attempts: number;
  },
): Promise<LocalRunResult> {
  const started = Date.now();
  const best = await runLocalAttempts({
    cwd: run.root,
    dataDir: options.dataDir,
    attempts: run.attempts,
    models: options.models,
    defaultModel: options.model,
    testCommand: options.testCommand,
    emit: run.emit,
    sandbox: options.sandbox ?? { hiddenPaths: options.dataDir ? [options.dataDir] : [] },
    agent: {
      llm: run.llm,
      prompt: options.prompt,
      sessionId: run.sessionId,
      history: run.history,
      maxSteps: run.maxSteps,
      maxMs: (options.maxMinutes ?? DEFAULT_MAX_MINUTES) * 60_000,
      // The run's budgets, shared evenly by its attempts (as on GitHub and the REST API).
      ...shareBudgets(budgetsOf(options), run.attempts),
      signal: options.signal,
      commandEnv: buildCommandEnv(options.commandSourceEnv ?? process.env),
    },
  });
  const ranked = rankAttempts(best.outcomes);
  const kept = best.chosen ?? best.runs.find((r) => r.outcome.attempt === ranked[0]?.attempt && r.result) ?? best.runs.find((r) => r.result);
  if (kept?.result) {
    await run.sessions.saveSession({ id: run.sessionId, cwd: run.root, model: kept.outcome.model, messages: kept.result.messages });
  }
  const applied = best.applied ? best.chosen : undefined;
  const error =
    best.applyError ??
    (applied ? undefined : kept?.result?.error) ??
    (kept?.result ? undefined : new AutocoderError('internal', kept?.outcome.error ?? 'no attempt could start'));
  const reason: EndReason = options.signal?.aborted ? 'cancelled' : best.applyError ? 'failed' : (kept?.result?.reason ?? 'failed');
  return {
    reason,
    summary: kept?.result?.summary ?? kept?.outcome.error ?? '',
    changedFiles: applied?.result?.changedFiles ?? [],
    patch: applied?.result?.patch ?? '',
    usage: best.usage,
    steps: kept?.result?.steps ?? 0,
    sessionId: run.sessionId,
    durationMs: Date.now() - started,
    ...(error ? { error } : {}),
    taskId: run.taskId,
    events: run.events,
    attempts: best.outcomes,
    chosenAttempt: applied ? applied.outcome.attempt : null,
    ...(applied?.test ? { test: applied.test } : {}),
  };
}
