/**
 * The whole GitHub App stage for end-to-end suites: the app started with `npm start` as its own
 * process, GitHub played by the REST emulation on 127.0.0.1 (reached through GHE_HOST), the
 * repositories served over git smart HTTP accepting only the installation tokens the emulator
 * minted, and a scripted OpenAI-compatible model. One stage per test file; each test makes its own
 * repository, and the model answering a run is the one of the repository its prompt names, so a
 * run of one test is never answered by another test's script.
 *
 *   const stage = await startGithubStage({ appId: 4545 });
 *   const repo = await stage.newRepo(stage.script(stage.call('read_file', { path: 'a.js' }), stage.finish('done')));
 *   await repo.label();
 *   const pr = await stage.waitForPr(repo);
 *   await stage.close();
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startGitHubEmulator, type GitHubEmulator } from '../helpers/github-emulator.js';
import { startGitServer, type GitServer } from '../helpers/git-http-server.js';
import { startScriptedLlm, type RecordedRequest, type ScriptStep, type ScriptedLlm } from '../helpers/scripted-llm-server.js';
import { makeTempDir } from '../helpers/temp-repo.js';
import { issueCommentPayload, issueLabeledPayload, sendWebhook, type ActorInput } from '../helpers/webhooks.js';
import { startApp, waitFor, type AppProcess } from './app-process.js';

export const OWNER = 'acme';
export const MAINTAINER = { login: 'mia', id: 5001, type: 'User' as const };
export const BOT = { login: 'autocoder[bot]', type: 'Bot' as const };

/** One model request, as a script sees it: the request that started the run and its turn in it. */
export interface Turn {
  /** The last user message: the run's prompt. */
  prompt: string;
  /** Assistant answers since that prompt (0 for the first call of a run). */
  turn: number;
  request: RecordedRequest;
  /** Tool results since the prompt, oldest first. */
  toolResults: string[];
  /** The whole conversation the request carries, earlier runs' included. */
  messages: Message[];
}
export type Model = (turn: Turn) => ScriptStep | Promise<ScriptStep>;

type Message = { role: string; content: string | null; tool_calls?: { function: { name: string } }[] };

export function turnOf(request: RecordedRequest): Turn {
  const messages = request.body.messages as Message[];
  let last = messages.length - 1;
  while (last >= 0 && messages[last].role !== 'user') last--;
  const since = messages.slice(last);
  return {
    prompt: String(messages[last]?.content ?? ''),
    turn: since.filter((m) => m.role === 'assistant').length,
    request,
    toolResults: since.filter((m) => m.role === 'tool').map((m) => String(m.content ?? '')),
    messages,
  };
}

export const call = (name: string, args: unknown): ScriptStep => ({ toolCalls: [{ name, arguments: args }] });
export const finish = (summary: string) => call('finish', { summary });
/** Steps by turn; the last one repeats. */
export const script = (...steps: (ScriptStep | Model)[]): Model => (turn) => {
  const step = steps[Math.min(turn.turn, steps.length - 1)];
  return typeof step === 'function' ? step(turn) : step;
};

export interface StageOptions {
  appId: number;
  webhookSecret?: string;
  llmKey?: string;
  /** More environment for the app (e.g. AUTOCODER_API_TOKEN). */
  env?: NodeJS.ProcessEnv;
  /** The emulator deletes branches on the git server (DELETE git/refs), as GitHub does; off, it answers 404. */
  deleteBranches?: boolean;
}

export interface RepoOptions {
  config?: string;
  /** Added to (or replacing) the default tree: src/math.js, test.js, package.json. */
  files?: Record<string, string>;
  /** Only `files` and the config: no default tree. */
  onlyFiles?: boolean;
  issue?: { title?: string; body?: string };
}

export async function startGithubStage(options: StageOptions) {
  const secret = options.webhookSecret ?? `webhook-secret-${options.appId}`;
  const llmKey = options.llmKey ?? `sk-stage-llm-key-${options.appId}-0123456789abcdef`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const models = new Map<string, Model>();
  const repoOf = (request: RecordedRequest) => new RegExp(`${OWNER}/(widgets-\\d+)\\b`).exec(turnOf(request).prompt)?.[1];

  // Assigned before anything can call them: the emulator's branch check and the model's answers.
  let git: GitServer | undefined;
  const exists = (repo: string, branch: string) => git!.git(repo, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]).then(() => true, () => false);
  const emulator: GitHubEmulator = await startGitHubEmulator({
    appId: options.appId,
    privateKeyPem: privateKey,
    branchExists: (_owner, repo, branch) => exists(repo, branch),
    deleteBranch: options.deleteBranches
      ? async (_owner, repo, branch) => {
          if (!(await exists(repo, branch))) return false;
          await git!.git(repo, ['update-ref', '-d', `refs/heads/${branch}`]);
          return true;
        }
      : undefined,
  });
  git = await startGitServer({ token: (token) => emulator.isValidInstallationToken(token) });
  const llm: ScriptedLlm = await startScriptedLlm((request) => {
    const repo = repoOf(request);
    const model = repo ? models.get(repo) : undefined;
    if (!model) return { status: 400, body: { error: { message: `no model for ${repo}`, type: 'invalid_request_error' } } };
    return model(turnOf(request));
  });
  const dataDir = await makeTempDir('autocoder-stage-');
  const env = (): NodeJS.ProcessEnv => ({
    APP_ID: String(options.appId),
    PRIVATE_KEY: privateKey,
    WEBHOOK_SECRET: secret,
    GHE_HOST: emulator.host,
    GHE_PROTOCOL: 'http',
    OPENAI_API_KEY: llmKey,
    OPENAI_BASE_URL: llm.baseURL,
    AUTOCODER_MODEL: 'scripted-model',
    AUTOCODER_DATA_DIR: dataDir,
    AUTOCODER_CONCURRENCY: '2',
    LOG_LEVEL: 'info',
    ...options.env,
  });
  let app: AppProcess = await startApp(env());
  const gitServer = git;

  const deliver = (event: string, payload: unknown, opts: { deliveryId?: string; secret?: string } = {}) =>
    sendWebhook({ url: app.webhookUrl, secret: opts.secret ?? secret, event, payload, deliveryId: opts.deliveryId });

  let repoCounter = 0;
  /** A fresh repository (git server + emulator) with one issue by the maintainer, answered by `model`. */
  async function newRepo(model: Model, repoOptions: RepoOptions = {}) {
    const index = ++repoCounter;
    const name = `widgets-${index}`;
    const config = repoOptions.config ?? 'testCommand: node test.js\n';
    const tree: Record<string, string> = repoOptions.onlyFiles
      ? {}
      : {
          'src/math.js': 'export function add(a, b) {\n  return a - b;\n}\n',
          'test.js': "import { add } from './src/math.js';\nif (add(2, 3) !== 5) process.exit(1);\nconsole.log('tests pass');\n",
          'package.json': '{ "type": "module" }\n',
        };
    await gitServer.createRepo(name, { ...tree, '.github/autocoder.yml': config, ...repoOptions.files });
    // Every update of every ref is logged, so a test can see each head a branch ever had.
    await gitServer.git(name, ['config', 'core.logAllRefUpdates', 'always']);
    const cloneUrl = gitServer.cloneUrl(name);
    emulator.addRepo({ owner: OWNER, name, cloneUrl, files: { '.github/autocoder.yml': config } });
    emulator.setPermission(OWNER, name, MAINTAINER.login, 'write');
    models.set(name, model);
    const common = { repo: { owner: OWNER, name, cloneUrl, defaultBranch: 'main' }, installationId: emulator.installationId, apiUrl: emulator.apiUrl };
    // Comment ids are unique across the file's repositories: the app tells comments apart by id.
    let comments = 0;
    const nextCommentId = () => 10_000 * index + ++comments;

    /** An issue by the maintainer, and what a test does on it. */
    function addIssue(input: { title?: string; body?: string } = {}) {
      const issue = emulator.addIssue(OWNER, name, { title: input.title ?? 'add() subtracts', body: input.body ?? 'add(2, 3) returns -1.', user: MAINTAINER });
      const target = { issue: { number: issue.number, title: issue.title, body: issue.body, user: MAINTAINER } };
      return {
        number: issue.number,
        title: issue.title,
        branch: `autocoder/issue-${issue.number}`,
        label: (deliveryId?: string) => deliver('issues', issueLabeledPayload({ ...common, sender: MAINTAINER, ...target }), { deliveryId }),
        /** `/autocoder ...` on the issue, or on the pull request when one is given. */
        comment: (body: string, opts: { pr?: { number: number; title: string; body: string | null }; sender?: ActorInput; deliveryId?: string } = {}) => {
          const sender = opts.sender ?? MAINTAINER;
          const on = opts.pr ? { isPullRequest: true, issue: { number: opts.pr.number, title: opts.pr.title, body: opts.pr.body ?? '', user: BOT } } : target;
          return deliver('issue_comment', issueCommentPayload({ ...common, sender, ...on, comment: { body, id: nextCommentId(), user: sender } }), { deliveryId: opts.deliveryId });
        },
        /** The maintainer edits a comment in the web UI, and GitHub sends `issue_comment.edited`. */
        edit: (commentId: number, change: (body: string) => string) => {
          const { from, comment } = emulator.editComment(OWNER, name, commentId, change);
          const author = { login: comment.user.login, type: comment.user.type as 'Bot' };
          return deliver(
            'issue_comment',
            issueCommentPayload({ ...common, sender: MAINTAINER, ...target, action: 'edited', comment: { body: comment.body, id: commentId, user: author }, overrides: { changes: { body: { from } } } }),
          );
        },
        comments: (n = issue.number) => emulator.commentsOn(OWNER, name, n),
        progress: (n = issue.number) => emulator.commentsOn(OWNER, name, n).filter((c) => c.body.includes('autocoder:progress')),
        replies: (n = issue.number) => emulator.commentsOn(OWNER, name, n).filter((c) => !c.body.includes('autocoder:progress')),
      };
    }
    const issue = addIssue(repoOptions.issue);
    const branch = issue.branch;
    return {
      ...issue,
      name,
      cloneUrl,
      issue: issue.number,
      common,
      /** Another issue on this repository (the first is the repository's own `issue`). */
      addIssue,
      pulls: () => emulator.state.pulls.filter((p) => p.repo === name),
      /** The branch's head on the git server, or undefined when it was never pushed. */
      head: async (ref = branch) => (await gitServer.git(name, ['rev-parse', '--verify', '--quiet', `refs/heads/${ref}`]).catch(() => '')).trim() || undefined,
      /** The branch's head; throws when it was never pushed. */
      tip: async (ref = branch) => (await gitServer.git(name, ['rev-parse', `refs/heads/${ref}`])).trim(),
      /** Every head the branch had, oldest first. */
      heads: async (ref = branch) => (await gitServer.git(name, ['reflog', 'show', '--format=%H', `refs/heads/${ref}`])).split('\n').filter(Boolean).reverse(),
      isAncestor: (a: string, b: string) => gitServer.git(name, ['merge-base', '--is-ancestor', a, b]).then(() => true, () => false),
      show: (path: string, ref = branch) => gitServer.git(name, ['show', `refs/heads/${ref}:${path}`]).catch(() => undefined),
      branches: async () => (await gitServer.git(name, ['for-each-ref', '--format=%(refname:lstrip=2)', 'refs/heads/'])).split('\n').filter(Boolean),
      /** Every model request of this repository's runs. */
      requests: () => llm.requests.filter((r) => repoOf(r) === name),
    };
  }
  type Repo = Awaited<ReturnType<typeof newRepo>>;

  return {
    emulator,
    git: gitServer,
    llm,
    dataDir,
    privateKey,
    webhookSecret: secret,
    llmKey,
    get app() {
      return app;
    },
    env,
    deliver,
    newRepo,
    waitForPr: async (repo: Repo, timeoutMs = 60_000) => (await waitFor(() => (repo.pulls().length ? repo.pulls() : undefined), 'a pull request', timeoutMs))[0],
    /** Progress comment `index` (the first by default) of issue or PR `n` once it matches `what`. */
    waitForProgress: (repo: Pick<Repo, 'progress'>, what: RegExp, n?: number, timeoutMs = 60_000, index = 0) =>
      waitFor(() => what.test(repo.progress(n)[index]?.body ?? '') && repo.progress(n)[index], `the progress comment to match ${what}`, timeoutMs),
    /** The app as a new process over the same data dir (after `app.stop()`). */
    async restart() {
      await app.stop();
      app = await startApp(env());
      return app;
    },
    async close() {
      // The app's log, for reading when a test failed.
      if (app) await writeFile(join(dataDir, 'app.log'), app.output()).catch(() => undefined);
      await app?.stop();
      await llm.close();
      await gitServer.close();
      await emulator.close();
    },
  };
}

export type GithubStage = Awaited<ReturnType<typeof startGithubStage>>;
export type StageRepo = Awaited<ReturnType<GithubStage['newRepo']>>;
export { waitFor };
