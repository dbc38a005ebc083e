import { readFileSync } from 'node:fs';
import { Probot } from 'probot';
import type { Logger } from 'pino';
import type { AppEnv } from '../config/env.js';
import { createIdentity } from '../github/identity.js';
import type { Octokit } from '../github/octokit.js';
import { createGithubRunner } from '../github/runner.js';
import { budgetSettingsFrom, usageTodayFrom } from '../github/budgets.js';
import { expiryAwareOctokit } from '../github/token-expiry.js';
import { pacedOctokit } from '../github/write-limits.js';
import { cachedClients } from '../github/client-cache.js';
import type { ExecutorCore } from './core.js';

/** The app's clients from Probot: per installation, and the app's own (JWT) for minting tokens. */
export function githubAuth(app: Probot) {
  return {
    // Kept per installation: Probot builds a whole new client on every call (see client-cache.ts).
    getOctokit: cachedClients(async (installationId: number) => (await app.auth(installationId)) as unknown as Octokit),
    getAppOctokit: async () => (await app.auth()) as unknown as Octokit,
  };
}

/** The executor of GitHub runs on a core: the server's (SQLite) or a Redis worker's (the job's store). */
export function createGithubExecutor(core: ExecutorCore, app: Probot) {
  const { getOctokit, getAppOctokit } = githubAuth(app);
  return createGithubRunner({
    store: core.store,
    sessions: core.sessions,
    workspaces: core.workspaces,
    llm: core.llm,
    getOctokit,
    getAppOctokit,
    identity: createIdentity(getAppOctokit),
    redact: core.secrets.redact,
    addSecret: core.secrets.add,
    commandEnv: core.commandEnv,
    sandbox: core.sandbox,
    publish: (event) => core.bus.publish(event),
    log: core.log,
    budgets: budgetSettingsFrom(core.env),
    // A Redis worker's store answers from the day's count sent with the job (src/queue/remote-store.ts).
    usageToday: usageTodayFrom(core.store),
  });
}

/**
 * A Probot for a process that receives no webhooks (`autocoder worker`): the app's credentials
 * and API address read as `probot run` reads them (APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH,
 * GHE_HOST and GHE_PROTOCOL), so it authenticates as the server does.
 */
export function probotForWorker(env: AppEnv, log: Logger): Probot {
  const privateKey = env.privateKey ?? (env.privateKeyPath ? readFileSync(env.privateKeyPath, 'utf8') : undefined);
  return new Probot({
    appId: env.appId,
    privateKey: privateKey?.replace(/\\n/g, '\n'),
    baseUrl: env.gheHost ? `${env.gheProtocol}://${env.gheHost}/api/v3` : undefined,
    log: log.child({ name: 'probot' }),
    // Probot's write limiters, paced to GitHub's guidance rather than one write a second from the first on.
    Octokit: pacedOctokit(expiryAwareOctokit()),
  });
}
