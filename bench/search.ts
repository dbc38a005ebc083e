/**
 * `search_code` on a checkout of the large repository, through the tool's real entry point
 * (argument parsing, validation, path containment, the search program, rendering for the model),
 * against raw `git grep` for the same query in the same tree. Several queries, from one rare
 * literal to one that matches on every page; the median of several runs each, interleaved.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { buildCommandEnv } from '../src/engine/tools/command-env.js';
import { defaultTools, executeToolCall, type ToolContext } from '../src/engine/tools/index.js';
import { git, gitEnv } from '../src/workspace/git.js';
import type { Benchmark } from './lib/bench.js';
import { CACHE_DIR, ensureLargeRepo, LARGE_REPO_PATH, PLANTED } from './lib/large-repo.js';
import { formatMs, median, timed } from './lib/stats.js';
import { ratioText, type Row } from './lib/table.js';

const RUNS = 7;
const CHECKOUT = join(CACHE_DIR, 'large-checkout');

const QUERIES = [
  { name: 'rare literal', query: PLANTED.rare },
  { name: 'regex', query: 'handle[A-Z][a-z]+Request[0-9]+_0' },
  { name: 'common text', query: 'return total' },
  { name: 'no match', query: 'zz_never_present_qq' },
];

/** A plain checkout of the large repository, made once and kept with the cache. */
async function ensureCheckout(log: (line: string) => void): Promise<string> {
  const { generatedMs } = await ensureLargeRepo(log);
  if (existsSync(join(CHECKOUT, '.git')) && generatedMs === 0) return CHECKOUT;
  log(`  checking out the large repository into ${CHECKOUT} ...`);
  const temp = `${CHECKOUT}.tmp`;
  await rm(temp, { recursive: true, force: true });
  await git(['clone', '--quiet', '--local', LARGE_REPO_PATH, temp], { cwd: CACHE_DIR });
  await rm(CHECKOUT, { recursive: true, force: true });
  await rename(temp, CHECKOUT);
  return CHECKOUT;
}

/** Raw `git grep`, its output read and dropped; resolves with the number of lines it printed. */
function gitGrep(cwd: string, query: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['grep', '-n', '-I', '-E', '-e', query], { cwd, env: gitEnv(), stdio: ['ignore', 'pipe', 'ignore'] });
    let lines = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 || code === 1 ? resolve(lines) : reject(new Error(`git grep exited with ${code}`))));
  });
}

export const searchBench: Benchmark = {
  name: 'search',
  description: 'search_code on the large repository vs raw git grep',
  async run(ctx) {
    const root = await ensureCheckout(ctx.log);
    const context: ToolContext = {
      root,
      commandTimeoutMs: 60_000,
      commandMaxOutputBytes: 1024 * 1024,
      commandEnv: buildCommandEnv(process.env),
    };
    const tool = async (query: string) => {
      const result = await executeToolCall(defaultTools, 'search_code', JSON.stringify({ query }), context);
      if (!result.ok) throw new Error(`search_code failed: ${result.output}`);
      return result.output;
    };
    const rows: Row[] = [];
    for (const { name, query } of QUERIES) {
      // Once each first: the files in the page cache, the programs loaded.
      const output = await tool(query);
      const matches = await gitGrep(root, query);
      const toolMs: number[] = [];
      const grepMs: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        toolMs.push((await timed(() => tool(query))).ms);
        grepMs.push((await timed(() => gitGrep(root, query))).ms);
      }
      const t = median(toolMs);
      const g = median(grepMs);
      const shownLines = output.split('\n').length;
      ctx.log(`  ${name}: search_code ${formatMs(t)} vs git grep ${formatMs(g)}`);
      rows.push({
        id: `search.${query}`,
        bench: 'search',
        figure: `search_code: ${name}, ${matches.toLocaleString('en-US')} matches`,
        value: t,
        shown: formatMs(t),
        baseline: { label: 'git grep', shown: formatMs(g), value: g },
        ratio: t / g,
        ratioShown: ratioText(t / g),
        target: '≤ 1.2× git grep',
        pass: t <= 1.2 * g,
        details: { query, toolMs, grepMs, matches, toolOutputChars: output.length, toolOutputLines: shownLines },
      });
    }
    return rows;
  },
};
