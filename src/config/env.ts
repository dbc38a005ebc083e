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
  AUTOCODER_API_TOKEN: optionalString,
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
  apiToken?: string;
  logLevel: string;
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
    apiToken: e.AUTOCODER_API_TOKEN,
    logLevel: e.LOG_LEVEL ?? 'info',
  };
}

/** Loads `.env` from the folder into process.env without overriding what is already set. */
export function loadDotEnv(dir = process.cwd()): void {
  const file = resolve(dir, '.env');
  if (existsSync(file)) process.loadEnvFile(file);
}
