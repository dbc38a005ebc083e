import { resolve } from 'node:path';
import { z } from 'zod';
import { EnvError, readEnv } from '../config/env.js';
import { AutocoderError } from '../engine/errors.js';

/**
 * How one SDK run is made. Every key is optional; what is left out comes from the environment
 * (read when the run starts, never when the package is imported) or a built-in default.
 *
 * The SDK reads `process.env` only: it does not load a `.env` file into your process. Load it
 * yourself when you want one (`node --env-file=.env`, or `process.loadEnvFile()`).
 */
export interface AutoCodeOptions {
  /** The model name. Default `AUTOCODER_MODEL`, else `gpt-4.1`. */
  model?: string;
  /** The repository (working tree) to work in. Default `process.cwd()`. */
  cwd?: string;
  /**
   * Continue the conversation kept under this id (a `sessionId` of an earlier result), or start
   * one under it. Default: a new session with a new id.
   */
  session?: string;
  /** Most model turns. Default 40. */
  maxSteps?: number;
  /** Wall-clock budget in minutes. Default 30. */
  maxMinutes?: number;
  /** Most tokens (prompt + completion, as the API reports them) the run may use. Default `AUTOCODER_MAX_TOKENS`, else no limit. */
  maxTokens?: number;
  /**
   * Most USD the run may cost. Default `AUTOCODER_MAX_COST_USD`, else no limit. Needs the prices,
   * `AUTOCODER_PRICE_PER_MTOK_INPUT` and `AUTOCODER_PRICE_PER_MTOK_OUTPUT` (USD per million
   * tokens); with them, `usage.costUsd` is reported too.
   */
  maxCostUsd?: number;
  /** An OpenAI-compatible chat-completions endpoint. Default `OPENAI_BASE_URL`, else OpenAI's. */
  baseURL?: string;
  /** The endpoint's key. Default `OPENAI_API_KEY`; any value works for a local server. */
  apiKey?: string;
  /** Cancels the run: the model request in flight and any command the agent is running. */
  signal?: AbortSignal;
  /** Where conversations are kept (an SQLite file inside). Default `AUTOCODER_DATA_DIR`, else `./.data`; relative to `process.cwd()`. */
  dataDir?: string;
  /**
   * Best of N, 1 to 5: that many agents work at once, each in its own git worktree of `cwd`'s
   * repository at HEAD; the test command judges them (tests passing first, then the smallest
   * diff, then fewer tokens) and the chosen attempt's change is applied to `cwd`. Needs a clean
   * working tree (no uncommitted changes to tracked files). Default: one per entry of `models`
   * when there are several, else 1.
   */
  attempts?: number;
  /** The attempts' models, round-robin (`['gpt-4.1', 'deepseek-chat']`); the first is the model of a single run. */
  models?: string[];
  /** The shell command that judges the attempts (`npm test`), run in the same sandbox as the agent's commands. */
  testCommand?: string;
}

const text = (what: string) => z.string({ error: `expected ${what}` }).trim().min(1, `expected ${what}`);

/** Strict, so that a misspelt key (`maxstep`) is an error rather than silently ignored. */
const optionsSchema = z
  .object({
    model: text('a model name').optional(),
    cwd: text('a folder').optional(),
    session: text('a session id').optional(),
    maxSteps: z.number().int().positive().optional(),
    maxMinutes: z.number().positive().finite().optional(),
    maxTokens: z.number({ error: 'expected a positive whole number of tokens' }).int({ error: 'expected a positive whole number of tokens' }).positive({ error: 'expected a positive whole number of tokens' }).optional(),
    maxCostUsd: z.number({ error: 'expected a positive number of US dollars' }).positive({ error: 'expected a positive number of US dollars' }).finite().optional(),
    baseURL: z.url({ error: 'expected a URL' }).optional(),
    apiKey: z.string().optional(),
    signal: z.instanceof(AbortSignal, { error: 'expected an AbortSignal' }).optional(),
    dataDir: text('a folder').optional(),
    attempts: z
      .number({ error: 'expected a whole number from 1 to 5' })
      .int({ error: 'expected a whole number from 1 to 5' })
      .min(1, { error: (issue) => `expected a whole number from 1 to 5, got ${String(issue.input)}` })
      .max(5, { error: (issue) => `expected a whole number from 1 to 5, got ${String(issue.input)}` })
      .optional(),
    models: z.array(text('a model name'), { error: 'expected a list of model names' }).min(1, 'expected at least one model name').optional(),
    testCommand: text('a shell command').optional(),
  })
  .strict();

/** The only variables the SDK uses: unrelated ones (PORT, APP_ID...) never fail an SDK run. */
const ENV_KEYS = [
  'OPENAI_API_KEY',
  'OPENAI_BASE_URL',
  'AUTOCODER_MODEL',
  'AUTOCODER_DATA_DIR',
  'AUTOCODER_MAX_TOKENS',
  'AUTOCODER_MAX_COST_USD',
  'AUTOCODER_PRICE_PER_MTOK_INPUT',
  'AUTOCODER_PRICE_PER_MTOK_OUTPUT',
] as const;

export interface ResolvedOptions {
  model: string;
  cwd: string;
  session?: string;
  maxSteps?: number;
  maxMinutes?: number;
  maxTokens?: number;
  maxCostUsd?: number;
  prices?: { inputPerMTok: number; outputPerMTok: number };
  baseURL?: string;
  apiKey?: string;
  signal?: AbortSignal;
  dataDir: string;
  attempts?: number;
  models?: string[];
  testCommand?: string;
}

/** Validates a prompt and options and fills the defaults; an error names the key that is wrong. */
export function resolveOptions(
  prompt: unknown,
  options: unknown,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): { prompt: string; options: ResolvedOptions } {
  if (typeof prompt !== 'string' || !prompt.trim()) throw new AutocoderError('config_invalid', 'the prompt must be a non-empty string');
  const parsed = optionsSchema.safeParse(options ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown option ${issue.keys.map((key) => `"${key}"`).join(', ')}`
        : `${issue.path.join('.')}: ${issue.message}`,
    );
    throw new AutocoderError('config_invalid', `invalid options: ${issues.join('; ')}`);
  }
  const given = parsed.data;

  let appEnv;
  try {
    appEnv = readEnv(Object.fromEntries(ENV_KEYS.map((key) => [key, env[key]])), cwd);
  } catch (error) {
    if (error instanceof EnvError) throw new AutocoderError('config_invalid', error.message, { cause: error });
    throw error;
  }

  return {
    prompt,
    options: {
      model: given.model ?? appEnv.model,
      cwd: resolve(cwd, given.cwd ?? '.'),
      session: given.session,
      maxSteps: given.maxSteps,
      maxMinutes: given.maxMinutes,
      maxTokens: given.maxTokens ?? appEnv.maxTokens,
      maxCostUsd: given.maxCostUsd ?? appEnv.maxCostUsd,
      prices: appEnv.prices,
      baseURL: given.baseURL ?? appEnv.openaiBaseUrl,
      apiKey: given.apiKey ?? appEnv.openaiApiKey,
      signal: given.signal,
      dataDir: given.dataDir ? resolve(cwd, given.dataDir) : appEnv.dataDir,
      attempts: given.attempts,
      models: given.models,
      testCommand: given.testCommand,
    },
  };
}
