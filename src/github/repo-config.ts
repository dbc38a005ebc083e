import { posix } from 'node:path';
import picomatch from 'picomatch';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { redactPatterns, type Redactor } from '../util/redact.js';

/**
 * `.github/autocoder.yml`: validated once, here, and strict. An unknown key is an error because
 * a typo (`testcommand`) silently ignored would leave a user wondering why the tests never ran.
 */

export const REPO_CONFIG_PATH = '.github/autocoder.yml';

export const REPO_CONFIG_DEFAULTS = {
  label: 'autocoder',
  maxSteps: 40,
  maxMinutes: 30,
  draft: true,
  attempts: 1,
  keepAttemptsDays: 7,
} as const;

/** A single glob is accepted where a list is expected: `allowedPaths: src/**`. */
const globList = z.preprocess(
  (value) => (typeof value === 'string' ? [value] : value),
  z.array(z.string().trim().min(1)),
);

const command = z.string().trim().min(1);

export const repoConfigSchema = z.strictObject({
  // GitHub label names are at most 50 characters.
  label: z.string().trim().min(1).max(50).default(REPO_CONFIG_DEFAULTS.label),
  model: z.string().trim().min(1).optional(),
  maxSteps: z.number().int().positive().default(REPO_CONFIG_DEFAULTS.maxSteps),
  maxMinutes: z.number().positive().default(REPO_CONFIG_DEFAULTS.maxMinutes),
  // Tokens one run may use; the operator's AUTOCODER_MAX_TOKENS is the default and the ceiling.
  maxTokens: z.number().int().positive().optional(),
  testCommand: command.optional(),
  setupCommand: command.optional(),
  instructions: z.string().optional(),
  draft: z.boolean().default(REPO_CONFIG_DEFAULTS.draft),
  allowedPaths: globList.optional(),
  blockedPaths: globList.default([]),
  attempts: z.number().int().positive().max(5).default(REPO_CONFIG_DEFAULTS.attempts),
  // The attempts not published stay as branches this long (0: not kept at all), then a later run deletes them.
  keepAttemptsDays: z.number().nonnegative().max(365).default(REPO_CONFIG_DEFAULTS.keepAttemptsDays),
});

export type RepoConfig = Omit<z.output<typeof repoConfigSchema>, 'model'> & { model: string };
export type RepoConfigInput = z.input<typeof repoConfigSchema>;

type Key = keyof typeof repoConfigSchema.shape;
export const REPO_CONFIG_KEYS = Object.keys(repoConfigSchema.shape) as Key[];

/** What each key takes, in words, for the error message. */
const EXPECTED: Record<Key, string> = {
  label: 'a label name (text, 1 to 50 characters)',
  model: 'a model name (text)',
  maxSteps: 'a positive integer',
  maxMinutes: 'a positive number of minutes',
  maxTokens: 'a positive whole number of tokens',
  testCommand: 'a shell command (text)',
  setupCommand: 'a shell command (text)',
  instructions: 'text',
  draft: 'true or false',
  allowedPaths: 'a list of globs (text)',
  blockedPaths: 'a list of globs (text)',
  attempts: 'a whole number from 1 to 5',
  keepAttemptsDays: 'a number of days from 0 to 365',
};

export type RepoConfigResult = { ok: true; config: RepoConfig } | { ok: false; errors: string[] };

/** A value as the user wrote it, short: `"ten"`, `3`, `["a", 1]`. */
function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

/** Edit distance counting a swap of two neighbours as one edit (`lable` -> `label`). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The known key a typo most likely meant: same letters in another case, or a few edits away. */
export function suggestKey(unknown: string): Key | undefined {
  const lower = unknown.toLowerCase().replace(/[-_\s]/g, '');
  const exact = REPO_CONFIG_KEYS.find((k) => k.toLowerCase() === lower);
  if (exact) return exact;
  let best: { key: Key; d: number } | undefined;
  for (const key of REPO_CONFIG_KEYS) {
    const d = editDistance(lower, key.toLowerCase());
    if (d <= (key.length <= 5 ? 1 : 2) && (!best || d < best.d)) best = { key, d };
  }
  return best?.key;
}

function describeIssues(raw: Record<string, unknown>, issues: z.core.$ZodIssue[]): string[] {
  const errors: string[] = [];
  const reported = new Set<string>();
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const suggestion = suggestKey(key);
        errors.push(
          suggestion
            ? `unknown key \`${key}\` (did you mean \`${suggestion}\`?)`
            : `unknown key \`${key}\` (the keys are ${REPO_CONFIG_KEYS.map((k) => `\`${k}\``).join(', ')})`,
        );
      }
      continue;
    }
    const key = String(issue.path[0] ?? '');
    // One message per key: a list with three bad entries is one mistake to fix.
    if (reported.has(key)) continue;
    reported.add(key);
    const expected = EXPECTED[key as Key];
    errors.push(expected ? `\`${key}\`: expected ${expected}, got ${show(raw[key])}` : `\`${key || '(file)'}\`: ${issue.message}`);
  }
  return errors;
}

/**
 * Validates what Probot's `context.config` returned (the parsed YAML; `null` when the file does
 * not exist). `defaults.model` is the operator's `AUTOCODER_MODEL`.
 */
export function parseRepoConfig(raw: unknown, defaults: { model: string }): RepoConfigResult {
  const input = raw ?? {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    return { ok: false, errors: [`the file must be a mapping of keys to values, got ${Array.isArray(input) ? 'a list' : show(input)}`] };
  }
  const result = repoConfigSchema.safeParse(input);
  if (!result.success) return { ok: false, errors: describeIssues(input as Record<string, unknown>, result.error.issues) };
  return { ok: true, config: { ...result.data, model: result.data.model ?? defaults.model } };
}

/** The same from the file's text, for callers that read it themselves. */
export function parseRepoConfigYaml(text: string, defaults: { model: string }): RepoConfigResult {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { ok: false, errors: [`the file is not valid YAML: ${message}`] };
  }
  return parseRepoConfig(raw, defaults);
}

/**
 * The comment posted instead of a run when the file is invalid. The errors quote values from
 * the file, which may hold a credential (a `testCommand` with a header): redacted too.
 */
export function renderConfigError(errors: string[], path: string = REPO_CONFIG_PATH, redact: Redactor = redactPatterns): string {
  return redact([
    '<!-- autocoder:config-error -->',
    `⚠️ **autocoder did not start:** \`${path}\` on the default branch is not valid.`,
    '',
    ...errors.map((e) => `- ${e}`),
    '',
    `Fix the file on the default branch, then add the label again or comment \`/autocoder\`. ` +
      `The keys are ${REPO_CONFIG_KEYS.map((k) => `\`${k}\``).join(', ')}, all optional.`,
  ].join('\n'));
}

/** Workflows run with the repository's secrets: changing them is never a side effect of a task. */
const PROTECTED = ['.github/workflows/**'];

export type WritePolicy = (relPath: string) => string | undefined;

/** Globs compiled with `dot: true`; a pattern naming a folder also covers what is inside it. */
function matcher(patterns: readonly string[]): (path: string) => string | undefined {
  const compiled = patterns.map((pattern) => {
    const clean = pattern.replace(/^\.?\//, '').replace(/\/+$/, '');
    return { pattern, test: picomatch([clean, `${clean}/**`], { dot: true }) };
  });
  return (path) => compiled.find((c) => c.test(path))?.pattern;
}

/**
 * Where the agent may write. Returns why a path is refused, for the model to read, or undefined
 * when the write is allowed. In order: anything in a `.git` folder (a hook would run on the
 * host: never allowed), `blockedPaths`, workflow files (unless a pattern of `allowedPaths` that
 * starts with `.github` matches them), and
 * when `allowedPaths` is set, everything it does not match.
 */
export function createWritePolicy(config: Pick<RepoConfig, 'allowedPaths'> & { blockedPaths?: string[] }): WritePolicy {
  const allowed = config.allowedPaths && config.allowedPaths.length > 0 ? matcher(config.allowedPaths) : undefined;
  const blocked = matcher(config.blockedPaths ?? []);
  const isProtected = matcher(PROTECTED);
  return (relPath) => {
    const path = posix.normalize(relPath.replace(/\\/g, '/')).replace(/^\.\//, '');
    if (path === '..' || path.startsWith('../') || path.startsWith('/')) return `\`${relPath}\` is outside the repository`;
    if (path.split('/').includes('.git')) return `\`${path}\` is inside a \`.git\` folder, which is never changed`;
    const blockedBy = blocked(path);
    if (blockedBy) return `\`${path}\` matches \`${blockedBy}\` in \`blockedPaths\` of ${REPO_CONFIG_PATH}`;
    const allowedBy = allowed?.(path);
    // Only a pattern written for `.github/` opens workflows: `allowedPaths: ['**']` means "the
    // code", not "and the CI that holds the secrets".
    if (isProtected(path) && !allowedBy?.replace(/^\.?\//, '').startsWith('.github')) {
      return `\`${path}\` is a workflow file; workflows may be changed only when \`allowedPaths\` in ${REPO_CONFIG_PATH} lists them`;
    }
    if (allowed && !allowedBy) return `\`${path}\` is not matched by \`allowedPaths\` in ${REPO_CONFIG_PATH}`;
    return undefined;
  };
}
