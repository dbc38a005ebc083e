/**
 * The large repository the workspace and search benchmarks work on: generated once with
 * `git fast-import` into `bench/.cache/` and reused by later runs (the cache is gitignored).
 *
 * 20,000 source files in 20 packages, then 4,999 more commits that each change 1–4 files, so a
 * full clone has real history to transfer while a checkout has 20,000 files to write.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { git } from '../../src/workspace/git.js';
import { prng } from './stats.js';

export const CACHE_DIR = resolve('bench/.cache');
export const REPOS_DIR = join(CACHE_DIR, 'repos');
export const LARGE_REPO_NAME = 'large';
export const LARGE_REPO_PATH = join(REPOS_DIR, `${LARGE_REPO_NAME}.git`);

export const LARGE_REPO_SPEC = { files: 20_000, commits: 5_000, packages: 20, modulesPerPackage: 25, filesPerModule: 40, version: 1 };

/** Strings the search benchmark looks for; the generator plants them a known number of times. */
export const PLANTED = {
  /** In exactly 3 files. */
  rare: 'needle_7f3a9c',
};

const WORDS = ['widget', 'order', 'invoice', 'session', 'cache', 'router', 'parser', 'token', 'queue', 'report', 'account', 'ledger', 'stream', 'buffer', 'schema', 'client'];
const VERBS = ['handle', 'load', 'save', 'render', 'compute', 'validate', 'merge', 'resolve', 'build', 'format'];

function cap(word: string): string {
  return word[0].toUpperCase() + word.slice(1);
}

function fileContent(rand: () => number, index: number, revision: number): string {
  const lines: string[] = [`// generated file ${index}, revision ${revision}`, `import { helper${index % 97} } from '../shared/helpers.js';`, ''];
  const functions = 3 + Math.floor(rand() * 4);
  for (let f = 0; f < functions; f++) {
    const verb = VERBS[Math.floor(rand() * VERBS.length)];
    const noun = cap(WORDS[Math.floor(rand() * WORDS.length)]);
    const name = `${verb}${noun}${f % 3 === 0 ? 'Request' : ''}${index}_${f}`;
    lines.push(`/** ${cap(verb)}s the ${noun.toLowerCase()} for case ${f}. */`);
    lines.push(`export function ${name}(input: number, options: { limit?: number } = {}): number {`);
    lines.push(`  const limit = options.limit ?? ${Math.floor(rand() * 1000)};`);
    lines.push(`  if (input > limit) return helper${index % 97}(limit);`);
    lines.push(`  let total = ${Math.floor(rand() * 100)};`);
    lines.push(`  for (let i = 0; i < input; i++) total += i * ${1 + Math.floor(rand() * 9)};`);
    lines.push(`  return total + ${revision};`);
    lines.push('}', '');
  }
  return lines.join('\n');
}

function filePath(index: number): string {
  const { modulesPerPackage, filesPerModule } = LARGE_REPO_SPEC;
  const pkg = Math.floor(index / (modulesPerPackage * filesPerModule));
  const mod = Math.floor(index / filesPerModule) % modulesPerPackage;
  return `packages/pkg${String(pkg).padStart(2, '0')}/src/module${String(mod).padStart(2, '0')}/file${String(index).padStart(5, '0')}.ts`;
}

function data(text: string): string {
  return `data ${Buffer.byteLength(text)}\n${text}\n`;
}

/** The fast-import stream, produced in pieces so memory stays small. */
function* stream(): Generator<string> {
  const rand = prng(20_000_5_000);
  const { files, commits } = LARGE_REPO_SPEC;
  let time = 1_600_000_000;
  const who = (t: number) => `Bench Person <bench@example.com> ${t} +0000`;
  const rare = new Set([101, 9_999, 17_321]);
  const plant = (i: number, text: string) => (rare.has(i) ? `${text}// ${PLANTED.rare}: keep this marker\n` : text);

  let head = `commit refs/heads/main\nmark :1\nauthor ${who(time)}\ncommitter ${who(time)}\n${data('Initial import')}`;
  head += `M 100644 inline README.md\n${data('# large\n\nA generated repository for autocoder benchmarks.\n')}`;
  head += `M 100644 inline package.json\n${data('{ "name": "large", "private": true, "type": "module" }\n')}`;
  head += `M 100644 inline .gitignore\n${data('node_modules/\ndist/\n')}`;
  yield head;
  let chunk = '';
  for (let i = 0; i < files; i++) {
    chunk += `M 100644 inline ${filePath(i)}\n${data(plant(i, fileContent(rand, i, 0)))}`;
    if (chunk.length > 1 << 20) {
      yield chunk;
      chunk = '';
    }
  }
  yield `${chunk}\n`;
  const revisions = new Map<number, number>();
  chunk = '';
  for (let c = 2; c <= commits; c++) {
    time += 600;
    const touched = 1 + Math.floor(rand() * 4);
    chunk += `commit refs/heads/main\nmark :${c}\nauthor ${who(time)}\ncommitter ${who(time)}\n${data(`Change ${c}: update ${touched} file(s)`)}from :${c - 1}\n`;
    for (let t = 0; t < touched; t++) {
      const i = Math.floor(rand() * files);
      const revision = (revisions.get(i) ?? 0) + 1;
      revisions.set(i, revision);
      chunk += `M 100644 inline ${filePath(i)}\n${data(plant(i, fileContent(rand, i, revision)))}`;
    }
    chunk += '\n';
    if (chunk.length > 1 << 20) {
      yield chunk;
      chunk = '';
    }
  }
  yield chunk;
  yield 'done\n';
}

async function fastImport(repo: string): Promise<void> {
  const child = spawn('git', ['fast-import', '--quiet', '--done'], { cwd: repo, stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((done) => child.on('close', done));
  for (const piece of stream()) {
    if (!child.stdin.write(piece)) await new Promise((r) => child.stdin.once('drain', r));
  }
  child.stdin.end();
  const code = await exited;
  if (code !== 0) throw new Error(`git fast-import failed (${code}): ${stderr}`);
}

const run = (cwd: string, args: string[]) => git(args, { cwd, env: { GIT_CONFIG_GLOBAL: '/dev/null' }, timeoutMs: 15 * 60_000 });

/**
 * The bare repository at {@link LARGE_REPO_PATH}, generated when missing or made by an older
 * generator. Returns how long generating took (0 when the cache was used).
 */
export async function ensureLargeRepo(log: (line: string) => void = () => {}): Promise<{ path: string; generatedMs: number }> {
  const marker = join(LARGE_REPO_PATH, 'bench-spec.json');
  const spec = JSON.stringify(LARGE_REPO_SPEC);
  if (existsSync(marker) && (await readFile(marker, 'utf8').catch(() => '')) === spec) return { path: LARGE_REPO_PATH, generatedMs: 0 };
  const started = Date.now();
  log(`generating the large repository (${LARGE_REPO_SPEC.files} files, ${LARGE_REPO_SPEC.commits} commits) into ${LARGE_REPO_PATH} ...`);
  await mkdir(REPOS_DIR, { recursive: true });
  const temp = `${LARGE_REPO_PATH}.tmp`;
  await rm(temp, { recursive: true, force: true });
  await run(REPOS_DIR, ['init', '--bare', '--quiet', '--initial-branch=main', temp]);
  await fastImport(temp);
  // One well-deltified pack, as a hosted repository has: clones then transfer what GitHub would.
  await run(temp, ['repack', '-a', '-d', '-q', '--window=50']);
  await run(temp, ['config', 'http.receivepack', 'true']);
  await run(temp, ['config', 'gc.auto', '0']);
  await writeFile(join(temp, 'bench-spec.json'), spec);
  await rm(LARGE_REPO_PATH, { recursive: true, force: true });
  await rename(temp, LARGE_REPO_PATH);
  const generatedMs = Date.now() - started;
  log(`generated in ${(generatedMs / 1000).toFixed(1)} s`);
  return { path: LARGE_REPO_PATH, generatedMs };
}

/** Files and commits of the generated repository, counted (to show it is as large as promised). */
export async function countLargeRepo(): Promise<{ files: number; commits: number; packBytes: number }> {
  const files = (await run(LARGE_REPO_PATH, ['ls-tree', '-r', '--name-only', 'main'])).stdout.split('\n').filter(Boolean).length;
  const commits = Number((await run(LARGE_REPO_PATH, ['rev-list', '--count', 'main'])).stdout.trim());
  const sizes = (await run(LARGE_REPO_PATH, ['count-objects', '-v'])).stdout;
  const packBytes = Number(/size-pack: (\d+)/.exec(sizes)?.[1] ?? 0) * 1024;
  return { files, commits, packBytes };
}
