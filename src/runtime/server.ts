import { run, Server, type Probot } from 'probot';
import { addDashboardRoutes } from '../api/dashboard/routes.js';
import { attachApi } from '../api/index.js';
import type { Metrics } from '../api/metrics.js';
import type { AppEnv } from '../config/env.js';
import { AutocoderError } from '../engine/errors.js';
import { createWebhookHandlers, onProbot } from '../github/app.js';
import { createWebhookReceiver, type WebhookHandlers } from '../github/webhook-receiver.js';
import { createIntake } from '../github/intake.js';
import { budgetSettingsFrom } from '../github/budgets.js';
import { renderProgressComment } from '../github/render.js';
import type { GithubRun } from '../github/trigger.js';
import type { TaskRecord } from '../store/tasks.js';
import { createSecretSet } from '../util/secrets.js';
import { createCore, type Core, type HttpHandler } from './core.js';
import { createGithubExecutor, githubAuth } from './github-executor.js';
import { createLogger, withRequestLogAtDebug } from './logger.js';
import { detectSandbox } from '../engine/sandbox/index.js';
import { lastEnvironScrub } from './scrub-env.js';
import { limitRequestBodies, type BodyLimitOptions } from './body-limit.js';
import { expiryAwareOctokit } from '../github/token-expiry.js';
import { pacedOctokit } from '../github/write-limits.js';

/** Probot's own variables, minus REDIS_URL: Probot would use it for its rate limiter; ours is the run queue. */
function probotEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { REDIS_URL: _redis, ...rest } = env;
  return rest;
}

/**
 * The GitHub front-end on the core: webhook handlers, intake, and the executor of GitHub runs.
 * Returns the handlers, for the HTTP path's receiver (see {@link webhookReceiver}).
 */
export function attachGithub(core: Core, app: Probot): WebhookHandlers {
  const { store, log, secrets } = core;
  const { getOctokit } = githubAuth(app);
  /** Rewrites a GitHub task's progress comment, when it has one (nothing to say otherwise). */
  const rewriteProgressComment = async (task: TaskRecord, body: string) => {
    const run = task.data.run as GithubRun | undefined;
    const commentId = task.data.progressCommentId as number | undefined;
    if (!run || !commentId) return;
    const octokit = await getOctokit(run.trigger.installationId);
    await octokit.rest.issues.updateComment({ owner: run.trigger.repo.owner, repo: run.trigger.repo.name, comment_id: commentId, body });
  };
  // With REDIS_URL the workers execute it; the source is still registered, so its tasks are queued.
  core.addExecutor('github', createGithubExecutor(core, app), (task: TaskRecord) =>
    rewriteProgressComment(
      task,
      renderProgressComment({
        phase: 'failed',
        runId: task.id,
        error: task.error ?? 'interrupted',
        reason: core.env.redisUrl
          ? 'The workers could not complete this run (the one running it stopped, or it failed more than once).'
          : 'autocoder was restarted while this run was in progress.',
        redact: secrets.redact,
      }),
    ),
  );
  // Cancelled before it started by a REST client: the progress comment says so, as it does for
  // `/autocoder cancel` (src/github/intake.ts), instead of "Queued" for ever. Also with REDIS_URL:
  // a queued task is this process's.
  core.onCancelledWhileQueued('github', (task, how) =>
    rewriteProgressComment(task, renderProgressComment({ phase: 'cancelled', runId: task.id, reason: `Cancelled ${how} before it started.`, redact: secrets.redact })),
  );
  const intake = createIntake({
    store,
    getOctokit,
    notifyQueue: () => core.queue.notify(),
    abortTask: (taskId) => core.queue.abort(taskId, new AutocoderError('cancelled', 'cancelled on request')),
    defaultModel: core.env.model,
    redact: secrets.redact,
    log,
    budgets: budgetSettingsFrom(core.env),
  });
  const handlers = createWebhookHandlers({ store, inbox: core.inbox, intake, log });
  onProbot(handlers)(app);
  // Deliveries stored before a restart that had not become tasks yet, then the tasks left half-way.
  core.inbox.moveAll();
  intake.recover();
  core.onStop(() => intake.stop());
  return handlers;
}

/**
 * What answers the webhook path's POSTs (src/github/webhook-receiver.ts), counted in the metrics.
 * With Redis as the queue, a delivery is only taken in while Redis answers: otherwise it gets a
 * 503 at once (GitHub can deliver it again) instead of a run that could never be queued.
 */
function webhookReceiver(core: Core, handlers: WebhookHandlers, metrics: Metrics | undefined) {
  return createWebhookReceiver({
    // Probot's own default ("development"), so that the receiver and `probot.receive` agree.
    secret: core.env.webhookSecret || 'development',
    handlers,
    log: core.log,
    metrics,
    ...(core.env.redisUrl
      ? {
          accepting: () => core.queueReady(),
          refusal: 'autocoder cannot queue runs right now: its Redis server (REDIS_URL) does not answer. Deliver this webhook again later.',
        }
      : {}),
  });
}

/**
 * Probot's `run()` starts its HTTP server itself and, in setup mode (no credentials), never calls
 * the app function; a handler added after it returns is never served. So ours is added as the
 * server starts, in both modes, after Probot's own (webhooks, setup pages). `receiver` is asked
 * for then, after the app function ran (it did not in setup mode, where Probot's middleware
 * answers webhooks as before).
 */
async function runProbot(
  appFn: (app: Probot) => void,
  handler: HttpHandler,
  receiver: () => BodyLimitOptions['onBody'],
  options: Parameters<typeof run>[1],
): Promise<Server> {
  const start = Server.prototype.start;
  Server.prototype.start = async function (this: Server) {
    this.addHandler(handler);
    const http = await start.call(this);
    // Webhook bodies are read with a size limit, in front of Probot's middleware, then received.
    limitRequestBodies(http, { webhookPath: options?.env?.WEBHOOK_PATH || '/api/github/webhooks', log: options?.log, onBody: receiver() });
    return http;
  };
  try {
    return await run(appFn, options);
  } finally {
    Server.prototype.start = start;
  }
}

/** `autocoder serve` / `npm start`: the GitHub App (or Probot's setup flow without credentials). */
export async function startServer(env: AppEnv): Promise<number> {
  const secrets = createSecretSet([env.openaiApiKey, env.webhookSecret, env.privateKey, env.apiToken]);
  const log = createLogger(env.logLevel, secrets.redact);
  if (!env.openaiApiKey) log.warn('OPENAI_API_KEY is not set: runs will fail until it is');
  const core = createCore(env, log, secrets);
  log.info({ sandbox: (await detectSandbox(core.sandbox)).describe(), environ: lastEnvironScrub() }, 'command sandbox');
  // /healthz, /metrics, the API executor and, with AUTOCODER_API_TOKEN, the /api routes.
  const api = attachApi(core);
  addDashboardRoutes(core);
  // Last of the routes: the answer for /api/* paths that no front-end took.
  core.addHttpHandler(api.fallback);
  let handlers: WebhookHandlers | undefined;
  const appFn = (app: Probot) => {
    handlers = attachGithub(core, app);
  };
  const receiver = () => (handlers ? webhookReceiver(core, handlers, api.metrics) : undefined);
  const server = await runProbot(appFn, (req, res) => core.handle(req, res), receiver, {
    env: probotEnv(process.env),
    log: withRequestLogAtDebug(log),
    // Probot's write limiters, paced to GitHub's guidance rather than one write a second from the first on.
    Octokit: pacedOctokit(expiryAwareOctokit()),
  });
  core.queue.start();

  await new Promise<void>((resolve) => {
    process.once('SIGTERM', async () => {
      log.info('shutting down: waiting for running tasks');
      await core.stop();
      // Event streams stay open otherwise, and the HTTP server would wait for them for ever.
      api.stop();
      await server.stop();
      resolve();
    });
  });
  return 0;
}

/** `autocoder worker`: executes runs queued on Redis (src/runtime/worker.ts). */
export { startWorker } from './worker.js';
