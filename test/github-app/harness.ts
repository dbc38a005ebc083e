/**
 * The GitHub front-end in one process, for nock tests: a real Probot per test (tokens are cached
 * per instance), the real handlers, a real intake and a real TaskStore on a temporary SQLite;
 * only the queue is a fake. GitHub is nock on https://api.github.com, and nothing else may be
 * reached: a request no scope expects is recorded and fails the test.
 */
import { generateKeyPairSync } from 'node:crypto';
import { rm } from 'node:fs/promises';
import nock from 'nock';
import { pino } from 'pino';
import { Probot, ProbotOctokit } from 'probot';
import { vi } from 'vitest';
import { createGithubApp } from '../../src/github/app.js';
import type { BudgetSettings } from '../../src/github/budgets.js';
import { createIntake } from '../../src/github/intake.js';
import type { Octokit } from '../../src/github/octokit.js';
import type { GithubRun } from '../../src/github/trigger.js';
import { DeliveryInbox } from '../../src/store/inbox.js';
import { openDatabase } from '../../src/store/sqlite.js';
import { TaskStore, type TaskRecord } from '../../src/store/tasks.js';
import { makeTempDir } from '../helpers/temp-repo.js';
import type { ActorInput, CommonInput } from '../helpers/webhooks.js';

export const API = 'https://api.github.com';
export const OWNER = 'acme';
export const REPO = 'widgets';
export const R = `/repos/${OWNER}/${REPO}`;
export const INSTALLATION_ID = 77;
export const WRITER: ActorInput = { login: 'mia', id: 5001, type: 'User' };
export const READER: ActorInput = { login: 'rick', id: 5002, type: 'User' };
/** Octokit sends the path parameter with its slash encoded. */
export const CONFIG_PATH = `${R}/contents/.github%2Fautocoder.yml`;

export const common: CommonInput = {
  repo: { owner: OWNER, name: REPO, cloneUrl: `https://github.com/${OWNER}/${REPO}.git`, defaultBranch: 'main' },
  installationId: INSTALLATION_ID,
};

const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

// Throttling and retries off: the object form does not turn throttling off (DESIGN.md).
const TestOctokit = ProbotOctokit.defaults((options: Record<string, any>) => ({
  ...options,
  retry: { enabled: false },
  throttle: { ...options.throttle, enabled: false },
}));

export type Harness = Awaited<ReturnType<typeof createHarness>>;

/** `budgets`: the operator's budgets (the daily ones turn triggers away at intake). */
export async function createHarness(options: { budgets?: BudgetSettings } = {}) {
  // GitHub is nock; only loopback may be reached for real (the project's rule), and nothing here listens there.
  nock.disableNetConnect();
  nock.enableNetConnect(/127\.0\.0\.1|localhost/);
  const unmatched: string[] = [];
  const onNoMatch = (req: { method?: string; path?: string; options?: { method?: string; path?: string } }) => {
    unmatched.push(`${req.method ?? req.options?.method} ${req.path ?? req.options?.path}`);
  };
  nock.emitter.on('no match', onNoMatch);

  const dataDir = await makeTempDir('autocoder-github-app-');
  const db = openDatabase(dataDir);
  const store = new TaskStore(db);
  const log = pino({ level: 'silent' });
  const probot = new Probot({ appId: 123, privateKey, Octokit: TestOctokit, log });
  const notifyQueue = vi.fn();
  const abortTask = vi.fn((_taskId: string) => false);
  const newIntake = () =>
    createIntake({
      store,
      getOctokit: async (id) => (await probot.auth(id)) as unknown as Octokit,
      notifyQueue,
      abortTask,
      defaultModel: 'test-model',
      budgets: options.budgets,
      redact: (text) => text,
      log,
    });
  const intake = newIntake();
  const inbox = new DeliveryInbox(db, store, log);
  await probot.load(createGithubApp({ store, inbox, intake, log }));

  let deliveries = 0;
  return {
    probot,
    store,
    intake,
    notifyQueue,
    abortTask,
    unmatched,
    /** One delivery, as the receiver hands it over after verifying it; resolves once it is a task (or known as a redelivery). */
    async receive(name: string, payload: Record<string, unknown>, id = `delivery-${++deliveries}`) {
      await probot.receive({ id, name, payload } as Parameters<Probot['receive']>[0]);
      await inbox.idle();
    },
    /** Another intake on the same store, as the next process after a restart has (its handlers are not registered). */
    restartIntake: () => newIntake(),
    /** Everything the intake started has finished. */
    settle: async () => {
      await inbox.idle();
      await intake.idle();
    },
    tasks: (): TaskRecord[] => store.list().reverse(),
    runOf: (task: TaskRecord) => task.data.run as GithubRun,
    async close() {
      nock.emitter.removeListener('no match', onNoMatch);
      nock.cleanAll();
      db.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A scope on GitHub's API that answers the installation token the first request asks for. */
export function github(): nock.Scope {
  return nock(API)
    .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
    .reply(201, { token: 'ghs_installationtoken0123456789abcdef', expires_at: new Date(Date.now() + 3_600_000).toISOString(), permissions: {}, repository_selection: 'all' });
}

/** GitHub's collaborator-permission answer: the legacy `permission` and the precise `role_name`. */
export function permission(scope: nock.Scope, login: string, legacy: string, role = legacy): nock.Scope {
  return scope.get(`${R}/collaborators/${login}/permission`).reply(200, { permission: legacy, role_name: role, user: { login } });
}

/**
 * `.github/autocoder.yml` as Probot's config plugin asks for it (raw). `null`: no such file, so
 * the plugin goes on to the owner's `.github` repository (org-wide defaults), which has none either.
 */
export function config(scope: nock.Scope, text: string | null): nock.Scope {
  if (text === null) {
    return scope
      .get(CONFIG_PATH)
      .reply(404, { message: 'Not Found' })
      .get(`/repos/${OWNER}/.github/contents/.github%2Fautocoder.yml`)
      .reply(404, { message: 'Not Found' });
  }
  return scope.get(CONFIG_PATH).reply(200, text, { 'content-type': 'application/vnd.github.raw; charset=utf-8' });
}

/** Everything the test expected was called and nothing else was. */
export function expectOnly(harness: Harness, ...scopes: nock.Scope[]): void {
  const pending = nock.pendingMocks();
  if (pending.length > 0) throw new Error(`expected calls not made:\n${pending.join('\n')}`);
  if (harness.unmatched.length > 0) throw new Error(`unexpected calls:\n${harness.unmatched.join('\n')}`);
  for (const scope of scopes) scope.done();
}

/** What queueing a run costs on GitHub: 👀 on `reactionPath`, then the progress comment on `number`. */
export function queuesRun(scope: nock.Scope, reactionPath: string, number: number, commentId = 9000 + number): { progress: () => string } {
  let progress = '';
  scope.post(reactionPath, { content: 'eyes' }).reply(201, { id: 1, content: 'eyes' });
  scope.post(`${R}/issues/${number}/comments`).reply(201, (_uri: string, body: any) => {
    progress = body.body;
    return { id: commentId, body: body.body };
  });
  return { progress: () => progress };
}

/** One reply comment on `number`; its body is kept for the test to read. */
export function replies(scope: nock.Scope, number: number): { body: () => string } {
  let text = '';
  scope.post(`${R}/issues/${number}/comments`).reply(201, (_uri: string, body: any) => {
    text = body.body;
    return { id: 8000 + number, body: body.body };
  });
  return { body: () => text };
}

/** Waits until `check` holds (for work the handlers start after answering, such as a label look-up). */
export async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
