import { realpath } from 'node:fs/promises';
import { truncateMiddle } from '../util/text.js';
import { fitContext, compactToolOutputs } from './context.js';
import { AutocoderError, toAutocoderError } from './errors.js';
import { budgetSummary, costOf, spentBudget, type Prices } from './budget.js';
import type { EndReason, Emit, FileChange, FinishedEvent, Usage } from './events.js';
import type { ChatMessage, LlmClient, ToolCall } from './llm.js';
import { buildSystemPrompt } from './prompt.js';
import { resolveSandbox } from './sandbox/index.js';
import type { CommandSandbox, SandboxRequest } from './sandbox/types.js';
import { defaultTools, executeToolCall, toolSpecs } from './tools/index.js';
import type { ToolContext, ToolDefinition } from './tools/types.js';

/** Finds what changed in the working tree between two moments; implemented over git in `src/workspace/`. */
export interface ChangeTracker {
  snapshot(): Promise<string | undefined>;
  changes(since: string): Promise<{ files: FileChange[]; patch: string }>;
}

export interface AgentOptions {
  llm: LlmClient;
  model: string;
  /** The working tree. */
  cwd: string;
  prompt: string;
  sessionId: string;
  emit: Emit;
  /** The conversation of earlier runs of this session (no system message). */
  history?: ChatMessage[];
  /** Extra system instructions (AGENTS.md, repository configuration). */
  instructions?: string[];
  maxSteps: number;
  maxMs: number;
  /** Most tokens (prompt + completion, as the API reports them) the run may use; absent: no limit. */
  maxTokens?: number;
  /** Most USD the run may cost; needs `prices`. */
  maxCostUsd?: number;
  /** What the model costs: when given, usage carries `costUsd`. */
  prices?: Prices;
  signal?: AbortSignal;
  tools?: ToolDefinition[];
  changeTracker?: ChangeTracker;
  /** The model's context window in tokens; old tool outputs are compacted before it fills. */
  contextTokens?: number;
  /** Characters of one tool output given to the model. */
  maxToolOutputChars?: number;
  commandTimeoutMs?: number;
  commandMaxOutputBytes?: number;
  commandEnv: NodeJS.ProcessEnv;
  /**
   * How `run_command` is confined: a sandbox, or what to detect one from (bwrap when it works
   * here, probed once per process; `hiddenPaths` such as the data dir and key files). Default:
   * detected, nothing extra hidden.
   */
  sandbox?: CommandSandbox | SandboxRequest;
  writePolicy?: ToolContext['writePolicy'];
}

export interface AgentResult {
  reason: EndReason;
  summary: string;
  changedFiles: FileChange[];
  /** Unified diff of the run's changes, when a change tracker was given. */
  patch: string;
  usage: Usage;
  steps: number;
  sessionId: string;
  durationMs: number;
  /** The conversation to keep for a later run (no system message). */
  messages: ChatMessage[];
  error?: AutocoderError;
}

const DEFAULTS = {
  contextTokens: 128_000,
  maxToolOutputChars: 30_000,
  commandTimeoutMs: 10 * 60_000,
  commandMaxOutputBytes: 1024 * 1024,
};

function addUsage(a: Usage, b: Usage): Usage {
  const sum: Usage = {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    totalTokens: a.totalTokens + b.totalTokens,
  };
  if (a.costUsd !== undefined || b.costUsd !== undefined) sum.costUsd = (a.costUsd ?? 0) + (b.costUsd ?? 0);
  return sum;
}

function parseArgs(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * The agent loop: model turn, tool calls, repeat, until the model finishes, a budget ends the run,
 * or it is cancelled. It never throws for a run that went wrong: the end reason and the `error`
 * say what happened, and every step is an event.
 */
export async function runAgent(options: AgentOptions): Promise<AgentResult> {
  const started = Date.now();
  const tools = options.tools ?? defaultTools;
  const specs = toolSpecs(tools);
  const fixedChars = JSON.stringify(specs).length;
  const contextTokens = options.contextTokens ?? DEFAULTS.contextTokens;
  const maxToolOutputChars = options.maxToolOutputChars ?? DEFAULTS.maxToolOutputChars;
  const { emit } = options;
  const root = await realpath(options.cwd);

  const history = (options.history ?? []).filter((m) => m.role !== 'system');
  const system: ChatMessage = { role: 'system', content: buildSystemPrompt({ instructions: options.instructions }) };
  const conversation: ChatMessage[] = [...history, { role: 'user', content: options.prompt }];

  // One controller for everything the run does; it fires on the caller's signal or the time budget.
  const controller = new AbortController();
  let timedOut = false;
  const onAbort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) controller.abort(options.signal.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new AutocoderError('cancelled', 'the run reached its time budget'));
  }, options.maxMs);

  emit({
    type: 'started',
    model: options.model,
    cwd: root,
    prompt: options.prompt,
    sessionId: options.sessionId,
    maxSteps: options.maxSteps,
    ...(options.maxTokens !== undefined ? { maxTokens: options.maxTokens } : {}),
    ...(options.maxCostUsd !== undefined && options.prices ? { maxCostUsd: options.maxCostUsd } : {}),
    resumed: history.length > 0,
  });

  const toolContext: ToolContext = {
    root,
    signal: controller.signal,
    commandTimeoutMs: options.commandTimeoutMs ?? DEFAULTS.commandTimeoutMs,
    commandMaxOutputBytes: options.commandMaxOutputBytes ?? DEFAULTS.commandMaxOutputBytes,
    commandEnv: options.commandEnv,
    writePolicy: options.writePolicy,
    onFileChanged: (path, change) => {
      liveChanges.set(path, change);
      emit({ type: 'file_changed', path, change });
    },
  };
  const liveChanges = new Map<string, FileChange['change']>();

  let baseline: string | undefined;
  let usage: Usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0, ...(options.prices ? { costUsd: 0 } : {}) };
  // A cost budget without prices could never be reached: it is not one (front-ends refuse it).
  const budgets = { maxTokens: options.maxTokens, maxCostUsd: options.prices ? options.maxCostUsd : undefined };
  let reason: EndReason | undefined;
  let summary = '';
  let error: AutocoderError | undefined;
  let step = 0;
  let overflowRetried = false;

  const stopReason = (): EndReason | undefined =>
    controller.signal.aborted ? (timedOut ? 'max_time' : 'cancelled') : undefined;

  try {
    toolContext.sandbox = await resolveSandbox(options.sandbox);
    baseline = await options.changeTracker?.snapshot();
    while (reason === undefined) {
      reason = stopReason();
      if (reason) break;
      if (step >= options.maxSteps) {
        reason = 'max_steps';
        summary = budgetSummary('max_steps', { steps: step, usage, budgets: { maxSteps: options.maxSteps } });
        break;
      }
      // Checked before each model call, from what the API reported so far: the answer that
      // crossed a budget has had its tool calls run, and no further call is paid for.
      const spent = spentBudget(usage, budgets);
      if (spent) {
        reason = spent;
        summary = budgetSummary(spent, { steps: step, usage, budgets });
        break;
      }
      step++;
      emit({ type: 'step', step });

      const compacted = fitContext(conversation, contextTokens, fixedChars + system.content.length);
      if (compacted) emit({ type: 'compacted', ...compacted });

      let response;
      try {
        response = await options.llm.complete(
          { model: options.model, messages: [system, ...conversation], tools: specs, signal: controller.signal },
          { onRetry: (info) => emit({ type: 'retry', retry: info.attempt, delayMs: info.delayMs, reason: info.reason }) },
        );
      } catch (thrown) {
        const failure = toAutocoderError(thrown);
        reason = stopReason();
        if (reason) break;
        if (failure.code === 'context_overflow' && !overflowRetried) {
          overflowRetried = true;
          const hard = compactToolOutputs(conversation, 0);
          if (hard.messages > 0) {
            emit({ type: 'compacted', ...hard });
            step--;
            continue;
          }
        }
        throw failure;
      }

      const answerUsage: Usage = options.prices ? { ...response.usage, costUsd: costOf(response.usage, options.prices) } : response.usage;
      usage = addUsage(usage, answerUsage);
      emit({ type: 'usage', step, usage: answerUsage, total: usage });
      if (response.text) emit({ type: 'model_text', step, text: response.text });
      conversation.push({
        role: 'assistant',
        content: response.text || null,
        ...(response.toolCalls.length > 0 ? { tool_calls: response.toolCalls } : {}),
      });

      if (response.toolCalls.length === 0) {
        reason = 'completed';
        summary = response.text.trim();
        break;
      }

      const finished = await runToolCalls(response.toolCalls, step);
      if (finished !== undefined) {
        reason = 'completed';
        summary = finished;
      }
    }
  } catch (thrown) {
    error = toAutocoderError(thrown);
    reason = stopReason() ?? 'failed';
    if (reason === 'failed') {
      emit({ type: 'error', code: error.code, message: error.message, retryable: error.retryable });
      summary = `The run failed: ${error.message}`;
    }
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }

  if (reason === 'cancelled') summary ||= 'The run was cancelled.';
  if (reason === 'max_time') summary ||= budgetSummary('max_time', { steps: step, usage, budgets: { maxMs: options.maxMs } });

  let changedFiles: FileChange[] = [...liveChanges].map(([path, change]) => ({ path, change }));
  let patch = '';
  if (options.changeTracker && baseline) {
    try {
      const changes = await options.changeTracker.changes(baseline);
      changedFiles = changes.files;
      patch = changes.patch;
    } catch (thrown) {
      const failure = toAutocoderError(thrown);
      emit({ type: 'error', code: failure.code, message: `could not list the changes: ${failure.message}`, retryable: false });
    }
  }

  const durationMs = Date.now() - started;
  const finishedEvent: Omit<FinishedEvent, 'taskId' | 'seq' | 'time'> = {
    type: 'finished',
    reason: reason ?? 'failed',
    summary,
    changedFiles,
    usage,
    steps: step,
    sessionId: options.sessionId,
    durationMs,
  };
  emit(finishedEvent);
  return { ...finishedEvent, patch, messages: conversation, error };

  /** Runs one turn's tool calls in order; returns the summary when `finish` was among them. */
  async function runToolCalls(calls: ToolCall[], turn: number): Promise<string | undefined> {
    let finishSummary: string | undefined;
    for (const call of calls) {
      emit({ type: 'tool_call', step: turn, callId: call.id, name: call.name, args: parseArgs(call.arguments) });
      const toolStarted = Date.now();
      const result = controller.signal.aborted
        ? { ok: false, output: 'not run: the run was stopped' }
        : await executeToolCall(tools, call.name, call.arguments, toolContext);
      const output = truncateMiddle(result.output, maxToolOutputChars);
      conversation.push({ role: 'tool', tool_call_id: call.id, content: output });
      emit({
        type: 'tool_result',
        step: turn,
        callId: call.id,
        name: call.name,
        ok: result.ok,
        output,
        durationMs: Date.now() - toolStarted,
        ...('exitCode' in result ? { exitCode: result.exitCode } : {}),
      });
      if ('finish' in result && result.finish) finishSummary = result.finish.summary.trim();
    }
    return finishSummary;
  }
}
