import nock from 'nock';
import { ProbotOctokit } from 'probot';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCommentOnce } from '../../src/github/create-comment-once.js';
import type { Octokit } from '../../src/github/octokit.js';

const API = 'https://api.github.com';
const PATH = '/repos/acme/widgets/issues/5/comments';
const comment = { owner: 'acme', repo: 'widgets', issue_number: 5, body: '<!-- autocoder:progress run=run_1 -->\nqueued' };
const marker = { kind: 'progress', attributes: { run: 'run_1' } };
const bot = { login: 'autocoder[bot]', type: 'Bot' };

// Retries stay on (the point is that the first create goes without them); throttling off (DESIGN.md).
const TestOctokit = ProbotOctokit.defaults((options: Record<string, any>) => ({ ...options, throttle: { ...options.throttle, enabled: false } }));
const octokit = () => new TestOctokit({ auth: { token: 'ghs_test' } }) as unknown as Octokit;

beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

describe('createCommentOnce', () => {
  it('finds the comment GitHub wrote before answering 502, and does not write it again', async () => {
    const scope = nock(API)
      .post(PATH)
      .reply(502, { message: 'Bad Gateway' })
      .get(PATH)
      .query((q) => typeof q.since === 'string')
      .reply(200, [
        { id: 1, body: '<!-- autocoder:progress run=run_0 -->\nanother run', user: bot },
        { id: 2, body: comment.body, user: bot },
      ]);
    const created = await createCommentOnce(octokit(), comment, marker);
    expect(created.id).toBe(2);
    expect(scope.isDone()).toBe(true);
  });

  it('writes it again when GitHub had not, and ignores a copy of the marker written by a person', async () => {
    const scope = nock(API)
      .post(PATH)
      .reply(502, { message: 'Bad Gateway' })
      .get(PATH)
      .query(true)
      .reply(200, [{ id: 3, body: comment.body, user: { login: 'mallory', type: 'User' } }])
      .post(PATH, (body) => body.body === comment.body)
      .reply(201, { id: 4, body: comment.body, user: bot });
    const created = await createCommentOnce(octokit(), comment, marker);
    expect(created.id).toBe(4);
    expect(scope.isDone()).toBe(true);
  });

  it('passes a refusal on as it is, without looking', async () => {
    const scope = nock(API).post(PATH).reply(403, { message: 'Resource not accessible by integration' });
    await expect(createCommentOnce(octokit(), comment, marker)).rejects.toMatchObject({ status: 403 });
    expect(scope.isDone()).toBe(true);
  });
});
