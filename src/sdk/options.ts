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
  /** An OpenAI-compatible chat-completions endpoint. Default `OPENAI_BASE_URL`, else OpenAI's. */
  baseURL?: string;
  /** The endpoint's key. Default `OPENAI_API_KEY`; any value works for a local server. */
  apiKey?: string;
  /** Cancels the run: the model request in flight and any command the agent is running. */
  signal?: AbortSignal;
  /** Where conversations are kept (an SQLite file inside). Default `AUTOCODER_DATA_DIR`, else `./.data`; relative to `process.cwd()`. */
  dataDir?: string;
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
    baseURL: z.url({ error: 'expected a URL' }).optional(),
    apiKey: z.string().optional(),
    signal: z.instanceof(AbortSignal, { error: 'expected an AbortSignal' }).optional(),
    dataDir: text('a folder').optional(),
  })
  .strict();

/** The only variables the SDK uses: unrelated ones (PORT, APP_ID...) never fail an SDK run. */
const ENV_KEYS = ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'AUTOCODER_MODEL', 'AUTOCODER_DATA_DIR'] as const;

export interface ResolvedOptions {
  model: string;
  cwd: string;
  session?: string;
  maxSteps?: number;
  maxMinutes?: number;
  baseURL?: string;
  apiKey?: string;
  signal?: AbortSignal;
  dataDir: string;
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
      baseURL: given.baseURL ?? appEnv.openaiBaseUrl,
      apiKey: given.apiKey ?? appEnv.openaiApiKey,
      signal: given.signal,
      dataDir: given.dataDir ? resolve(cwd, given.dataDir) : appEnv.dataDir,
    },
  };
}
