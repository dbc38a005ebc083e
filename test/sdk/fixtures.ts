/** Shared set-up of the SDK tests: a buggy repository, a model that fixes it, the examples as child processes. */
import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach } from 'vitest';
import { runNodeChild, type ChildOutcome } from '../helpers/child.js';
import { startScriptedLlm, type Script, type ScriptedLlm, type ScriptStep } from '../helpers/scripted-llm-server.js';
import { makeTempDir, makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';

export const KEY = 'sk-sdk-test-secret-0123456789abcdef';
export const MODEL = 'scripted-model';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

export function onCleanup(cleanup: () => Promise<void>): void {
  cleanups.push(cleanup);
}

export async function buggyRepo(): Promise<TempRepo> {
  const repo = await makeTempRepo({
    'src/math.js': 'export function add(a, b) {\n  return a - b;\n}\n',
    'test.js': "import { add } from './src/math.js';\nif (add(2, 3) !== 5) { console.error('add(2, 3) is', add(2, 3)); process.exit(1); }\nconsole.log('ok');\n",
    'package.json': '{ "type": "module" }\n',
  });
  onCleanup(() => repo.cleanup());
  return repo;
}

/** A scripted model that fixes `add` in five turns, whatever the conversation before. */
export function fixingModel(file = 'src/math.js'): Script {
  const steps: ScriptStep[] = [
    { text: 'Looking for add.', toolCalls: [{ name: 'search_code', arguments: { query: 'add' } }] },
    { toolCalls: [{ name: 'read_file', arguments: { path: file } }] },
    { toolCalls: [{ name: 'edit_file', arguments: { path: file, old_string: 'return a - b;', new_string: 'return a + b;' } }] },
    { toolCalls: [{ name: 'run_command', arguments: { command: 'node test.js' } }] },
    { toolCalls: [{ name: 'finish', arguments: { summary: 'Fixed add(): it subtracted instead of adding.' } }] },
  ];
  let i = 0;
  return () => steps[Math.min(i++, steps.length - 1)];
}

export async function scriptedLlm(script: Script): Promise<ScriptedLlm> {
  const llm = await startScriptedLlm(script);
  onCleanup(() => llm.close());
  return llm;
}

export async function dataDir(): Promise<string> {
  const dir = await makeTempDir('autocoder-sdk-data-');
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A unique `sleep` argument per pid file: the command's pid is found on the host by it. The pid
 * cannot come from the command itself: in the sandbox `$$` is its pid in its own namespace and
 * /tmp is private to it.
 */
function sleepTag(pidFile: string): string {
  return `30.${parseInt(createHash('sha256').update(pidFile).digest('hex').slice(0, 12), 16)}`;
}

/**
 * A model whose first turn runs a command that sleeps 30 s: a command in flight to cancel. Any
 * later turn finishes.
 */
export function sleepingModel(pidFile: string): Script {
  return (_request, index) =>
    index === 0
      ? { toolCalls: [{ name: 'run_command', arguments: { command: `exec sleep ${sleepTag(pidFile)}` } }] }
      : { toolCalls: [{ name: 'finish', arguments: { summary: 'should not get here' } }] };
}

/** The host pid of {@link sleepingModel}'s command, once it runs. */
export async function waitForPid(pidFile: string, timeoutMs = 10_000): Promise<number> {
  const tag = sleepTag(pidFile);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const name of await readdir('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const argv = (await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).split('\0');
      if (argv[0].endsWith('sleep') && argv[1] === tag) return Number(name);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no command sleeping ${tag} after ${timeoutMs} ms`);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** tsx's loader by absolute URL, so an example runs from any folder (the repository as cwd). */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export type { ChildOutcome };

/** Runs a file with Node (and tsx, for TypeScript), as a user would. */
export function runNode(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<ChildOutcome> {
  return runNodeChild(['--import', TSX, ...args], options);
}

export function example(name: string): string {
  return join(ROOT, 'examples', name);
}

/** The environment an example reads its model endpoint from. */
export function modelEnv(llm: ScriptedLlm, data: string): NodeJS.ProcessEnv {
  return { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: llm.baseURL, AUTOCODER_MODEL: MODEL, AUTOCODER_DATA_DIR: data };
}
