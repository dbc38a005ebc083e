/** ensurePullRequest with nock: an open one updated, a closed one reopened, a merged one never, a refused reopen a new one. */
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

const pull = (number: number, state: 'open' | 'closed', merged = false) => ({
  number,
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
