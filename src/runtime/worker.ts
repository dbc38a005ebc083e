import { createApiRunner } from '../api/api-runner.js';
import type { AppEnv } from '../config/env.js';
import { detectSandbox } from '../engine/sandbox/index.js';
import { describeRedisUrl } from '../queue/redis-connection.js';
import { RunWorker } from '../queue/run-worker.js';
import type { TaskExecutor } from '../queue/embedded-queue.js';
import { createSecretSet } from '../util/secrets.js';
import { createExecutionParts, type ExecutorCore } from './core.js';
import { createGithubExecutor, probotForWorker } from './github-executor.js';
import { createLogger } from './logger.js';
import { lastEnvironScrub } from './scrub-env.js';

/** How long SIGTERM lets running runs finish before they are stopped and put back on the queue. */
const SHUTDOWN_MS = 30_000;

function redisPassword(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * `autocoder worker`: takes runs from the Redis queue and executes them with the server's
 * executors (GitHub and API), authenticated to GitHub as the app, with its own mirror cache and
 * working trees under AUTOCODER_DATA_DIR. The web process stays the store of record.
 */
export async function startWorker(env: AppEnv): Promise<number> {
  if (!env.redisUrl) {
    process.stderr.write(
      'autocoder: `autocoder worker` executes runs queued on Redis, and REDIS_URL is not set. Set it to the Redis the server (`autocoder serve` with REDIS_URL) queues runs on, e.g. REDIS_URL=redis://127.0.0.1:6379. Without Redis, `autocoder serve` executes runs itself\n',
    );
    return 2;
  }
  if (!env.appId || !(env.privateKey || env.privateKeyPath)) {
    process.stderr.write(
      'autocoder: `autocoder worker` needs the GitHub App credentials the server has: APP_ID and PRIVATE_KEY (or PRIVATE_KEY_PATH), to push and to open pull requests\n',
    );
    return 2;
  }
  const secrets = createSecretSet([env.openaiApiKey, env.webhookSecret, env.privateKey, env.apiToken, redisPassword(env.redisUrl)]);
  const log = createLogger(env.logLevel, secrets.redact);
  if (!env.openaiApiKey) log.warn('OPENAI_API_KEY is not set: runs will fail until it is');
  const parts = createExecutionParts(env);
  log.info({ sandbox: (await detectSandbox(parts.sandbox)).describe(), environ: lastEnvironScrub() }, 'command sandbox');
  let app;
  try {
    app = probotForWorker(env, log);
  } catch (error) {
    process.stderr.write(`autocoder: the GitHub App credentials are not usable: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  const github = app;

  const worker = new RunWorker({
    url: env.redisUrl,
    concurrency: env.concurrency,
    lockMs: env.workerLockMs,
    log,
    executors: (store) => {
      // Live readers are in the web process: events reach them through the store's updates.
      const core: ExecutorCore = { env, log, secrets, store, sessions: store, ...parts, bus: { publish: () => {} } };
      return new Map<string, TaskExecutor>([
        ['github', createGithubExecutor(core, github)],
        ['api', createApiRunner(core)],
      ]);
    },
  });
  log.info({ redis: describeRedisUrl(env.redisUrl), concurrency: env.concurrency }, 'connecting to Redis');
  await worker.start();
  log.info({ worker: worker.id, concurrency: env.concurrency }, 'worker started: taking runs from Redis');

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  log.info({ running: worker.running() }, 'shutting down: no new runs; waiting for running ones');
  await worker.stop(SHUTDOWN_MS);
  log.info('worker stopped');
  // With Redis unreachable, BullMQ's own connections may go on retrying and keep the process up.
  setTimeout(() => process.exit(0), 1_000).unref();
  return 0;
}
