/**
 * A real temporary git repository for tests:
 *
 *   const repo = await makeTempRepo({ 'src/a.ts': 'export const a = 1;\n' });
 *   // ... repo.root is its real path (symbolic links of the temp dir resolved)
 *   await repo.cleanup();
 *
 * Git runs with a neutral identity and without the machine's global or system config, so the
 * tests behave the same everywhere.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const gitTestEnv: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: os.tmpdir(),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};

export interface TempRepo {
  /** Real path of the working tree. */
  root: string;
  /** Runs git in the repository; resolves with stdout. */
  git(...args: string[]): Promise<string>;
  cleanup(): Promise<void>;
}

export interface TempRepoOptions {
  /** `false`: a plain directory, no `git init`. Default true. */
  git?: boolean;
}

/** Writes `files` (path → content) under `root`, creating directories. */
export async function writeFiles(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(root, rel);
    await fs.mkdir(path.dirname(abs), { recursive: true });
    await fs.writeFile(abs, content);
  }
}

export async function makeTempDir(prefix = 'autocoder-test-'): Promise<string> {
  return fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), prefix)));
}

export async function makeTempRepo(files: Record<string, string | Buffer> = {}, options: TempRepoOptions = {}): Promise<TempRepo> {
  const root = await makeTempDir('autocoder-repo-');
  const git = async (...args: string[]) => (await execFileAsync('git', args, { cwd: root, env: gitTestEnv })).stdout;
  await writeFiles(root, files);
  if (options.git !== false) {
    await git('init', '-q', '-b', 'main');
    await git('add', '-A');
    await git('commit', '-q', '--allow-empty', '-m', 'initial');
  }
  return { root, git, cleanup: () => fs.rm(root, { recursive: true, force: true }) };
}
