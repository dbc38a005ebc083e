/**
 * 16 runs at once against a model that takes 300 ms per answer, against 1 run alone: each run is
 * `runAgent` with the real OpenAI client on the scripted OpenAI-compatible server, in its own small
 * repository, with the git change tracker, as a GitHub run has them. Five model turns per run
 * (list, read, search, edit, finish).
 *
 * The runs are measured in a child process, plain `node` on the built engine (dist/), as the
 * server runs them: a process with the TypeScript loader in it forks dearer (every tool and
 * tracker call forks a git or rg), which made this benchmark slower than production.
 *
 * efficiency = 16 × (one run alone) / (the 16 runs' durations added up): 1.0 when a run in
 * company takes as long as alone. Memory per extra run = (peak RSS with 16 − peak RSS with 1) / 15.
 */
import { runProcess } from '../src/util/process.js';
import { startScriptedLlm, type RecordedRequest, type ScriptStep } from '../test/helpers/scripted-llm-server.js';
import { makeTempRepo, type TempRepo } from '../test/helpers/temp-repo.js';
import type { Benchmark } from './lib/bench.js';
import { formatBytes, formatMs, median, sum } from './lib/stats.js';
import { ratioText, type Row } from './lib/table.js';

const RUNS = 16;
const DELAY_MS = 300;
const ROUNDS = 3;

/** Model turns of this run so far: assistant messages after the (last) user message. */
function turnOf(request: RecordedRequest): number {
  const messages = request.body.messages as { role: string }[];
  let last = messages.length - 1;
  while (last >= 0 && messages[last].role !== 'user') last--;
  return messages.slice(last).filter((m) => m.role === 'assistant').length;
}

function script(request: RecordedRequest): ScriptStep {
  const steps: ScriptStep[] = [
    { toolCalls: [{ name: 'list_files', arguments: {} }] },
    { toolCalls: [{ name: 'read_file', arguments: { path: 'src/math.js' } }] },
    { toolCalls: [{ name: 'search_code', arguments: { query: 'add' } }] },
    { toolCalls: [{ name: 'edit_file', arguments: { path: 'src/math.js', old_string: 'a - b', new_string: 'a + b' } }] },
    { toolCalls: [{ name: 'finish', arguments: { summary: 'Fixed add().' } }] },
  ];
  return { ...steps[Math.min(turnOf(request), steps.length - 1)], delayMs: DELAY_MS };
}

function newRepo(): Promise<TempRepo> {
  return makeTempRepo({
    'README.md': '# widgets\n',
    'src/math.js': 'export function add(a, b) {\n  return a - b;\n}\n',
    'src/util.js': 'export const id = (x) => x;\n',
    'test.js': "import { add } from './src/math.js';\nif (add(2, 3) !== 5) process.exit(1);\n",
  });
}

/** Where one run's time went. */
interface RunTime {
  totalMs: number;
  modelMs: number;
  toolMs: number;
  trackerMs: number;
  /** What is left: the harness, and waiting for the event loop. */
  otherMs: number;
}

interface ChildResult {
  singles: RunTime[];
  batches: { wallMs: number; runs: RunTime[] }[];
  single: { peakRss: number; peakHeap: number };
  many: { peakRss: number; peakHeap: number };
}

/** Runs the measurement in a plain `node` on the built engine (see fixtures/concurrency-child.mjs). */
async function measureInChild(baseURL: string, repos: TempRepo[]): Promise<ChildResult> {
  const child = await runProcess(process.execPath, ['--expose-gc', 'bench/fixtures/concurrency-child.mjs', JSON.stringify({ baseURL, repos: repos.map((r) => r.root), rounds: ROUNDS })], {
    cwd: process.cwd(),
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    timeoutMs: 5 * 60_000,
    maxOutputBytes: 16 * 1024 * 1024,
  });
  if (child.exitCode !== 0) throw new Error(`the measuring process failed (${child.exitCode}): ${child.stderr}`);
  return JSON.parse(child.stdout) as ChildResult;
}

function breakdown(runs: RunTime[]): string {
  const avg = (key: keyof RunTime) => formatMs(sum(runs.map((r) => r[key])) / runs.length);
  return `model ${avg('modelMs')}, tools ${avg('toolMs')}, change tracker ${avg('trackerMs')}, rest ${avg('otherMs')}`;
}

export const concurrencyBench: Benchmark = {
  name: 'concurrency',
  description: '16 runs at once with a 300 ms model vs 1 run alone: efficiency and memory per extra run',
  async run(ctx) {
    const server = await startScriptedLlm(script);
    const repos = await Promise.all(Array.from({ length: RUNS }, () => newRepo()));
    let measured: ChildResult;
    try {
      measured = await measureInChild(server.baseURL, repos);
    } finally {
      await server.close();
      await Promise.all(repos.map((repo) => repo.cleanup()));
    }
    const { singles, batches, single, many } = measured;
    singles.forEach((alone, round) => {
      ctx.log(`  alone ${formatMs(alone.totalMs)} (${breakdown([alone])})`);
      const batch = batches[round];
      ctx.log(`  ${RUNS} at once: wall ${formatMs(batch.wallMs)}, mean run ${formatMs(sum(batch.runs.map((r) => r.totalMs)) / RUNS)} (${breakdown(batch.runs)})`);
    });
    const alone = median(singles.map((r) => r.totalMs));
    const efficiencies = batches.map((b) => (RUNS * alone) / sum(b.runs.map((r) => r.totalMs)));
    const efficiency = median(efficiencies);
    const wall = median(batches.map((b) => b.wallMs));
    const meanRun = median(batches.map((b) => sum(b.runs.map((r) => r.totalMs)) / RUNS));
    const perExtraRss = (many.peakRss - single.peakRss) / (RUNS - 1);
    const perExtraHeap = (many.peakHeap - single.peakHeap) / (RUNS - 1);
    const details = { delayMs: DELAY_MS, turns: 5, singles, batches, efficiencies, single, many, process: 'plain node on dist/' };
    return [
      {
        id: 'concurrency.efficiency',
        bench: 'concurrency',
        figure: `${RUNS} runs at once, model 300 ms/answer: efficiency`,
        value: efficiency,
        shown: `${efficiency.toFixed(2)} (mean run ${formatMs(meanRun)}, all ${RUNS} in ${formatMs(wall)})`,
        baseline: { label: '1 run alone', shown: formatMs(alone), value: alone },
        ratio: efficiency,
        ratioShown: ratioText(efficiency),
        target: 'efficiency ≥ 0.8',
        pass: efficiency >= 0.8,
        note: `alone: ${breakdown(singles)}; in company: ${breakdown(batches.flatMap((b) => b.runs))}. efficiency = ${RUNS} × alone / the ${RUNS} runs' durations added up (1.0: a run in company is as fast as alone); the ${RUNS} together finish ${((RUNS * alone) / wall).toFixed(1)}× sooner than one after another`,
        details,
      },
      {
        id: 'concurrency.memory',
        bench: 'concurrency',
        figure: 'memory per extra concurrent run',
        value: perExtraRss,
        shown: `${formatBytes(perExtraRss)} RSS, ${formatBytes(perExtraHeap)} heap`,
        baseline: { label: 'peak RSS with 1 run', shown: formatBytes(single.peakRss), value: single.peakRss },
        target: 'reported',
        note: `peak RSS ${formatBytes(single.peakRss)} with 1 run, ${formatBytes(many.peakRss)} with ${RUNS} (this process only; git and rg children not counted)`,
      },
    ] satisfies Row[];
  },
};
