import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { AppEnv } from '../config/env.js';
import type { SandboxRequest } from '../engine/sandbox/types.js';

/**
 * Credentials that homes commonly hold. The sandbox shows the system read-only, the home
 * included; these are unreadable instead (a command's output reaches the model, and from there a
 * pull request).
 */
export const HOME_CREDENTIALS = [
  '.ssh', '.gnupg', '.aws', '.azure', '.kube', '.docker', '.config/gh', '.config/gcloud', '.config/hub',
  '.git-credentials', '.netrc', '.npmrc', '.yarnrc.yml', '.pypirc', '.cargo/credentials', '.cargo/credentials.toml',
];

/**
 * What the sandbox must hide, for a process configured by `env`: the whole data dir (the store,
 * the mirror caches, other runs' worktrees; a run's own worktree stays visible inside it), the
 * private key file, the app's `.env` and the home's credential files. Only bwrap can hide them.
 */
export function sandboxRequest(
  env: Pick<AppEnv, 'dataDir' | 'privateKeyPath'>,
  options: { cwd?: string; home?: string; prefer?: SandboxRequest['prefer'] } = {},
): SandboxRequest {
  const cwd = options.cwd ?? process.cwd();
  const home = options.home ?? homedir();
  const hiddenPaths = [resolve(cwd, env.dataDir), join(cwd, '.env')];
  if (env.privateKeyPath) hiddenPaths.push(resolve(cwd, env.privateKeyPath));
  if (isAbsolute(home)) hiddenPaths.push(...HOME_CREDENTIALS.map((name) => join(home, name)));
  return { prefer: options.prefer, hiddenPaths };
}
