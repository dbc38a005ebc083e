import { realpath, stat } from 'node:fs/promises';
import { runAgent, type AgentResult } from '../engine/agent.js';
import { readAgentsFile } from '../engine/agents-file.js';
import { AutocoderError } from '../engine/errors.js';
import { createEmitter, type EventSink, type RunEvent } from '../engine/events.js';
import type { LlmClient } from '../engine/llm.js';
import type { SessionStore } from '../engine/session.js';
import type { CommandSandbox, SandboxRequest } from '../engine/sandbox/types.js';
import { buildCommandEnv } from '../engine/tools/command-env.js';
import { createOpenAiClient } from '../llm/openai-client.js';
import { createSessionStore, openDatabase } from '../store/sqlite.js';
import { newId } from '../util/ids.js';
import { createGitChangeTracker } from '../workspace/snapshot.js';

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
}

export type LocalRunResult = Omit<AgentResult, 'messages'> & { taskId: string; events: RunEvent[] };

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

  const result = await runAgent({
    llm,
    model: options.model,
    cwd: root,
    prompt: options.prompt,
    sessionId,
    emit,
    history: session?.messages,
    instructions: await readAgentsFile(root),
    maxSteps,
    maxMs: (options.maxMinutes ?? DEFAULT_MAX_MINUTES) * 60_000,
    signal: options.signal,
    changeTracker: createGitChangeTracker(root),
    commandEnv: buildCommandEnv(options.commandSourceEnv ?? process.env),
    sandbox: options.sandbox ?? { hiddenPaths: options.dataDir ? [options.dataDir] : [] },
  });
  await sessions.saveSession({ id: sessionId, cwd: root, model: options.model, messages: result.messages });
  const { messages: _messages, ...rest } = result;
  return { ...rest, taskId, events };
}
