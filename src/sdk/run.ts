import { AutocoderError, toAutocoderError } from '../engine/errors.js';
import type { RunEvent } from '../engine/events.js';
import { runLocal } from '../runtime/local-run.js';
import { AsyncQueue } from '../util/async-queue.js';
import { resolveOptions } from './options.js';
import { toRunResult, type RunResult } from './result.js';

export interface RunHooks {
  onEvent?: (event: RunEvent) => void;
  /** Cancels the run, besides the caller's own `signal`. */
  cancel?: AbortSignal;
}

/**
 * One run, start to end. Everything it holds (model client, database connection, abort
 * controller) is made here and dropped when it ends, so runs in one process share nothing.
 * Rejects with an AutocoderError only when the run cannot start.
 */
export async function execute(prompt: unknown, options: unknown, hooks: RunHooks = {}): Promise<RunResult> {
  let unlink = () => {};
  try {
    const resolved = resolveOptions(prompt, options);
    const o = resolved.options;
    const linked = linkSignals(o.signal, hooks.cancel);
    unlink = linked.dispose;
    const result = await runLocal({
      prompt: resolved.prompt.trim(),
      cwd: o.cwd,
      model: o.model,
      session: o.session,
      maxSteps: o.maxSteps,
      maxMinutes: o.maxMinutes,
      maxTokens: o.maxTokens,
      maxCostUsd: o.maxCostUsd,
      prices: o.prices,
      signal: linked.signal,
      apiKey: o.apiKey,
      baseURL: o.baseURL,
      dataDir: o.dataDir,
      attempts: o.attempts,
      models: o.models,
      testCommand: o.testCommand,
      onEvent: hooks.onEvent,
    });
    return toRunResult(result);
  } catch (thrown) {
    const error = toAutocoderError(thrown);
    // The shared message names the variable; an SDK caller may rather pass the option.
    if (error.code === 'missing_api_key') throw new AutocoderError(error.code, `${error.message} Or pass the apiKey option.`, { cause: error });
    throw error;
  } finally {
    unlink();
  }
}

/** One signal that fires when either does, and how to remove the listeners that makes. */
function linkSignals(a: AbortSignal | undefined, b: AbortSignal | undefined): { signal?: AbortSignal; dispose(): void } {
  if (!a || !b) return { signal: a ?? b, dispose() {} };
  const controller = new AbortController();
  const onA = () => controller.abort(a.reason);
  const onB = () => controller.abort(b.reason);
  if (a.aborted) onA();
  else if (b.aborted) onB();
  a.addEventListener('abort', onA, { once: true });
  b.addEventListener('abort', onB, { once: true });
  return {
    signal: controller.signal,
    dispose() {
      a.removeEventListener('abort', onA);
      b.removeEventListener('abort', onB);
    },
  };
}

/**
 * A run read with `for await`. It starts when iteration starts (an iterable never read never
 * runs); each event becomes zero or one item and `last` adds a final one; a reader that stops
 * early cancels the run, and its `break` returns once the run has wound down.
 */
export function streamRun<T>(
  prompt: unknown,
  options: unknown,
  toItem: (event: RunEvent) => T | undefined,
  last?: (result: RunResult) => T,
): AsyncIterable<T> {
  let queue: AsyncQueue<T> | undefined;
  return {
    [Symbol.asyncIterator]() {
      // One iterable is one run: iterating it again continues the same run.
      queue ??= start();
      return queue;
    },
  };

  function start(): AsyncQueue<T> {
    const stop = new AbortController();
    let running: Promise<void> = Promise.resolve();
    const items = new AsyncQueue<T>({
      onCancel: async () => {
        stop.abort(new AutocoderError('cancelled', 'the reader stopped reading'));
        await running;
      },
    });
    const onEvent = (event: RunEvent) => {
      const item = toItem(event);
      if (item !== undefined) items.push(item);
    };
    running = execute(prompt, options, { onEvent, cancel: stop.signal }).then(
      (result) => {
        if (last) items.push(last(result));
        items.end();
      },
      (error: unknown) => items.fail(error),
    );
    return items;
  }
}
