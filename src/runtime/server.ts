import { run, type Probot } from 'probot';
import type { AppEnv } from '../config/env.js';
import { AutocoderError } from '../engine/errors.js';
import { createGithubApp } from '../github/app.js';
import { createIdentity } from '../github/identity.js';
import { createIntake } from '../github/intake.js';
import type { Octokit } from '../github/octokit.js';
import { renderProgressComment } from '../github/render.js';
import { createGithubRunner } from '../github/runner.js';
import type { GithubRun } from '../github/trigger.js';
import type { TaskRecord } from '../store/tasks.js';
import { createSecretSet } from '../util/secrets.js';
import { createCore, type Core } from './core.js';
import { createLogger } from './logger.js';

/** Probot's own variables, minus REDIS_URL: Probot would use it for its rate limiter; ours is the run queue. */
function probotEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { REDIS_URL: _redis, ...rest } = env;
  return rest;
}

/** The GitHub front-end on the core: webhook handlers, intake, and the executor of GitHub runs. */
export function attachGithub(core: Core, app: Probot): void {
  const { store, log, secrets } = core;
  const getOctokit = async (installationId: number) => (await app.auth(installationId)) as unknown as Octokit;
  const getAppOctokit = async () => (await app.auth()) as unknown as Octokit;
  const runner = createGithubRunner({
    store,
    sessions: core.sessions,
    workspaces: core.workspaces,
    llm: core.llm,
    getOctokit,
    getAppOctokit,
    identity: createIdentity(getAppOctokit),
    redact: secrets.redact,
    addSecret: secrets.add,
    commandEnv: core.commandEnv,
    publish: (event) => core.bus.publish(event),
    log,
  });
  core.addExecutor('github', runner, async (task: TaskRecord) => {
    const run = task.data.run as GithubRun | undefined;
    const commentId = task.data.progressCommentId as number | undefined;
    if (!run || !commentId) return;
    const octokit = await getOctokit(run.trigger.installationId);
    await octokit.rest.issues.updateComment({
      owner: run.trigger.repo.owner,
      repo: run.trigger.repo.name,
      comment_id: commentId,
      body: renderProgressComment({
        phase: 'failed',
        runId: task.id,
        error: task.error ?? 'interrupted',
        reason: 'autocoder was restarted while this run was in progress.',
        redact: secrets.redact,
      }),
    });
  });
  const intake = createIntake({
    store,
    getOctokit,
    notifyQueue: () => core.queue.notify(),
    abortTask: (taskId) => core.queue.abort(taskId, new AutocoderError('cancelled', 'cancelled on request')),
    defaultModel: core.env.model,
    redact: secrets.redact,
    log,
  });
  createGithubApp({ store, intake, log })(app);
  intake.recover();
}

/** Routes every server has, whatever else is on: the health check. */
function addBaseRoutes(core: Core): void {
  core.addHttpHandler((req, res) => {
    if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, tasks: core.store.countByState() }));
      return true;
    }
    return false;
  });
}

/** `autocoder serve` / `npm start`: the GitHub App (or Probot's setup flow without credentials). */
export async function startServer(env: AppEnv): Promise<number> {
  const secrets = createSecretSet([env.openaiApiKey, env.webhookSecret, env.privateKey, env.apiToken]);
  const log = createLogger(env.logLevel, secrets.redact);
  if (!env.openaiApiKey) log.warn('OPENAI_API_KEY is not set: runs will fail until it is');
  const core = createCore(env, log, secrets);
  addBaseRoutes(core);
  let handlerAdded = false;
  const server = await run(
    (app, options) => {
      attachGithub(core, app);
      options.addHandler((req, res) => core.handle(req, res));
      handlerAdded = true;
    },
    { env: probotEnv(process.env), log },
  );
  // In Probot's setup flow the app function is not loaded; the other routes are served all the same.
  if (!handlerAdded) server.addHandler((req, res) => core.handle(req, res));
  core.queue.start();

  await new Promise<void>((resolve) => {
    process.once('SIGTERM', async () => {
      log.info('shutting down: waiting for running tasks');
      await core.stop();
      await server.stop();
      resolve();
    });
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
