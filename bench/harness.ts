/**
 * The agent loop's own time per step: `runAgent` with an in-process model that answers at once
 * with a cheap tool call (`list_files` on a tiny repository), for many steps. Tool time is taken
 * out with the `tool_result` events' `durationMs`; what is left is the harness (prompt assembly,
 * context fitting, argument parsing and validation, events).
 *
 * Two sinks for the events: a bare array (the engine alone), and the server's sink (every event
 * into the SQLite task store and onto the live event bus), as a GitHub or API run has it.
 */
import { runAgent } from '../src/engine/agent.js';
import { createEmitter, type RunEvent } from '../src/engine/events.js';
import type { LlmClient, LlmRequest, LlmResponse } from '../src/engine/llm.js';
import { buildCommandEnv } from '../src/engine/tools/command-env.js';
import { EventBus } from '../src/queue/event-bus.js';
import { openDatabase } from '../src/store/sqlite.js';
import { TaskStore } from '../src/store/tasks.js';
import { makeTempRepo } from '../test/helpers/temp-repo.js';
import type { Benchmark } from './lib/bench.js';
import { benchTempDir, removeDir } from './lib/fs.js';
import { formatMs, median, now, sum } from './lib/stats.js';
import type { Row } from './lib/table.js';

const STEPS = 200;
const ROUNDS = 5;

/** Answers every call at once: `list_files` until the last step, then `finish`. */
function instantModel(steps: number): LlmClient & { calls: number; ms: number } {
  const model = {
    calls: 0,
    ms: 0,
    async complete(request: LlmRequest): Promise<LlmResponse> {
      const started = now();
      model.calls++;
      const last = model.calls >= steps;
      const response: LlmResponse = {
        text: '',
        toolCalls: [
          last
            ? { id: `call_${model.calls}`, name: 'finish', arguments: JSON.stringify({ summary: 'done' }) }
            : { id: `call_${model.calls}`, name: 'list_files', arguments: JSON.stringify({ path: 'src' }) },
        ],
        usage: { promptTokens: request.messages.length, completionTokens: 10, totalTokens: request.messages.length + 10 },
        finishReason: 'tool_calls',
      };
      model.ms += now() - started;
      return response;
    },
  };
  return model;
}

interface Measured {
  perStepMs: number;
  totalMs: number;
  toolMs: number;
  modelMs: number;
  steps: number;
}

async function measure(cwd: string, sink: (event: RunEvent) => void, taskId: string): Promise<Measured> {
  const llm = instantModel(STEPS);
  let toolMs = 0;
  const emit = createEmitter(taskId, (event) => {
    if (event.type === 'tool_result') toolMs += event.durationMs;
    sink(event);
  });
  const started = now();
  const result = await runAgent({
    llm,
    model: 'instant',
    cwd,
    prompt: 'List the files again and again.',
    sessionId: `ses-${taskId}`,
    emit,
    maxSteps: STEPS + 1,
    maxMs: 10 * 60_000,
    commandEnv: buildCommandEnv(process.env),
  });
  const totalMs = now() - started;
  if (result.reason !== 'completed') throw new Error(`the run ended ${result.reason}: ${result.summary}`);
  return { perStepMs: (totalMs - toolMs - llm.ms) / result.steps, totalMs, toolMs, modelMs: llm.ms, steps: result.steps };
}

export const harnessBench: Benchmark = {
  name: 'harness',
  description: 'agent loop time per step outside model and tool time (instant in-process model)',
  async run(ctx) {
    const repo = await makeTempRepo({
      'README.md': '# tiny\n',
      'src/a.ts': 'export const a = 1;\n',
      'src/b.ts': 'export const b = 2;\n',
      'src/lib/c.ts': 'export const c = 3;\n',
    });
    const dataDir = await benchTempDir('harness');
    const db = openDatabase(dataDir);
    const bus = new EventBus();
    const store = new TaskStore(db, (id) => bus.taskChanged(id));
    const bare: Measured[] = [];
    const stored: Measured[] = [];
    try {
      // The first round warms the JIT and is not counted.
      await measure(repo.root, () => {}, 'warmup');
      for (let round = 0; round < ROUNDS; round++) {
        const events: RunEvent[] = [];
        bare.push(await measure(repo.root, (event) => events.push(event), `bare-${round}`));
        const taskId = `run-${round}`;
        store.insert({ id: taskId, source: 'api', state: 'running', request: {} });
        stored.push(await measure(repo.root, (event) => {
          store.appendEvent(event);
          bus.publish(event);
        }, taskId));
      }
    } finally {
      db.close();
      await removeDir(dataDir);
      await repo.cleanup();
    }
    const perStep = median(bare.map((m) => m.perStepMs));
    const perStepStored = median(stored.map((m) => m.perStepMs));
    const toolPerStep = median(bare.map((m) => m.toolMs / m.steps));
    ctx.log(`  engine alone ${bare.map((m) => formatMs(m.perStepMs)).join(', ')} per step; with the store ${stored.map((m) => formatMs(m.perStepMs)).join(', ')}`);
    const details = { steps: STEPS, rounds: ROUNDS, bare, stored };
    return [
      {
        id: 'harness.step',
        bench: 'harness',
        figure: 'harness time per agent step (engine alone)',
        value: perStep,
        shown: formatMs(perStep),
        target: '≤ 20 ms per step',
        pass: perStep <= 20,
        note: `${STEPS} steps of list_files on a 4-file repository, median of ${ROUNDS} runs; the tool itself took ${formatMs(toolPerStep)} per step (subtracted), the model ${formatMs(sum(bare.map((m) => m.modelMs)) / sum(bare.map((m) => m.steps)))}`,
        details,
      },
      {
        id: 'harness.step.store',
        bench: 'harness',
        figure: 'harness time per agent step (events into SQLite + bus)',
        value: perStepStored,
        shown: formatMs(perStepStored),
        target: '≤ 20 ms per step',
        pass: perStepStored <= 20,
      },
    ] satisfies Row[];
  },
};
