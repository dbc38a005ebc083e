import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhooks } from '@octokit/webhooks';
import { createNodeMiddleware, Probot, ProbotOctokit } from 'probot';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startGitHubEmulator, type GitHubEmulator } from '../helpers/github-emulator.js';
import {
  deepMerge,
  issueCommentPayload,
  issueLabeledPayload,
  reviewCommentPayload,
  reviewSubmittedPayload,
  sendWebhook,
  signPayload,
  webhookPayload,
} from '../helpers/webhooks.js';

const TestOctokit = ProbotOctokit.defaults((o: Record<string, unknown>) => ({
  ...o,
  retry: { enabled: false },
  throttle: { ...(o.throttle as object), enabled: false },
}));
type TestOctokit = InstanceType<typeof TestOctokit>;

const APP_ID = 4242;
const OWNER = 'acme';
const REPO = 'widgets';
const CLONE_URL = 'http://127.0.0.1:1/acme/widgets.git';
const CONFIG = 'label: do-it\nmaxSteps: 7\n';

const { privateKey: PKCS8 } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const { privateKey: PKCS1 } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

let gh: GitHubEmulator;

function installationOctokit(privateKey = PKCS8, installationId = 1): TestOctokit {
  return new TestOctokit({ auth: { appId: APP_ID, privateKey, installationId }, baseUrl: gh.apiUrl });
}

function tokenOctokit(token: string): TestOctokit {
  return new TestOctokit({ auth: { token }, baseUrl: gh.apiUrl });
}

async function mintToken(octokit: TestOctokit): Promise<string> {
  const auth = (await octokit.auth({ type: 'installation' })) as { token: string };
  return auth.token;
}

async function status(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    return (error as { status: number }).status;
  }
}

beforeEach(async () => {
  gh = await startGitHubEmulator({ appId: APP_ID, privateKeyPem: PKCS8 });
  gh.addRepo({ owner: OWNER, name: REPO, cloneUrl: CLONE_URL, files: { '.github/autocoder.yml': CONFIG, 'src/a.ts': 'export const a = 1;\n' } });
  gh.setPermission(OWNER, REPO, 'alice', 'write');
  gh.addIssue(OWNER, REPO, { number: 1, title: 'Fix the widget', body: 'It is broken.', user: { login: 'alice' } });
});

afterEach(async () => {
  await gh.close();
});

describe('github emulator: app authentication', () => {
  it('mints an installation token with an app JWT from a PKCS#8 key', async () => {
    const octokit = installationOctokit();
    const token = await mintToken(octokit);
    expect(token).toMatch(/^ghs_[A-Za-z0-9]{36}$/);
    expect(gh.isValidInstallationToken(token)).toBe(true);
    const minted = gh.state.requests.find((r) => r.path === '/app/installations/1/access_tokens');
    expect(minted).toMatchObject({ method: 'POST', status: 201, auth: 'app' });
    expect(gh.state.tokens[0]).toMatchObject({ token, installationId: 1, expired: false });
    expect(Date.parse(gh.state.tokens[0].expiresAt) - Date.now()).toBeGreaterThan(59 * 60 * 1000);
  });

  it('accepts a PKCS#1 key of the same pair and answers GET /app and the installation lookups', async () => {
    await gh.close();
    gh = await startGitHubEmulator({ appId: APP_ID, privateKeyPem: PKCS1, appSlug: 'my-coder' });
    gh.addRepo({ owner: OWNER, name: REPO, cloneUrl: CLONE_URL });
    const app = new TestOctokit({ auth: { appId: APP_ID, privateKey: PKCS1 }, baseUrl: gh.apiUrl });
    const { data } = await app.rest.apps.getAuthenticated();
    expect(data).toMatchObject({ id: APP_ID, slug: 'my-coder', name: 'my-coder' });
    expect(data?.owner).toHaveProperty('login');
    const inst = await app.rest.apps.getRepoInstallation({ owner: OWNER, repo: REPO });
    expect(inst.data).toMatchObject({ id: 1, app_id: APP_ID, account: { login: OWNER } });
    const byId = await app.rest.apps.getInstallation({ installation_id: 1 });
    expect(byId.data.id).toBe(1);
    expect(await status(app.rest.apps.getInstallation({ installation_id: 99 }))).toBe(404);
    expect(gh.botLogin).toBe('my-coder[bot]');
  });

  it('refuses a JWT signed with another key, and an installation token on /app', async () => {
    const stranger = new TestOctokit({ auth: { appId: APP_ID, privateKey: PKCS1 }, baseUrl: gh.apiUrl });
    expect(await status(stranger.rest.apps.getAuthenticated())).toBe(401);
    const wrongApp = new TestOctokit({ auth: { appId: APP_ID + 1, privateKey: PKCS8 }, baseUrl: gh.apiUrl });
    expect(await status(wrongApp.rest.apps.getAuthenticated())).toBe(401);
    const token = await mintToken(installationOctokit());
    expect(await status(tokenOctokit(token).rest.apps.getAuthenticated())).toBe(401);
  });

  it('answers 401 Bad credentials for a token it never minted, and for an expired one', async () => {
    const bad = tokenOctokit('ghs_' + 'x'.repeat(36));
    await expect(bad.rest.repos.get({ owner: OWNER, repo: REPO })).rejects.toMatchObject({ status: 401, message: expect.stringContaining('Bad credentials') });
    expect(gh.state.requests.at(-1)).toMatchObject({ status: 401, auth: 'invalid' });

    const token = await mintToken(installationOctokit());
    const good = tokenOctokit(token);
    expect((await good.rest.repos.get({ owner: OWNER, repo: REPO })).data.full_name).toBe('acme/widgets');
    gh.expireTokens();
    expect(gh.isValidInstallationToken(token)).toBe(false);
    expect(await status(good.rest.repos.get({ owner: OWNER, repo: REPO }))).toBe(401);
    // A token minted afterwards works again.
    const fresh = await mintToken(installationOctokit());
    expect(fresh).not.toBe(token);
    expect(gh.isValidInstallationToken(fresh)).toBe(true);
    expect(await status(tokenOctokit(fresh).rest.repos.get({ owner: OWNER, repo: REPO }))).toBe(200);
  });

  it('answers 401 with no credentials at all', async () => {
    const res = await fetch(`${gh.apiUrl}/repos/${OWNER}/${REPO}`);
    expect(res.status).toBe(401);
  });
});

describe('github emulator: repository, users, permissions, contents', () => {
  it('serves the repository, users and permission levels as GitHub does', async () => {
    const octokit = installationOctokit();
    const { data: repo } = await octokit.rest.repos.get({ owner: OWNER, repo: REPO });
    expect(repo).toMatchObject({ full_name: 'acme/widgets', default_branch: 'main', clone_url: CLONE_URL, private: false, owner: { login: OWNER } });

    const { data: bot } = await octokit.rest.users.getByUsername({ username: 'autocoder[bot]' });
    expect(bot).toMatchObject({ login: 'autocoder[bot]', type: 'Bot' });
    const { data: alice } = await octokit.rest.users.getByUsername({ username: 'alice' });
    expect(alice).toMatchObject({ login: 'alice', type: 'User' });
    expect(await status(octokit.rest.users.getByUsername({ username: 'nobody-at-all' }))).toBe(404);

    gh.setPermission(OWNER, REPO, 'mia', 'maintain');
    gh.setPermission(OWNER, REPO, 'tom', 'triage');
    const level = async (username: string) =>
      (await octokit.rest.repos.getCollaboratorPermissionLevel({ owner: OWNER, repo: REPO, username })).data;
    expect(await level('alice')).toMatchObject({ permission: 'write', role_name: 'write', user: { login: 'alice' } });
    expect(await level('mia')).toMatchObject({ permission: 'write', role_name: 'maintain' });
    expect(await level('tom')).toMatchObject({ permission: 'read', role_name: 'triage' });
    expect(await level('acme')).toMatchObject({ permission: 'admin', role_name: 'admin' });
    expect(await level('stranger')).toMatchObject({ permission: 'none' });
    expect(await status(octokit.rest.repos.get({ owner: OWNER, repo: 'missing' }))).toBe(404);
  });

  it('reads the config file the way Probot context.config does, with the .github fallback answered 404', async () => {
    const octokit = installationOctokit();
    const { config, files } = await octokit.config.get({ owner: OWNER, repo: REPO, path: '.github/autocoder.yml' });
    expect(config).toEqual({ label: 'do-it', maxSteps: 7 });
    expect(files).toHaveLength(1);

    gh.setFile(OWNER, REPO, '.github/autocoder.yml', null);
    const missing = await octokit.config.get({ owner: OWNER, repo: REPO, path: '.github/autocoder.yml' });
    expect(missing.files.map((f) => f.config)).toEqual([null, null]);
    const lookups = gh.state.requests.filter((r) => r.path.includes('/contents/')).map((r) => `${r.status} ${r.path}`);
    expect(lookups).toEqual([
      '200 /repos/acme/widgets/contents/.github/autocoder.yml',
      '404 /repos/acme/widgets/contents/.github/autocoder.yml',
      '404 /repos/acme/.github/contents/.github/autocoder.yml',
    ]);
  });

  it('serves files as base64 JSON, directories as lists, other refs only when they exist', async () => {
    const octokit = installationOctokit();
    const { data } = await octokit.rest.repos.getContent({ owner: OWNER, repo: REPO, path: 'src/a.ts' });
    expect(data).toMatchObject({ type: 'file', encoding: 'base64', name: 'a.ts', path: 'src/a.ts' });
    expect(Buffer.from((data as { content: string }).content, 'base64').toString('utf8')).toBe('export const a = 1;\n');
    const { data: root } = await octokit.rest.repos.getContent({ owner: OWNER, repo: REPO, path: '' });
    expect((root as { path: string; type: string }[]).map((e) => `${e.type}:${e.path}`)).toEqual(['dir:.github', 'dir:src']);
    expect(await status(octokit.rest.repos.getContent({ owner: OWNER, repo: REPO, path: 'nope.txt' }))).toBe(404);
    expect(await status(octokit.rest.repos.getContent({ owner: OWNER, repo: REPO, path: 'src/a.ts', ref: 'feature' }))).toBe(404);
    gh.setFile(OWNER, REPO, '.github/autocoder.yml', 'maxSteps: 1\n', 'feature');
    const raw = await octokit.request('GET /repos/{owner}/{repo}/contents/{path}', {
      owner: OWNER,
      repo: REPO,
      path: '.github/autocoder.yml',
      ref: 'feature',
      mediaType: { format: 'raw' },
    });
    expect(raw.data).toBe('maxSteps: 1\n');
  });
});

describe('github emulator: issues, comments, reactions, labels', () => {
  it('creates, lists, updates and deletes comments written by the bot', async () => {
    const octokit = installationOctokit();
    const created = await octokit.rest.issues.createComment({ owner: OWNER, repo: REPO, issue_number: 1, body: 'Queued.' });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({ body: 'Queued.', user: { login: 'autocoder[bot]', type: 'Bot' } });
    expect(created.data.html_url).toContain('/acme/widgets/issues/1#issuecomment-');

    const updated = await octokit.rest.issues.updateComment({ owner: OWNER, repo: REPO, comment_id: created.data.id, body: 'Working: step 2' });
    expect(updated.data.body).toBe('Working: step 2');
    expect(gh.commentsOn(OWNER, REPO, 1).map((c) => c.body)).toEqual(['Working: step 2']);
    const list = await octokit.rest.issues.listComments({ owner: OWNER, repo: REPO, issue_number: 1 });
    expect(list.data.map((c) => c.id)).toEqual([created.data.id]);
    const got = await octokit.rest.issues.getComment({ owner: OWNER, repo: REPO, comment_id: created.data.id });
    expect(got.data.body).toBe('Working: step 2');

    const removed = await octokit.rest.issues.deleteComment({ owner: OWNER, repo: REPO, comment_id: created.data.id });
    expect(removed.status).toBe(204);
    expect(await status(octokit.rest.issues.getComment({ owner: OWNER, repo: REPO, comment_id: created.data.id }))).toBe(404);
    expect(await status(octokit.rest.issues.createComment({ owner: OWNER, repo: REPO, issue_number: 99, body: 'x' }))).toBe(404);
    expect(await status(octokit.rest.issues.createComment({ owner: OWNER, repo: REPO, issue_number: 1, body: 'x'.repeat(65537) }))).toBe(422);
  });

  it('paginates long lists with Link headers', async () => {
    const octokit = installationOctokit();
    for (let i = 0; i < 35; i++) await octokit.rest.issues.createComment({ owner: OWNER, repo: REPO, issue_number: 1, body: `c${i}` });
    const first = await octokit.rest.issues.listComments({ owner: OWNER, repo: REPO, issue_number: 1 });
    expect(first.data).toHaveLength(30);
    expect(first.headers.link).toContain('rel="next"');
    const all = await octokit.paginate(octokit.rest.issues.listComments, { owner: OWNER, repo: REPO, issue_number: 1, per_page: 10 });
    expect(all.map((c) => c.body)).toEqual(Array.from({ length: 35 }, (_, i) => `c${i}`));
  });

  it('reacts: 201 the first time, 200 for the same reaction, 422 for an unknown one', async () => {
    const octokit = installationOctokit();
    const first = await octokit.rest.reactions.createForIssue({ owner: OWNER, repo: REPO, issue_number: 1, content: 'eyes' });
    expect(first.status).toBe(201);
    expect(first.data).toMatchObject({ content: 'eyes', user: { login: 'autocoder[bot]' } });
    const again = await octokit.rest.reactions.createForIssue({ owner: OWNER, repo: REPO, issue_number: 1, content: 'eyes' });
    expect(again.status).toBe(200);
    expect(again.data.id).toBe(first.data.id);
    expect(await status(octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/reactions', { owner: OWNER, repo: REPO, issue_number: 1, content: 'wow' as 'eyes' }))).toBe(422);

    const comment = await octokit.rest.issues.createComment({ owner: OWNER, repo: REPO, issue_number: 1, body: 'hi' });
    const onComment = await octokit.rest.reactions.createForIssueComment({ owner: OWNER, repo: REPO, comment_id: comment.data.id, content: 'rocket' });
    expect(onComment.status).toBe(201);

    gh.addPull(OWNER, REPO, { number: 5, title: 'Earlier', head: 'autocoder/issue-1' });
    const rc = gh.addReviewComment(OWNER, REPO, 5, { path: 'src/a.ts', line: 1, body: '/autocoder rename', diff_hunk: '@@ -1 +1 @@', user: { login: 'alice' } });
    const onReview = await octokit.rest.reactions.createForPullRequestReviewComment({ owner: OWNER, repo: REPO, comment_id: rc.id, content: 'eyes' });
    expect(onReview.status).toBe(201);
    // A review comment's id is not an issue comment's id.
    expect(await status(octokit.rest.reactions.createForIssueComment({ owner: OWNER, repo: REPO, comment_id: rc.id, content: 'eyes' }))).toBe(404);
    expect(gh.state.reactions.map((r) => `${r.subjectType}:${r.content}`)).toEqual(['issue:eyes', 'issue_comment:rocket', 'pull_request_review_comment:eyes']);
    const issue = await octokit.rest.issues.get({ owner: OWNER, repo: REPO, issue_number: 1 });
    expect(issue.data.reactions).toMatchObject({ total_count: 1, eyes: 1 });
  });

  it('adds and removes labels', async () => {
    const octokit = installationOctokit();
    const added = await octokit.rest.issues.addLabels({ owner: OWNER, repo: REPO, issue_number: 1, labels: ['autocoder', 'bug'] });
    expect(added.data.map((l) => l.name)).toEqual(['autocoder', 'bug']);
    const left = await octokit.rest.issues.removeLabel({ owner: OWNER, repo: REPO, issue_number: 1, name: 'autocoder' });
    expect(left.data.map((l) => l.name)).toEqual(['bug']);
    expect(await status(octokit.rest.issues.removeLabel({ owner: OWNER, repo: REPO, issue_number: 1, name: 'autocoder' }))).toBe(404);
    const issue = await octokit.rest.issues.get({ owner: OWNER, repo: REPO, issue_number: 1 });
    expect(issue.data).toMatchObject({ number: 1, title: 'Fix the widget', body: 'It is broken.', user: { login: 'alice', type: 'User' }, state: 'open' });
    expect(issue.data.labels.map((l) => (typeof l === 'string' ? l : l.name))).toEqual(['bug']);
    expect(issue.data.pull_request).toBeUndefined();
  });
});

describe('github emulator: pull requests', () => {
  it('opens a pull request, refuses a duplicate with 422, lists, filters and updates', async () => {
    const octokit = installationOctokit();
    const created = await octokit.rest.pulls.create({ owner: OWNER, repo: REPO, title: 'Fix #1', head: 'autocoder/issue-1', base: 'main', body: 'Fixes #1', draft: true });
    expect(created.status).toBe(201);
    // Issues and pull requests share one number sequence.
    expect(created.data).toMatchObject({ number: 2, state: 'open', draft: true, title: 'Fix #1', body: 'Fixes #1', user: { login: 'autocoder[bot]', type: 'Bot' } });
    expect(created.data.head).toMatchObject({ ref: 'autocoder/issue-1', label: 'acme:autocoder/issue-1' });
    expect(created.data.base).toMatchObject({ ref: 'main', repo: { full_name: 'acme/widgets' } });

    const duplicate = octokit.rest.pulls.create({ owner: OWNER, repo: REPO, title: 'again', head: 'autocoder/issue-1', base: 'main' });
    await expect(duplicate).rejects.toMatchObject({ status: 422, message: expect.stringContaining('A pull request already exists for acme:autocoder/issue-1.') });

    const byHead = await octokit.rest.pulls.list({ owner: OWNER, repo: REPO, head: 'acme:autocoder/issue-1' });
    expect(byHead.data.map((p) => p.number)).toEqual([2]);
    expect((await octokit.rest.pulls.list({ owner: OWNER, repo: REPO, head: 'acme:other' })).data).toEqual([]);
    expect((await octokit.rest.pulls.list({ owner: OWNER, repo: REPO, base: 'develop' })).data).toEqual([]);

    const updated = await octokit.rest.pulls.update({ owner: OWNER, repo: REPO, pull_number: 2, title: 'Fix #1 (v2)', body: 'new body' });
    expect(updated.data).toMatchObject({ title: 'Fix #1 (v2)', body: 'new body', merged: false });
    const asIssue = await octokit.rest.issues.get({ owner: OWNER, repo: REPO, issue_number: 2 });
    expect(asIssue.data.pull_request?.url).toBe(`${gh.apiUrl}/repos/acme/widgets/pulls/2`);
    await octokit.rest.issues.createComment({ owner: OWNER, repo: REPO, issue_number: 2, body: 'progress' });
    expect((await octokit.rest.pulls.get({ owner: OWNER, repo: REPO, pull_number: 2 })).data.comments).toBe(1);

    await octokit.rest.pulls.update({ owner: OWNER, repo: REPO, pull_number: 2, state: 'closed' });
    expect((await octokit.rest.pulls.list({ owner: OWNER, repo: REPO })).data).toEqual([]);
    expect((await octokit.rest.pulls.list({ owner: OWNER, repo: REPO, state: 'closed' })).data.map((p) => p.number)).toEqual([2]);
    // With the old one closed, the same head may be opened again.
    const reopened = await octokit.rest.pulls.create({ owner: OWNER, repo: REPO, title: 'Fix #1', head: 'acme:autocoder/issue-1', base: 'main' });
    expect(reopened.data.number).toBe(3);
    expect(await status(octokit.rest.pulls.get({ owner: OWNER, repo: REPO, pull_number: 1 }))).toBe(404);
    expect(gh.state.pulls.map((p) => `${p.number}:${p.state}`)).toEqual(['2:closed', '3:open']);
  });

  it('checks that the head branch exists when branchExists is given', async () => {
    await gh.close();
    const branches = new Set(['main', 'autocoder/issue-1']);
    gh = await startGitHubEmulator({ appId: APP_ID, privateKeyPem: PKCS8, branchExists: async (_o, _r, b) => branches.has(b), branchSha: (_o, _r, b) => (b === 'main' ? 'a'.repeat(40) : null) });
    gh.addRepo({ owner: OWNER, name: REPO, cloneUrl: CLONE_URL });
    const octokit = installationOctokit();
    const missing = octokit.rest.pulls.create({ owner: OWNER, repo: REPO, title: 't', head: 'autocoder/issue-9', base: 'main' });
    await expect(missing).rejects.toMatchObject({ status: 422, response: { data: { errors: [{ resource: 'PullRequest', field: 'head', code: 'invalid' }] } } });
    const ok = await octokit.rest.pulls.create({ owner: OWNER, repo: REPO, title: 't', head: 'autocoder/issue-1', base: 'main' });
    expect(ok.data.base.sha).toBe('a'.repeat(40));
    expect(ok.data.head.sha).toMatch(/^[0-9a-f]{40}$/);
  });

  it('serves review comments, reviews and changed files', async () => {
    const octokit = installationOctokit();
    gh.addPull(OWNER, REPO, { number: 7, title: 'Fix #1', head: 'autocoder/issue-1', body: 'Fixes #1' });
    const review = gh.addReview(OWNER, REPO, 7, { body: '/autocoder please fix these', user: { login: 'alice' } });
    gh.addReviewComment(OWNER, REPO, 7, { path: 'src/a.ts', line: 1, body: 'use 2', diff_hunk: '@@ -0,0 +1 @@\n+export const a = 1;', user: { login: 'alice' }, pull_request_review_id: review.id });
    gh.addReviewComment(OWNER, REPO, 7, { path: 'README.md', line: 3, body: 'loose', diff_hunk: '@@', user: { login: 'alice' } });
    gh.setPullFiles(OWNER, REPO, 7, [{ filename: 'src/a.ts', status: 'modified', additions: 1, deletions: 1, patch: '@@ -1 +1 @@' }]);

    const all = await octokit.rest.pulls.listReviewComments({ owner: OWNER, repo: REPO, pull_number: 7 });
    expect(all.data.map((c) => `${c.path}:${c.line}:${c.body}`)).toEqual(['src/a.ts:1:use 2', 'README.md:3:loose']);
    const ofReview = await octokit.rest.pulls.listCommentsForReview({ owner: OWNER, repo: REPO, pull_number: 7, review_id: review.id });
    expect(ofReview.data.map((c) => c.body)).toEqual(['use 2']);
    const got = await octokit.rest.pulls.getReview({ owner: OWNER, repo: REPO, pull_number: 7, review_id: review.id });
    expect(got.data).toMatchObject({ state: 'CHANGES_REQUESTED', body: '/autocoder please fix these' });
    const files = await octokit.rest.pulls.listFiles({ owner: OWNER, repo: REPO, pull_number: 7 });
    expect(files.data).toEqual([expect.objectContaining({ filename: 'src/a.ts', status: 'modified', additions: 1, deletions: 1, changes: 2, patch: '@@ -1 +1 @@' })]);
    const pull = await octokit.rest.pulls.get({ owner: OWNER, repo: REPO, pull_number: 7 });
    expect(pull.data).toMatchObject({ changed_files: 1, review_comments: 2, user: { login: 'autocoder[bot]' } });
  });
});

describe('github emulator: GraphQL', () => {
  const READY = 'mutation ($id: ID!) { markPullRequestReadyForReview(input: { pullRequestId: $id }) { pullRequest { id number isDraft url } } }';
  const errorsOf = async (promise: Promise<unknown>) => {
    const error = await promise.then(() => undefined, (e: unknown) => e);
    expect(error, 'a GraphQL error').toBeDefined();
    return (error as { errors: { message: string; type?: string }[] }).errors;
  };

  it('answers octokit.graphql at GHE\'s /api/graphql: the mutation takes the pull request out of draft', async () => {
    const octokit = installationOctokit();
    const pull = gh.addPull(OWNER, REPO, { number: 7, title: 'Fix #1', head: 'autocoder/issue-1', draft: true });
    const { data: rest } = await octokit.rest.pulls.get({ owner: OWNER, repo: REPO, pull_number: 7 });
    const data = await octokit.graphql<{ ready: { pullRequest: Record<string, unknown> } }>(READY.replace('markPull', 'ready: markPull'), { id: rest.node_id });
    expect(data).toEqual({ ready: { pullRequest: { id: rest.node_id, number: 7, isDraft: false, url: rest.html_url } } });
    expect(pull.draft).toBe(false);
    expect((await octokit.rest.pulls.get({ owner: OWNER, repo: REPO, pull_number: 7 })).data.draft).toBe(false);
    expect(gh.state.requests.filter((r) => r.path === '/api/graphql').map((r) => [r.method, r.status, r.auth])).toEqual([['POST', 200, 'installation']]);
    // Again: still ready, no error.
    expect(await octokit.graphql(READY, { id: rest.node_id })).toEqual({ markPullRequestReadyForReview: { pullRequest: expect.objectContaining({ isDraft: false }) } });
  });

  it('answers anything else, an unknown node and an unknown field with GraphQL errors; no token is a 401', async () => {
    const octokit = installationOctokit();
    gh.addPull(OWNER, REPO, { number: 7, title: 'Fix #1', head: 'autocoder/issue-1', draft: true });
    expect(await errorsOf(octokit.graphql('query { viewer { login } }'))).toEqual([expect.objectContaining({ message: expect.stringContaining('only the markPullRequestReadyForReview mutation') })]);
    expect(await errorsOf(octokit.graphql(READY, { id: 'PR_nope' }))).toEqual([
      { type: 'NOT_FOUND', path: ['markPullRequestReadyForReview'], locations: [{ line: 1, column: 23 }], message: "Could not resolve to a node with the global id of 'PR_nope'" },
    ]);
    const node = (await octokit.rest.pulls.get({ owner: OWNER, repo: REPO, pull_number: 7 })).data.node_id;
    expect(await errorsOf(octokit.graphql(READY.replace('isDraft', 'mergeable'), { id: node }))).toEqual([expect.objectContaining({ message: "Field 'mergeable' doesn't exist on type 'PullRequest'" })]);
    expect(await errorsOf(octokit.graphql(READY, {}))).toEqual([expect.objectContaining({ message: 'Variable $id of type ID! was provided invalid value' })]);
    expect(gh.state.pulls[0].draft).toBe(true);
    expect(await status(new TestOctokit({ baseUrl: gh.apiUrl }).graphql(READY, { id: node }))).toBe(401);
  });
});

describe('github emulator: failures and unexpected calls', () => {
  it('failNext answers the given status the given number of times, then works', async () => {
    const octokit = installationOctokit();
    gh.failNext('POST', /\/pulls$/, 502, 2);
    const create = () => octokit.rest.pulls.create({ owner: OWNER, repo: REPO, title: 't', head: 'autocoder/issue-1', base: 'main' });
    expect(await status(create())).toBe(502);
    expect(await status(create())).toBe(502);
    expect((await create()).status).toBe(201);
    expect(gh.state.requests.filter((r) => r.path.endsWith('/pulls')).map((r) => r.status)).toEqual([502, 502, 201]);
  });

  it('answers 404 for an unknown route and records it', async () => {
    const octokit = installationOctokit();
    expect(await status(octokit.request('POST /repos/{owner}/{repo}/merges', { owner: OWNER, repo: REPO, base: 'main', head: 'x' }))).toBe(404);
    expect(gh.unexpectedRequests()).toEqual([expect.objectContaining({ method: 'POST', path: '/repos/acme/widgets/merges', status: 404, body: { base: 'main', head: 'x' } })]);
  });
});

describe('webhook helpers', () => {
  const secret = 'webhook-secret';
  const repo = { owner: OWNER, name: REPO, cloneUrl: CLONE_URL, defaultBranch: 'trunk' };

  it('signs payloads that @octokit/webhooks verifies', async () => {
    const webhooks = new Webhooks({ secret });
    const payloads = [
      issueLabeledPayload({ repo, installationId: 3, issue: { number: 1, title: 'Fix', body: 'b', user: { login: 'alice' } }, sender: { login: 'alice' } }),
      issueCommentPayload({ repo, installationId: 3, issue: { number: 2 }, isPullRequest: true, comment: { body: '/autocoder more tests', user: { login: 'alice' } } }),
      reviewCommentPayload({ repo, installationId: 3, pullRequest: { number: 2, headRef: 'autocoder/issue-1' }, comment: { body: '/autocoder rename', path: 'src/a.ts', line: 4, diff_hunk: '@@ -1,4 +1,4 @@' } }),
      reviewSubmittedPayload({ repo, installationId: 3, pullRequest: { number: 2, headRef: 'autocoder/issue-1' }, review: { body: '/autocoder fix all' } }),
    ];
    for (const payload of payloads) {
      const body = JSON.stringify(payload);
      expect(await webhooks.verify(body, signPayload(secret, body))).toBe(true);
      expect(await webhooks.verify(body, signPayload('other', body))).toBe(false);
      expect(payload).toMatchObject({
        installation: { id: 3 },
        repository: { name: REPO, full_name: 'acme/widgets', owner: { login: OWNER }, clone_url: CLONE_URL, default_branch: 'trunk' },
      });
      expect(JSON.stringify(payload)).not.toContain('Codertocat/Hello-World');
    }
  });

  it('builds each event from the right example with the given overrides', () => {
    const labeled = issueLabeledPayload({ repo, installationId: 1, issue: { number: 4, title: 'T', body: 'B', labels: ['bug'] } });
    expect(labeled).toMatchObject({ action: 'labeled', label: { name: 'autocoder' }, issue: { number: 4, title: 'T', body: 'B' }, sender: { login: OWNER } });
    expect((labeled.issue as { labels: { name: string }[] }).labels.map((l) => l.name)).toEqual(['bug', 'autocoder']);

    const onIssue = issueCommentPayload({ repo, installationId: 1, issue: { number: 4 }, comment: { body: '/autocoder', user: { login: 'bob' } } });
    expect(onIssue).toMatchObject({ action: 'created', comment: { body: '/autocoder', user: { login: 'bob', type: 'User' } }, sender: { login: 'bob' } });
    expect((onIssue.issue as Record<string, unknown>).pull_request).toBeUndefined();
    const byBot = issueCommentPayload({ repo, installationId: 1, issue: { number: 4 }, isPullRequest: true, comment: { body: '/autocoder', user: { login: 'autocoder[bot]' } } });
    expect(byBot).toMatchObject({ comment: { user: { type: 'Bot' } }, issue: { pull_request: { url: expect.stringContaining('/pulls/4') } } });

    const rc = reviewCommentPayload({ repo, installationId: 1, pullRequest: { number: 9, headRef: 'autocoder/issue-4' }, comment: { body: 'x', path: 'a.ts', line: 12, diff_hunk: '@@' } });
    expect(rc).toMatchObject({ action: 'created', comment: { path: 'a.ts', line: 12, diff_hunk: '@@', body: 'x' }, pull_request: { number: 9, head: { ref: 'autocoder/issue-4' }, base: { ref: 'trunk' } } });

    const rs = reviewSubmittedPayload({ repo, installationId: 1, pullRequest: { number: 9, headRef: 'h' }, review: { body: '/autocoder go' } });
    expect(rs).toMatchObject({ action: 'submitted', review: { state: 'changes_requested', body: '/autocoder go' }, pull_request: { number: 9, head: { ref: 'h' } } });

    const custom = webhookPayload('issues', 'opened', { repo, installationId: 2 }, { issue: { number: 11 } });
    expect(custom).toMatchObject({ action: 'opened', installation: { id: 2 }, issue: { number: 11 } });
    expect(deepMerge({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, d: undefined })).toEqual({ a: { b: 1, c: [3] }, d: 1 });
  });

  describe('through a real Probot app', () => {
    let server: Server;
    afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('delivers a labeled issue to Probot, which reads the config and comments through the emulator', async () => {
      const probot = new Probot({ appId: APP_ID, privateKey: PKCS8, secret, baseUrl: gh.apiUrl, Octokit: TestOctokit, logLevel: 'fatal' });
      const seen: unknown[] = [];
      const middleware = await createNodeMiddleware(
        (app) => {
          app.on('issues.labeled', async (context) => {
            seen.push(await context.config('autocoder.yml'));
            await context.octokit.rest.reactions.createForIssue(context.issue({ content: 'eyes' as const }));
            await context.octokit.rest.issues.createComment(context.issue({ body: 'Queued.' }));
          });
        },
        { probot },
      );
      server = createServer((req, res) => {
        void middleware(req, res, () => res.writeHead(404).end());
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/github/webhooks`;

      const payload = issueLabeledPayload({ repo: { owner: OWNER, name: REPO, cloneUrl: CLONE_URL }, installationId: gh.installationId, issue: { number: 1 }, sender: { login: 'alice' } });
      const res = await sendWebhook({ url, secret, event: 'issues', payload });
      expect(res.status).toBe(200);
      expect(seen).toEqual([{ label: 'do-it', maxSteps: 7 }]);
      expect(gh.commentsOn(OWNER, REPO, 1)).toEqual([expect.objectContaining({ body: 'Queued.', user: expect.objectContaining({ login: 'autocoder[bot]', type: 'Bot' }) })]);
      expect(gh.state.reactions).toEqual([expect.objectContaining({ subjectType: 'issue', subjectId: 1, content: 'eyes' })]);
      expect(gh.unexpectedRequests()).toEqual([]);

      const forged = await sendWebhook({ url, secret: 'wrong', event: 'issues', payload });
      expect(forged.status).toBeGreaterThanOrEqual(400);
    });
  });
});
