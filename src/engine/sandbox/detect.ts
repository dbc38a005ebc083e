import { realpath } from 'node:fs/promises';
import { runProcess } from '../../util/process.js';
import { AutocoderError } from '../errors.js';
import { baseArgs, createBwrapSandbox, type BwrapFeatures } from './bwrap.js';
import { createUnsandboxed } from './none.js';
import { findOnPath } from './shell.js';
import { DEFAULT_LIMITS, type CommandSandbox, type SandboxLimits, type SandboxRequest } from './types.js';

export type BwrapProbe =
  | { ok: true; path: string; version: string; features: BwrapFeatures }
  | { ok: false; reason: string };

const PROBE_TIMEOUT_MS = 10_000;
const FULL: BwrapFeatures = { size: true, disableUserns: true };
const MINIMAL: BwrapFeatures = { size: false, disableUserns: false };

/** One probe per bwrap binary for the life of the process: its answer does not change. */
const probes = new Map<string, Promise<BwrapProbe>>();

async function tryProfile(path: string, features: BwrapFeatures): Promise<string | undefined> {
  const env = { PATH: '/usr/local/bin:/usr/bin:/bin' };
  const result = await runProcess(path, [...baseArgs(features, false, 1024 * 1024), '--chdir', '/', '--', 'true'], {
    cwd: '/',
    env,
    timeoutMs: PROBE_TIMEOUT_MS,
    maxOutputBytes: 16 * 1024,
  }).catch((error: Error) => ({ exitCode: null, output: error.message, timedOut: false }));
  if (result.exitCode === 0) return undefined;
  return result.timedOut ? 'the probe timed out' : result.output.trim().split('\n')[0] || `exit ${result.exitCode}`;
}

async function probe(path: string): Promise<BwrapProbe> {
  const version = await runProcess(path, ['--version'], { cwd: '/', env: {}, timeoutMs: PROBE_TIMEOUT_MS }).catch(() => undefined);
  if (!version || version.exitCode !== 0) return { ok: false, reason: `${path} --version failed` };
  // Being installed is not enough: user namespaces may be off (sysctl, a container's seccomp).
  const full = await tryProfile(path, FULL);
  if (full === undefined) return { ok: true, path, version: version.stdout.trim().replace(/^bubblewrap\s*/, ''), features: FULL };
  const minimal = await tryProfile(path, MINIMAL);
  if (minimal === undefined) return { ok: true, path, version: version.stdout.trim().replace(/^bubblewrap\s*/, ''), features: MINIMAL };
  return { ok: false, reason: `bwrap cannot make a sandbox here: ${minimal}` };
}

/** Finds bwrap on `searchPath` and checks that it really makes a sandbox; cached per process. */
export async function probeBwrap(searchPath: string | undefined = process.env.PATH): Promise<BwrapProbe> {
  const found = findOnPath('bwrap', `${searchPath ?? ''}:/usr/bin:/bin`);
  if (!found) return { ok: false, reason: 'bwrap is not installed' };
  const path = await realpath(found).catch(() => found);
  let cached = probes.get(path);
  if (!cached) {
    cached = probe(path);
    probes.set(path, cached);
  }
  return cached;
}

/**
 * The sandbox commands get in this process: bwrap when it works here (probed once), else none,
 * which still has the environment allowlist and the limits. `prefer: 'bwrap'` makes a missing
 * or unusable bwrap an error instead.
 */
export async function detectSandbox(request: SandboxRequest = {}): Promise<CommandSandbox> {
  const limits: SandboxLimits = { ...DEFAULT_LIMITS, ...request.limits };
  const prefer = request.prefer ?? 'auto';
  if (prefer === 'none') return createUnsandboxed(limits, 'turned off');
  const found = await probeBwrap();
  if (found.ok) {
    return createBwrapSandbox({
      bwrapPath: found.path,
      version: found.version,
      features: found.features,
      hiddenPaths: request.hiddenPaths ?? [],
      limits,
    });
  }
  if (prefer === 'bwrap') throw new AutocoderError('config_invalid', `the command sandbox needs bwrap, and ${found.reason}`);
  return createUnsandboxed(limits, found.reason);
}
