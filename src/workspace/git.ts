import { homedir } from 'node:os';
import { AutocoderError } from '../engine/errors.js';
import { runProcess, type ProcessResult } from '../util/process.js';

export interface GitOptions {
  cwd: string;
  /** Added to the minimal environment that {@link gitEnv} builds (e.g. `withAuth(token)`). */
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Exit codes that are answers rather than failures (e.g. 1 for `diff --quiet`). */
  okExitCodes?: number[];
  maxOutputBytes?: number;
}

export interface GitResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** What a failure's stderr says in plain words, and whether trying again may help. */
function classify(stderr: string): { hint?: string; retryable: boolean } {
  if (/could not read (Username|Password)|Authentication failed|returned error: 40[13]|invalid credentials/i.test(stderr)) {
    return { hint: 'authentication failed: the remote refused the token (or no token was given)', retryable: false };
  }
  if (/Could not resolve host|Failed to connect|Connection (refused|reset|timed out)|returned error: 5\d\d|early EOF|RPC failed|unexpected disconnect/i.test(stderr)) {
    return { hint: 'the remote could not be reached', retryable: true };
  }
  return { retryable: false };
}

/** The command as shown to people: without the `-c key=value` pairs, which are plumbing. */
function describeCommand(args: string[]): string {
  const shown: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-c' && shown.length === 0) i++;
    else shown.push(args[i]);
  }
  return `git ${shown.join(' ')}`;
}

/** A failed git command; the message names the command and carries git's (redacted) stderr. */
export class GitError extends AutocoderError {
  readonly args: string[];
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(args: string[], result: Pick<ProcessResult, 'exitCode' | 'stderr' | 'timedOut' | 'aborted'>, secrets: string[]) {
    const command = redact(describeCommand(args), secrets);
    const stderr = redact(result.stderr.trim(), secrets);
    const how = result.timedOut ? 'timed out' : result.aborted ? 'was cancelled' : `failed (exit ${result.exitCode})`;
    const detail = stderr.length > 2000 ? `${stderr.slice(0, 2000)} [...]` : stderr;
    const { hint, retryable } = classify(stderr);
    super('git_failed', `${command} ${how}${hint ? ` (${hint})` : ''}${detail ? `: ${detail}` : ''}`, {
      retryable: retryable || result.timedOut,
    });
    this.name = 'GitError';
    this.args = args.map((arg) => redact(arg, secrets));
    this.exitCode = result.exitCode;
    this.stderr = stderr;
  }
}

/**
 * Prepended to commands the workspace runs for a run (checkout, commit, rebase, fetch, push). The
 * agent's shell commands can write into the shared `.git`; nothing they plant there (hooks, an
 * fsmonitor program) may then run with the token in its environment.
 */
export const HARDENED_CONFIG = ['-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false'];

/** Network operations on big repositories take minutes; nothing should hang forever. */
const DEFAULT_TIMEOUT_MS = 10 * 60_000;
/** Diffs and listings are parsed whole, so keep far more than the process runner's default. */
const DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024;

/** Variables passed through when set: proxies and CA bundles are how operators reach GitHub Enterprise. */
const PASSED_THROUGH = [
  'http_proxy', 'https_proxy', 'no_proxy', 'all_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY',
  'SSL_CERT_FILE', 'SSL_CERT_DIR', 'GIT_SSL_CAINFO', 'TMPDIR',
];

/**
 * The whole environment of a git command. Built from nothing so that no GIT_DIR, GIT_INDEX_FILE or
 * secret of the server process leaks in, and so that git never waits for a password on a terminal.
 */
export function gitEnv(extra: Record<string, string | undefined> = {}, source: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: source.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: source.HOME ?? homedir(),
    LANG: source.LANG ?? 'C.UTF-8',
    // Messages in English: push results and conflicts are recognised by their text.
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    // Empty: git falls back to the (disabled) terminal prompt and fails instead of asking anyone.
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
  };
  for (const key of PASSED_THROUGH) if (source[key] !== undefined) env[key] = source[key];
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/**
 * Environment that authenticates one git command with a token. The header travels in the
 * environment, so the token is neither in argv (visible in `ps`) nor written to any config file.
 * With `scopeUrl`, the header is only sent to that URL's origin, so a rewritten remote
 * (`url.<x>.insteadOf` planted in a config) never receives it.
 */
export function withAuth(token: string, scopeUrl?: string): Record<string, string> {
  const key = scopeUrl ? `http.${urlOrigin(scopeUrl)}/.extraHeader` : 'http.extraHeader';
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: key,
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`,
  };
}

function urlOrigin(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    throw new AutocoderError('git_failed', 'not a valid remote URL');
  }
}

/** Removes credentials from a remote URL: git would otherwise store them in the config. */
export function stripCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.username && !parsed.password) return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** Replaces every known secret and every credential-shaped part of a text. */
export function redact(text: string, secrets: string[] = []): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('[REDACTED]');
  return out
    .replace(/(authorization:\s*)[^\r\n]*/gi, '$1[REDACTED]')
    .replace(/x-access-token:[^@\s]*@/gi, 'x-access-token:[REDACTED]@')
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, '$1[REDACTED]@');
}

/** The secrets an auth environment carries: the header, its base64 and the token inside. */
function secretsOf(env: Record<string, string | undefined>): string[] {
  const secrets: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (!/^GIT_CONFIG_VALUE_\d+$/.test(key) || !value) continue;
    secrets.push(value);
    const basic = /Basic\s+(\S+)/i.exec(value)?.[1];
    if (!basic) continue;
    secrets.push(basic);
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const password = decoded.slice(decoded.indexOf(':') + 1);
    if (password) secrets.push(password);
  }
  return secrets;
}

/** Runs one git command; throws {@link GitError} unless it exits with 0 or one of `okExitCodes`. */
export async function git(args: string[], options: GitOptions): Promise<GitResult> {
  const extra = options.env ?? {};
  const result = await runProcess('git', args, {
    cwd: options.cwd,
    env: gitEnv(extra),
    input: options.input,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    signal: options.signal,
    maxOutputBytes: options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT,
  });
  const ok = result.exitCode === 0 || (result.exitCode !== null && (options.okExitCodes ?? []).includes(result.exitCode));
  if (!ok || result.timedOut || result.aborted) {
    if (result.aborted) throw new AutocoderError('cancelled', `git ${args[0] ?? ''} was cancelled`);
    throw new GitError(args, result, secretsOf(extra));
  }
  return { exitCode: result.exitCode ?? 0, stdout: result.stdout, stderr: result.stderr };
}
