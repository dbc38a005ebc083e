import type { IncomingMessage, ServerResponse } from 'node:http';
import { run, type Probot } from 'probot';
import type { Logger } from 'pino';
import type { AppEnv } from '../config/env.js';
import { AutocoderError } from '../engine/errors.js';
import type { LlmClient } from '../engine/llm.js';
import { buildCommandEnv } from '../engine/tools/command-env.js';
import { createGithubApp } from '../github/app.js';
import { createIdentity } from '../github/identity.js';
import { createIntake } from '../github/intake.js';
import type { Octokit } from '../github/octokit.js';
import { renderProgressComment } from '../github/render.js';
import { createGithubRunner } from '../github/runner.js';
import type { GithubRun } from '../github/trigger.js';
import { createOpenAiClient } from '../llm/openai-client.js';
import { EmbeddedQueue } from '../queue/embedded-queue.js';
import { createSessionStore, openDatabase } from '../store/sqlite.js';
import { TaskStore, type TaskRecord } from '../store/tasks.js';
import { createSecretSet } from '../util/secrets.js';
import { WorkspaceManager } from '../workspace/index.js';
import { createLogger } from './logger.js';

/** A model client that explains, on every run, that the key is missing: the app still starts (setup flow). */
function missingKeyClient(): LlmClient {
  return {
    async complete() {
      throw new AutocoderError('missing_api_key', 'OPENAI_API_KEY is not set on the autocoder server, so no model can be called');
    },
  };
}

/** Probot's own variables, minus REDIS_URL: Probot would use it for its rate limiter; ours is the run queue. */
function probotEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { REDIS_URL: _redis, ...rest } = env;
  return rest;
}

export interface ServerHandle {
  stop(): Promise<void>;
}

/** Everything the GitHub App needs, built from the environment once, inside Probot's app function. */
export function createAutocoderApp(env: AppEnv, log: Logger, secrets: ReturnType<typeof createSecretSet>) {
  const db = openDatabase(env.dataDir);
  const store = new TaskStore(db);
  const sessions = createSessionStore(db);
  const workspaces = new WorkspaceManager({ dataDir: env.dataDir });
  const llm = env.openaiApiKey ? createOpenAiClient({ apiKey: env.openaiApiKey, baseURL: env.openaiBaseUrl }) : missingKeyClient();
  let queue: EmbeddedQueue | undefined;

  const appFn = (app: Probot, options: { addHandler?: (handler: (req: IncomingMessage, res: ServerResponse) => boolean | void | Promise<boolean | void>) => void }) => {
    const getOctokit = async (installationId: number) => (await app.auth(installationId)) as unknown as Octokit;
    const getAppOctokit = async () => (await app.auth()) as unknown as Octokit;
    const identity = createIdentity(getAppOctokit);
    const runner = createGithubRunner({
      store, sessions, workspaces, llm, getOctokit, getAppOctokit, identity,
      redact: secrets.redact,
      addSecret: secrets.add,
      commandEnv: buildCommandEnv(process.env),
      log,
    });
    queue = new EmbeddedQueue({
      store,
      concurrency: env.concurrency,
      log,
      execute: (task, signal) => runner(task, signal),
      onAbandoned: async (task: TaskRecord) => {
        const run = task.data.run as GithubRun | undefined;
        const commentId = task.data.progressCommentId as number | undefined;
        if (!run || !commentId) return;
        const octokit = await getOctokit(run.trigger.installationId);
        await octokit.rest.issues.updateComment({
          owner: run.trigger.repo.owner,
          repo: run.trigger.repo.name,
          comment_id: commentId,
          body: renderProgressComment({ phase: 'failed', runId: task.id, error: task.error ?? 'interrupted', reason: 'autocoder was restarted while this run was in progress.', redact: secrets.redact }),
        });
      },
    });
    const activeQueue = queue;
    const intake = createIntake({
      store,
      getOctokit,
      notifyQueue: () => activeQueue.notify(),
      abortTask: (taskId) => activeQueue.abort(taskId, new AutocoderError('cancelled', 'cancelled on request')),
      defaultModel: env.model,
      redact: secrets.redact,
      log,
    });
    createGithubApp({ store, intake, log })(app);
    options.addHandler?.((req, res) => {
      if (req.method === 'GET' && req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, tasks: store.countByState() }));
        return true;
      }
      return false;
    });
    intake.recover();
    activeQueue.start();
  };

  return {
    appFn,
    store,
    async stop() {
      await queue?.stop();
      db.close();
    },
  };
}

/** `autocoder serve` / `npm start`: the GitHub App (or Probot's setup flow without credentials). */
export async function startServer(env: AppEnv): Promise<number> {
  const secrets = createSecretSet([env.openaiApiKey, env.webhookSecret, env.privateKey, env.apiToken]);
  const log = createLogger(env.logLevel, secrets.redact);
  if (!env.openaiApiKey) log.warn('OPENAI_API_KEY is not set: runs will fail until it is');
  const app = createAutocoderApp(env, log, secrets);
  const server = await run(app.appFn, { env: probotEnv(process.env), log });
  await new Promise<void>((resolve) => {
    const shutdown = async () => {
      log.info('shutting down: waiting for running tasks');
      await app.stop();
      await server.stop();
      resolve();
    };
    process.once('SIGTERM', shutdown);
  });
  return 0;
}

/** `autocoder worker`: executes runs queued on Redis. */
export async function startWorker(env: AppEnv): Promise<number> {
  process.stderr.write(
    env.redisUrl
      ? 'autocoder: the Redis worker is not available in this version; unset REDIS_URL and `autocoder serve` executes runs itself\n'
      : 'autocoder: `autocoder worker` executes runs queued on Redis; set REDIS_URL. Without it, `autocoder serve` executes runs itself\n',
  );
  return 2;
}
