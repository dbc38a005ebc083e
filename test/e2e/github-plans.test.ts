/**
 * Plan → edit → approve, and a budget stop → `/autocoder continue`, end to end: the app started
 * with `npm start`, GitHub played by the REST emulation, the repository served over smart HTTP,
 * a scripted model that records every request. One app process for the file; each test has its
 * own repository, and the model is chosen by the repository its prompt names.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHubEmulator, type GitHubEmulator } from '../helpers/github-emulator.js';
import { startGitServer, type GitServer } from '../helpers/git-http-server.js';
import { startScriptedLlm, type RecordedRequest, type ScriptStep, type ScriptedLlm } from '../helpers/scripted-llm-server.js';
import { makeTempDir } from '../helpers/temp-repo.js';
import { issueCommentPayload, sendWebhook } from '../helpers/webhooks.js';
import { startApp, waitFor, type AppProcess } from './app-process.js';

const APP_ID = 4747;
const SECRET = 'webhook-secret-for-plan-tests';
const OWNER = 'acme';
const MAINTAINER = { login: 'mia', id: 5001, type: 'User' as const };

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });

let emulator: GitHubEmulator;
let git: GitServer;
let llm: ScriptedLlm;
let app: AppProcess;
let dataDir: string;

type Message = { role: string; content: string | null; tool_calls?: { function: { name: string } }[] };
type Turn = { prompt: string; turn: number; messages: Message[] };
type Model = (turn: Turn) => ScriptStep;
const models = new Map<string, Model>();

/** The message that started this run (the last user message) and how many turns it has had. */
function turnOf(request: RecordedRequest): Turn {
  const messages = request.body.messages as Message[];
  let last = messages.length - 1;
  while (last >= 0 && messages[last].role !== 'user') last--;
  return { prompt: String(messages[last]?.content ?? ''), turn: messages.slice(last).filter((m) => m.role === 'assistant').length, messages };
}
const repoOf = (request: RecordedRequest) => new RegExp(`${OWNER}/(plans-\\d+)\\b`).exec(turnOf(request).prompt)?.[1];
const requestsOf = (name: string) => llm.requests.filter((r) => repoOf(r) === name).map(turnOf);

const call = (name: string, args: unknown): ScriptStep => ({ toolCalls: [{ name, arguments: args }] });
const finish = (summary: string) => call('finish', { summary });
const step = (steps: ScriptStep[], turn: number) => steps[Math.min(turn, steps.length - 1)];

let counter = 0;
async function newRepo(model: Model, config: string) {
  const name = `plans-${++counter}`;
  await git.createRepo(name, {
    'src/math.js': 'export function add(a, b) {\n  return a - b;\n}\n',
    'package.json': '{ "type": "module" }\n',
    '.github/autocoder.yml': config,
  });
  await git.git(name, ['config', 'core.logAllRefUpdates', 'always']);
  const cloneUrl = git.cloneUrl(name);
  emulator.addRepo({ owner: OWNER, name, cloneUrl, files: { '.github/autocoder.yml': config } });
  emulator.setPermission(OWNER, name, MAINTAINER.login, 'write');
  const issue = emulator.addIssue(OWNER, name, { title: 'add() subtracts', body: 'add(2, 3) returns -1.', user: MAINTAINER });
  models.set(name, model);
  const common = { repo: { owner: OWNER, name, cloneUrl, defaultBranch: 'main' }, installationId: emulator.installationId, apiUrl: emulator.apiUrl };
  const branch = `autocoder/issue-${issue.number}`;
  const target = { issue: { number: issue.number, title: issue.title, body: issue.body, user: MAINTAINER } };
  let comments = 0;
  return {
    name,
    issue: issue.number,
    branch,
    comment: (body: string) => {
      const id = 10_000 * counter + ++comments;
      return deliver('issue_comment', issueCommentPayload({ ...common, sender: MAINTAINER, ...target, comment: { body, id, user: MAINTAINER } }));
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
    pulls: () => emulator.state.pulls.filter((p) => p.repo === name),
    progress: () => emulator.commentsOn(OWNER, name, issue.number).filter((c) => c.body.includes('autocoder:progress')),
    planComment: () => emulator.commentsOn(OWNER, name, issue.number).find((c) => c.body.includes('<!-- autocoder:plan run=')),
    replies: () => emulator.commentsOn(OWNER, name, issue.number).filter((c) => !/autocoder:(progress|plan) /.test(c.body)),
    head: async () => (await git.git(name, ['rev-parse', `refs/heads/${branch}`])).trim(),
    isAncestor: (a: string, b: string) => git.git(name, ['merge-base', '--is-ancestor', a, b]).then(() => true, () => false),
    show: (path: string) => git.git(name, ['show', `refs/heads/${branch}:${path}`]).catch(() => undefined),
  };
}
type Repo = Awaited<ReturnType<typeof newRepo>>;

function deliver(event: string, payload: unknown) {
  return sendWebhook({ url: app.webhookUrl, secret: SECRET, event, payload });
}
/** Progress comment `index` once it matches; a timeout shows what it says instead. */
const waitForProgress = (repo: Repo, what: RegExp, index: number) =>
  waitFor(() => what.test(repo.progress()[index]?.body ?? '') && repo.progress()[index], `progress comment ${index} to match ${what}`, 60_000).catch((error) => {
    throw new Error(`${(error as Error).message}; the comments are:\n${emulator.commentsOn(OWNER, repo.name, repo.issue).map((c) => c.body).join('\n---\n')}`);
  });

beforeAll(async () => {
  emulator = await startGitHubEmulator({
    appId: APP_ID,
    privateKeyPem: privateKey,
    branchExists: async (_owner, repo, branch) => git.git(repo, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]).then(() => true, () => false),
  });
  git = await startGitServer({ token: (token) => emulator.isValidInstallationToken(token) });
  llm = await startScriptedLlm((request) => {
    const name = repoOf(request);
    const model = name ? models.get(name) : undefined;
    return model ? model(turnOf(request)) : { status: 400, body: { error: { message: `no model for ${name}`, type: 'invalid_request_error' } } };
  });
  dataDir = await makeTempDir('autocoder-e2e-plans-');
  app = await startApp({
    APP_ID: String(APP_ID),
    PRIVATE_KEY: privateKey,
    WEBHOOK_SECRET: SECRET,
    GHE_HOST: emulator.host,
    GHE_PROTOCOL: 'http',
    OPENAI_API_KEY: 'sk-e2e-plans-key-0123456789abcdef',
    OPENAI_BASE_URL: llm.baseURL,
    AUTOCODER_MODEL: 'scripted-model',
    AUTOCODER_DATA_DIR: dataDir,
    AUTOCODER_CONCURRENCY: '2',
    LOG_LEVEL: 'info',
  });
}, 120_000);

afterAll(async () => {
  if (app) await writeFile(join(dataDir, 'app.log'), app.output());
  await app?.stop();
  await llm?.close();
  await git?.close();
  await emulator?.close();
});

const PLAN = '1. In `src/math.js`, return `a + b`.\n2. Check that `add(2, 3)` is 5.';
const EDIT = '3. Add a `CHANGELOG.md` with the line `- add() adds`.';

/** Plans; then does what the plan it is given says: the changelog only when the plan asks for it. */
const planningModel: Model = ({ prompt, turn }) => {
  if (prompt.startsWith('Read the code of')) return step([call('read_file', { path: 'src/math.js' }), finish(PLAN)], turn);
  const steps = [call('edit_file', { path: 'src/math.js', old_string: 'a - b', new_string: 'a + b' })];
  if (prompt.includes('CHANGELOG.md')) steps.push(call('write_file', { path: 'CHANGELOG.md', content: '- add() adds\n' }));
  return step([...steps, finish('Carried out the plan.')], turn);
};

describe('plan → edit → approve', () => {
  it('a writer edits the plan comment, `/autocoder approve` runs the edited plan, and a pull request opens', async () => {
    const repo = await newRepo(planningModel, 'maxSteps: 10\n');
    await repo.comment('/autocoder plan');
    const plan = await waitFor(() => repo.planComment(), 'the plan comment', 60_000);
    await waitForProgress(repo, /Done/, 0);
    expect(plan.body).toContain(PLAN);
    expect(plan.body).toContain('- [ ] Approve this plan');

    // An edit that ticks nothing starts nothing; the approval reads the comment as it is then.
    expect((await repo.edit(plan.id, (body) => body.replace(PLAN, `${PLAN}\n${EDIT}`))).status).toBe(200);
    await repo.comment('/autocoder approve');
    await waitForProgress(repo, /Done\*\* — pull request/, 1);

    const prompts = requestsOf(repo.name).filter((t) => t.prompt.includes('approved this plan')).map((t) => t.prompt);
    expect(prompts.length).toBeGreaterThan(0);
    expect(prompts[0]).toContain(`@mia (a maintainer) approved this plan; carry it out:\n${PLAN}\n${EDIT}`);
    expect(prompts[0]).not.toContain('Approve this plan');
    expect(prompts[0]).not.toContain('autocoder:plan');
    expect(repo.pulls()).toHaveLength(1);
    expect(await repo.show('CHANGELOG.md')).toBe('- add() adds\n');
    expect(await repo.show('src/math.js')).toContain('a + b');

    const approved = repo.planComment()!;
    expect(approved.body).toContain(EDIT);
    expect(approved.body).toContain('- [x] Approve this plan');
    expect(approved.body).toMatch(/Approved by @mia: run `run_\w+` carries it out\./);
    expect(repo.progress()).toHaveLength(2);
    expect(repo.replies().filter((c) => c.user.login === emulator.botLogin)).toHaveLength(0);
  }, 120_000);

  it('ticking the box runs the plan too', async () => {
    const repo = await newRepo(planningModel, 'maxSteps: 10\n');
    await repo.comment('/autocoder plan');
    const plan = await waitFor(() => repo.planComment(), 'the plan comment', 60_000);
    await waitForProgress(repo, /Done/, 0);

    await repo.edit(plan.id, (body) => body.replace(PLAN, `${PLAN}\n${EDIT}`).replace('- [ ] Approve this plan', '- [x] Approve this plan'));
    await waitForProgress(repo, /Done\*\* — pull request/, 1);
    expect(repo.pulls()).toHaveLength(1);
    expect(await repo.show('CHANGELOG.md')).toBe('- add() adds\n');
    expect(repo.planComment()!.body).toMatch(/Approved by @mia: run `run_\w+` carries it out\./);
    // The 👀 goes on the comment that was ticked.
    expect(emulator.state.reactions.some((r) => r.subjectType === 'issue_comment' && r.subjectId === plan.id && r.content === 'eyes')).toBe(true);
  }, 120_000);
});

describe('a plan run that its budget stops', () => {
  it('posts no plan to approve, and says so; `/autocoder approve` then gets a clear reply', async () => {
    const repo = await newRepo(() => call('read_file', { path: 'src/math.js' }), 'maxSteps: 1\n');
    await repo.comment('/autocoder plan');
    const stopped = await waitForProgress(repo, /Finished without changes/, 0);
    expect(stopped.body).toContain('No plan was written; comment `/autocoder plan` to try again.');
    expect(repo.planComment()).toBeUndefined();

    await repo.comment('/autocoder approve');
    const reply = await waitFor(() => repo.replies().find((c) => c.user.login === emulator.botLogin), 'the reply', 30_000);
    expect(reply.body).toMatch(/^There is no plan here to approve\./);
    expect(repo.progress()).toHaveLength(1);
    expect(repo.pulls()).toHaveLength(0);
  }, 90_000);
});

describe('a budget stop, then `/autocoder continue`', () => {
  it('one pull request: draft and marked incomplete, then completed on the same branch with the conversation remembered', async () => {
    const repo = await newRepo(({ prompt, turn }) => {
      if (prompt.startsWith('Continue the work')) {
        return step([call('write_file', { path: 'CHANGELOG.md', content: '- add() adds\n' }), finish('Fixed add() and added a changelog entry.')], turn);
      }
      // Two steps are all it gets: it never reaches the changelog or finish.
      return step([call('edit_file', { path: 'src/math.js', old_string: 'a - b', new_string: 'a + b' }), call('read_file', { path: 'src/math.js' }), finish('never')], turn);
    }, 'maxSteps: 2\ndraft: false\n');
    await repo.comment('/autocoder fix add()');
    await waitForProgress(repo, /Done\*\* — pull request/, 0);
    const [first] = repo.pulls();
    expect(first.draft).toBe(true);
    expect(first.body).toMatch(/\*\*Incomplete:\*\* [^\n]*all 2 of its steps/);
    const stoppedAt = await repo.head();
    expect(await repo.show('CHANGELOG.md')).toBeUndefined();

    await repo.comment('/autocoder continue');
    await waitForProgress(repo, /Done\*\* — pull request/, 1);

    expect(repo.pulls()).toHaveLength(1);
    const [pr] = repo.pulls();
    expect(pr.number).toBe(first.number);
    expect(pr.body).not.toContain('Incomplete');
    expect(pr.body).not.toContain('Stopped after');
    expect(pr.body).toContain('Fixed add() and added a changelog entry.');
    const head = await repo.head();
    expect(head).not.toBe(stoppedAt);
    expect(await repo.isAncestor(stoppedAt, head)).toBe(true);
    expect(await repo.show('CHANGELOG.md')).toBe('- add() adds\n');
    expect(await repo.show('src/math.js')).toContain('a + b');

    // The continued run's first request carries the whole earlier conversation before its own prompt.
    const resumed = requestsOf(repo.name).find((t) => t.prompt.startsWith('Continue the work'))!;
    expect(resumed.prompt).toContain(`on issue #${repo.issue} in ${OWNER}/${repo.name} from where the earlier run stopped: it used all of its steps`);
    const earlier = resumed.messages.slice(0, resumed.messages.findIndex((m) => m.role === 'user' && m.content === resumed.prompt));
    expect(earlier.some((m) => m.role === 'user' && String(m.content).startsWith(`Resolve issue #${repo.issue}`))).toBe(true);
    expect(earlier.flatMap((m) => m.tool_calls ?? []).map((c) => c.function.name)).toEqual(['edit_file', 'read_file']);
  }, 120_000);
});
