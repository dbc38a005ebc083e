/**
 * ensurePullRequest with nock: an open one updated, a closed one reopened, a merged one never, a
 * refused reopen a new one; with `draft: false`, a draft a stopped run left marked ready through GraphQL, and a refusal reported.
 */
import nock from 'nock';
import { ProbotOctokit } from 'probot';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Octokit } from '../../src/github/octokit.js';
import { ensurePullRequest } from '../../src/github/pull-request.js';

const API = 'https://api.github.com';
const R = '/repos/acme/widgets';
const TestOctokit = ProbotOctokit.defaults((options: Record<string, any>) => ({ ...options, retry: { enabled: false }, throttle: { ...options.throttle, enabled: false } }));
const octokit = () => new TestOctokit({ auth: { token: 'ghs_test' } }) as unknown as Octokit;
const input = { owner: 'acme', repo: 'widgets', head: 'autocoder/issue-7', base: 'main', title: 'Fix add', body: 'new body', draft: true };

const pull = (number: number, state: 'open' | 'closed', merged = false, draft = false) => ({
  number,
  node_id: `PR_kwDOnode${number}`,
  draft,
  state,
  merged_at: merged ? '2026-11-30T10:00:00Z' : null,
  body: 'old body',
  html_url: `https://github.com/acme/widgets/pull/${number}`,
  head: { ref: 'autocoder/issue-7' },
  base: { ref: 'main' },
});
const listed = (scope: nock.Scope, pulls: unknown[]) =>
  scope.get(`${R}/pulls`).query({ head: 'acme:autocoder/issue-7', state: 'all', sort: 'created', direction: 'desc', per_page: '10' }).reply(200, pulls);

beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

describe('ensurePullRequest', () => {
  it('updates the open one, and leaves a closed older one alone', async () => {
    const scope = nock(API);
    listed(scope, [pull(12, 'open'), pull(9, 'closed')]);
    scope.patch(`${R}/pulls/12`, { body: 'new body' }).reply(200, pull(12, 'open'));
    expect(await ensurePullRequest(octokit(), input)).toEqual({ number: 12, url: 'https://github.com/acme/widgets/pull/12', created: false });
    scope.done();
  });

  it('reopens the newest one closed without merging, with the new body', async () => {
    const scope = nock(API);
    listed(scope, [pull(12, 'closed'), pull(9, 'closed')]);
    scope.patch(`${R}/pulls/12`, { state: 'open', body: 'new body' }).reply(200, pull(12, 'open'));
    expect(await ensurePullRequest(octokit(), input)).toEqual({ number: 12, url: 'https://github.com/acme/widgets/pull/12', created: false, reopened: true });
    scope.done();
  });

  it('opens a new one when GitHub refuses to reopen (its branch was deleted and pushed anew)', async () => {
    const scope = nock(API);
    listed(scope, [pull(12, 'closed')]);
    scope.patch(`${R}/pulls/12`).reply(422, { message: 'Validation Failed', errors: [{ message: 'state cannot be changed. The autocoder/issue-7 branch has been deleted.' }] });
    scope.post(`${R}/pulls`, (body) => body.head === 'autocoder/issue-7' && body.draft === true).reply(201, { number: 13, html_url: 'https://github.com/acme/widgets/pull/13' });
    expect(await ensurePullRequest(octokit(), input)).toEqual({ number: 13, url: 'https://github.com/acme/widgets/pull/13', created: true });
    scope.done();
  });

  it('never reopens a merged one: a new pull request', async () => {
    const scope = nock(API);
    listed(scope, [pull(12, 'closed', true)]);
    scope.post(`${R}/pulls`).reply(201, { number: 13, html_url: 'https://github.com/acme/widgets/pull/13' });
    expect(await ensurePullRequest(octokit(), input)).toMatchObject({ number: 13, created: true });
    scope.done();
  });
});

describe('ensurePullRequest with draft: false marks a draft that a stopped run left ready for review', () => {
  const ready = { ...input, draft: false };
  /** An open draft whose body autocoder wrote for a run that stopped early. */
  const stoppedDraft = (number: number, state: 'open' | 'closed' = 'open') => ({
    ...pull(number, state, false, true),
    body: '<!-- autocoder:pr issue=7 stopped=1 -->\n\n> [!WARNING]\n> **Incomplete:** The step budget ended the run.',
  });
  /** The GraphQL request, checked: the mutation, for this pull request's node id and nothing else. */
  const mutation = (scope: nock.Scope, id: string) =>
    scope.post('/graphql', (body: { query: string; variables: Record<string, unknown> }) =>
      /^\s*mutation\b[^{]*\{\s*markPullRequestReadyForReview\(input: \{ pullRequestId: \$id \}\)/.test(body.query) && JSON.stringify(body.variables) === JSON.stringify({ id }));

  it('sends the mutation with the open draft\'s node id after updating its body', async () => {
    const scope = nock(API);
    listed(scope, [stoppedDraft(12)]);
    scope.patch(`${R}/pulls/12`, { body: 'new body' }).reply(200, pull(12, 'open', false, true));
    mutation(scope, 'PR_kwDOnode12').reply(200, { data: { markPullRequestReadyForReview: { pullRequest: { isDraft: false } } } });
    expect(await ensurePullRequest(octokit(), ready)).toEqual({ number: 12, url: 'https://github.com/acme/widgets/pull/12', created: false, markedReady: true });
    scope.done();
  });

  it('marks a reopened draft ready too, by the node id the reopen answered', async () => {
    const scope = nock(API);
    listed(scope, [stoppedDraft(12, 'closed')]);
    scope.patch(`${R}/pulls/12`, { state: 'open', body: 'new body' }).reply(200, { ...pull(12, 'open', false, true), node_id: 'PR_reopened' });
    mutation(scope, 'PR_reopened').reply(200, { data: { markPullRequestReadyForReview: { pullRequest: { isDraft: false } } } });
    expect(await ensurePullRequest(octokit(), ready)).toMatchObject({ number: 12, reopened: true, markedReady: true });
    scope.done();
  });

  it('sends nothing to GraphQL when the configuration wants drafts, a person made the draft, or it is not one', async () => {
    // No /graphql interceptor: a request there would fail the call (net connect is disabled).
    const drafts = nock(API);
    listed(drafts, [stoppedDraft(12)]);
    drafts.patch(`${R}/pulls/12`).reply(200, pull(12, 'open', false, true));
    expect(await ensurePullRequest(octokit(), input)).toEqual({ number: 12, url: 'https://github.com/acme/widgets/pull/12', created: false });
    drafts.done();

    // A draft without the marker's `stopped=1` (its last run completed; someone converted it) stays one.
    const byPerson = nock(API);
    listed(byPerson, [{ ...pull(12, 'open', false, true), body: '<!-- autocoder:pr issue=7 -->\n\nDone.' }]);
    byPerson.patch(`${R}/pulls/12`, { body: 'new body' }).reply(200, pull(12, 'open', false, true));
    expect(await ensurePullRequest(octokit(), ready)).toEqual({ number: 12, url: 'https://github.com/acme/widgets/pull/12', created: false });
    byPerson.done();

    const notDraft = nock(API);
    listed(notDraft, [{ ...pull(12, 'open'), body: 'new body' }]);
    expect(await ensurePullRequest(octokit(), ready)).toEqual({ number: 12, url: 'https://github.com/acme/widgets/pull/12', created: false });
    notDraft.done();

    const created = nock(API);
    listed(created, []);
    created.post(`${R}/pulls`, (body) => body.draft === false).reply(201, { number: 13, html_url: 'https://github.com/acme/widgets/pull/13', node_id: 'PR_13', draft: false });
    expect(await ensurePullRequest(octokit(), ready)).toEqual({ number: 13, url: 'https://github.com/acme/widgets/pull/13', created: true });
    created.done();
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('reports a GraphQL error in GitHub\'s words instead of throwing, and an HTTP error the same way', async () => {
    const scope = nock(API);
    listed(scope, [stoppedDraft(12)]);
    scope.patch(`${R}/pulls/12`).reply(200, pull(12, 'open', false, true));
    mutation(scope, 'PR_kwDOnode12').reply(200, {
      data: { markPullRequestReadyForReview: null },
      errors: [{ type: 'FORBIDDEN', path: ['markPullRequestReadyForReview'], message: 'Resource not accessible by integration' }],
    });
    expect(await ensurePullRequest(octokit(), ready)).toEqual({
      number: 12, url: 'https://github.com/acme/widgets/pull/12', created: false, notReady: 'Resource not accessible by integration',
    });
    scope.done();

    const http = nock(API);
    listed(http, [stoppedDraft(12)]);
    http.patch(`${R}/pulls/12`).reply(200, pull(12, 'open', false, true));
    mutation(http, 'PR_kwDOnode12').reply(403, { message: 'Forbidden by an\nIP allow list', documentation_url: 'https://docs.github.com' });
    expect(await ensurePullRequest(octokit(), ready)).toMatchObject({ number: 12, notReady: 'Forbidden by an IP allow list' });
    http.done();
  });

  it('reports a pull request GitHub gave no node id for, and sends nothing', async () => {
    const scope = nock(API);
    listed(scope, [{ ...stoppedDraft(12), node_id: undefined }]);
    scope.patch(`${R}/pulls/12`).reply(200, pull(12, 'open', false, true));
    expect(await ensurePullRequest(octokit(), ready)).toMatchObject({ notReady: "GitHub did not give pull request #12's node id" });
    scope.done();
  });
});
