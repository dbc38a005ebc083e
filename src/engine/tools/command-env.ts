/**
 * The environment of the commands the agent runs. An allowlist, never the process's own
 * environment: the app holds the installation token, the LLM key and its private key, and a
 * command (written by the model, from text anyone can put in an issue) must see none of them.
 */

const ALLOWED = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'TZ', 'TMPDIR'];

/** Fixed values: no prompts waiting on a closed stdin, no pagers, no colour codes in the output. */
const FIXED: Record<string, string> = {
  TERM: 'dumb',
  CI: '1',
  GIT_TERMINAL_PROMPT: '0',
  PAGER: 'cat',
  GIT_PAGER: 'cat',
  NO_COLOR: '1',
};

const SECRET_NAME = /TOKEN|SECRET|KEY|PASSWORD|PASS|CREDENTIAL|AUTH|PRIVATE|SESSION|COOKIE/i;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Values that look like credentials whatever their variable is called. Prefixes are anchored at
 * a non-alphanumeric boundary so that e.g. `/opt/task-runner/bin` in PATH is not taken for `sk-`.
 */
const SECRET_VALUE = [
  /(?:^|[^A-Za-z0-9])gh[opsur]_[A-Za-z0-9]{16,}/,
  /github_pat_[A-Za-z0-9_]{16,}/,
  /(?:^|[^A-Za-z0-9])sk-[A-Za-z0-9_-]{16,}/,
  /-----BEGIN/,
  // URLs with a password in them (e.g. redis://:pw@host).
  /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:[^/\s@]+@/i,
];

export function looksSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

export function looksSecretValue(value: string): boolean {
  return SECRET_VALUE.some((pattern) => pattern.test(value));
}

/**
 * Builds the complete environment for `run_command`. `extra` names (e.g. from operator
 * configuration) are copied from `source` only when the name does not look like a secret;
 * any value that looks like a credential is dropped, allowlisted names included.
 */
export function buildCommandEnv(source: NodeJS.ProcessEnv = process.env, extra: string[] = []): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const copy = (name: string) => {
    const value = source[name];
    if (value !== undefined && !looksSecretValue(value)) env[name] = value;
  };
  for (const name of ALLOWED) copy(name);
  for (const name of Object.keys(source)) {
    if (name.startsWith('LC_')) copy(name);
  }
  for (const name of extra) {
    if (ENV_NAME.test(name) && !looksSecretName(name) && !(name in FIXED)) copy(name);
  }
  return { ...env, ...FIXED };
}
