import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

/** The model used when neither AUTOCODER_MODEL nor a repository or command-line setting names one. */
export const DEFAULT_MODEL = 'gpt-4.1';

const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const positiveInt = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === '') return fallback;
      const n = Number(value);
      if (!Number.isInteger(n) || n <= 0) {
        ctx.addIssue({ code: 'custom', message: `expected a positive whole number, got "${value}"` });
        return z.NEVER;
      }
      return n;
    });

/** Unset or empty: undefined. */
const optionalPositiveInt = z
  .string()
  .optional()
  .transform((value, ctx) => {
    if (value === undefined || value.trim() === '') return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) {
      ctx.addIssue({ code: 'custom', message: `expected a positive whole number, got "${value}"` });
      return z.NEVER;
    }
    return n;
  });

/** Unset or empty: undefined. Money and prices: `0.5`, `15`. */
const optionalAmount = (allowZero: boolean) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === '') return undefined;
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
        ctx.addIssue({ code: 'custom', message: `expected a ${allowZero ? 'non-negative' : 'positive'} number of US dollars, got "${value}"` });
        return z.NEVER;
      }
      return n;
    });

const url = z
  .string()
  .optional()
  .transform((value, ctx) => {
    if (value === undefined || value.trim() === '') return undefined;
    try {
      return new URL(value.trim()).toString().replace(/\/$/, '');
    } catch {
      ctx.addIssue({ code: 'custom', message: `expected a URL, got "${value}"` });
      return z.NEVER;
    }
  });

/** One schema for the whole environment (CONTRACT §2). Keys not listed here are not read. */
export const envSchema = z.object({
  APP_ID: optionalString,
  PRIVATE_KEY: optionalString,
  PRIVATE_KEY_PATH: optionalString,
  WEBHOOK_SECRET: optionalString,
  GHE_HOST: optionalString,
  GHE_PROTOCOL: z.enum(['http', 'https']).optional(),
  PORT: positiveInt(3000),
  HOST: optionalString,
  WEBHOOK_PATH: optionalString,
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: url,
  AUTOCODER_MODEL: optionalString,
  AUTOCODER_DATA_DIR: optionalString,
  AUTOCODER_CONCURRENCY: positiveInt(2),
  REDIS_URL: optionalString,
  AUTOCODER_WORKER_LOCK_MS: positiveInt(30_000),
  AUTOCODER_API_TOKEN: optionalString,
  AUTOCODER_MAX_TOKENS: optionalPositiveInt,
  AUTOCODER_PRICE_PER_MTOK_INPUT: optionalAmount(true),
  AUTOCODER_PRICE_PER_MTOK_OUTPUT: optionalAmount(true),
  AUTOCODER_MAX_COST_USD: optionalAmount(false),
  AUTOCODER_DAILY_RUNS: optionalPositiveInt,
  AUTOCODER_DAILY_TOKENS: optionalPositiveInt,
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).optional(),
});

export interface AppEnv {
  appId?: string;
  privateKey?: string;
  privateKeyPath?: string;
  webhookSecret?: string;
  gheHost?: string;
  gheProtocol: 'http' | 'https';
  port: number;
  host?: string;
  webhookPath: string;
  openaiApiKey?: string;
  openaiBaseUrl?: string;
  model: string;
  dataDir: string;
  concurrency: number;
  redisUrl?: string;
  /** A Redis worker's job lock: a worker that died is noticed, and its run taken up, after about this long. */
  workerLockMs: number;
  apiToken?: string;
  logLevel: string;
  /** Per run: the token budget when a run sets none, and the most one may set. */
  maxTokens?: number;
  /** USD per million tokens; both or neither. */
  prices?: { inputPerMTok: number; outputPerMTok: number };
  /** Per run, in USD (needs `prices`). */
  maxCostUsd?: number;
  /** Per repository per UTC day: most runs started, most tokens used. */
  dailyRuns?: number;
  dailyTokens?: number;
}

export class EnvError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid environment: ${issues.join('; ')}`);
    this.name = 'EnvError';
  }
}

/** Reads and validates the environment once; an error names every key that is wrong. */
export function readEnv(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): AppEnv {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new EnvError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const e = parsed.data;
  const priceIn = e.AUTOCODER_PRICE_PER_MTOK_INPUT;
  const priceOut = e.AUTOCODER_PRICE_PER_MTOK_OUTPUT;
  const issues: string[] = [];
  if ((priceIn === undefined) !== (priceOut === undefined)) {
    const missing = priceIn === undefined ? 'AUTOCODER_PRICE_PER_MTOK_INPUT' : 'AUTOCODER_PRICE_PER_MTOK_OUTPUT';
    issues.push(`${missing}: set both AUTOCODER_PRICE_PER_MTOK_INPUT and AUTOCODER_PRICE_PER_MTOK_OUTPUT, or neither`);
  }
  if (e.AUTOCODER_MAX_COST_USD !== undefined && (priceIn === undefined || priceOut === undefined)) {
    issues.push('AUTOCODER_MAX_COST_USD: a cost budget needs prices: set AUTOCODER_PRICE_PER_MTOK_INPUT and AUTOCODER_PRICE_PER_MTOK_OUTPUT');
  }
  if (issues.length > 0) throw new EnvError(issues);
  return {
    appId: e.APP_ID,
    privateKey: e.PRIVATE_KEY,
    privateKeyPath: e.PRIVATE_KEY_PATH,
    webhookSecret: e.WEBHOOK_SECRET,
    gheHost: e.GHE_HOST,
    gheProtocol: e.GHE_PROTOCOL ?? 'https',
    port: e.PORT,
    host: e.HOST,
    webhookPath: e.WEBHOOK_PATH ?? '/api/github/webhooks',
    openaiApiKey: e.OPENAI_API_KEY,
    openaiBaseUrl: e.OPENAI_BASE_URL,
    model: e.AUTOCODER_MODEL ?? DEFAULT_MODEL,
    dataDir: resolve(cwd, e.AUTOCODER_DATA_DIR ?? '.data'),
    concurrency: e.AUTOCODER_CONCURRENCY,
    redisUrl: e.REDIS_URL,
    workerLockMs: e.AUTOCODER_WORKER_LOCK_MS,
    apiToken: e.AUTOCODER_API_TOKEN,
    logLevel: e.LOG_LEVEL ?? 'info',
    maxTokens: e.AUTOCODER_MAX_TOKENS,
    prices: priceIn !== undefined && priceOut !== undefined ? { inputPerMTok: priceIn, outputPerMTok: priceOut } : undefined,
    maxCostUsd: e.AUTOCODER_MAX_COST_USD,
    dailyRuns: e.AUTOCODER_DAILY_RUNS,
    dailyTokens: e.AUTOCODER_DAILY_TOKENS,
  };
}

/** Loads `.env` from the folder into process.env without overriding what is already set. */
export function loadDotEnv(dir = process.cwd()): void {
  const file = resolve(dir, '.env');
  if (existsSync(file)) process.loadEnvFile(file);
}
