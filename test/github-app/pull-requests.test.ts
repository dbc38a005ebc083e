/** `/autocoder` on pull requests: revisions of autocoder's own, with review comments carried. */
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issueCommentPayload, reviewCommentPayload, reviewSubmittedPayload } from '../helpers/webhooks.js';
import { common, config, createHarness, expectOnly, github, OWNER, permission, queuesRun, R, REPO, replies, WRITER, type Harness } from './harness.js';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h.close();
});

const BOT = { login: 'autocoder[bot]', type: 'Bot' as const };
const PR_BODY = '<!-- autocoder:pr issue=7 -->\nFixed add().\n\nFixes #7';
const ours = { number: 12, headRef: 'autocoder/issue-7', title: 'add() subtracts', body: PR_BODY, user: BOT };

/** `GET /pulls/12` as GitHub answers it, trimmed to what is read. */
function pull(headRef: string, user = 'autocoder[bot]', fullName = `${OWNER}/${REPO}`) {
  return { number: 12, body: PR_BODY, user: { login: user }, head: { ref: headRef, repo: { full_name: fullName } }, base: { ref: 'main' } };
}

const prComment = (body: string, id = 6001) =>
  issueCommentPayload({ ...common, sender: WRITER, isPullRequest: true, issue: { number: 12, title: 'add() subtracts', body: PR_BODY, user: BOT }, comment: { body, id, user: WRITER } });

describe('/autocoder on a pull request', () => {
  it('autocoder opened: a revision on its head branch, in the thread of the issue it resolves', async () => {
    const scope = github();
    permission(scope, 'mia', 'write');
    config(scope, null);
    scope.get(`${R}/pulls/12`).reply(200, pull('autocoder/issue-7'));
    queuesRun(scope, `${R}/issues/comments/6001/reactions`, 12);

    await h.receive('issue_comment', prComment('/autocoder also handle negative numbers'));
    await h.settle();

    expectOnly(h, scope);
    const [task] = h.tasks();
    expect(task).toMatchObject({ state: 'queued', threadKey: 'acme/widgets#7', issueNumber: 7 });
    expect(h.runOf(task)).toMatchObject({
      mode: 'revision',
      issueNumber: 7,
      pullNumber: 12,
      branch: 'autocoder/issue-7',
      progressNumber: 12,
      instructions: 'also handle negative numbers',
      reviewComments: [],
    });
  });

  it('one autocoder did not open: one reply, no run', async () => {
    const scope = github();
    permission(scope, 'mia', 'write');
    config(scope, null);
    scope.get(`${R}/pulls/12`).reply(200, pull('feature/faster', 'mia'));
    const reply = replies(scope, 12);
    await h.receive('issue_comment', prComment('/autocoder tidy this up'));
    await h.settle();
    expectOnly(h, scope);
    expect(reply.body()).toMatch(/^autocoder only revises pull requests it opened/);
    expect(h.tasks().map((t) => t.state)).toEqual(['rejected']);
  });

  it('from a fork, even on a branch named autocoder/…: one reply, no run', async () => {
    const scope = github();
    permission(scope, 'mia', 'write');
    config(scope, null);
    scope.get(`${R}/pulls/12`).reply(200, pull('autocoder/issue-7', 'mallory', 'mallory/widgets'));
    replies(scope, 12);
    await h.receive('issue_comment', prComment('/autocoder go'));
    await h.settle();
    expectOnly(h, scope);
    expect(h.tasks().map((t) => t.state)).toEqual(['rejected']);
  });

  it('a review comment: the revision carries its path, line and diff hunk; 👀 on the review comment', async () => {
    const scope = github();
    permission(scope, 'mia', 'write');
    config(scope, null);
    queuesRun(scope, `${R}/pulls/comments/7001/reactions`, 12);
    const hunk = '@@ -1,3 +1,3 @@\n export function add(a, b) {\n-  return a - b;\n+  return a + b;';
    const payload = reviewCommentPayload({
      ...common,
      sender: WRITER,
      pullRequest: ours,
      comment: { body: '/autocoder name these x and y', path: 'src/math.js', line: 2, diff_hunk: hunk, id: 7001, user: WRITER },
    });
    await h.receive('pull_request_review_comment', payload);
    await h.settle();
    expectOnly(h, scope);
    const run = h.runOf(h.tasks()[0]);
    expect(run).toMatchObject({ mode: 'revision', branch: 'autocoder/issue-7', pullNumber: 12, issueNumber: 7, instructions: 'name these x and y' });
    expect(run.reviewComments).toEqual([{ path: 'src/math.js', line: 2, diffHunk: hunk, body: '/autocoder name these x and y' }]);
  });

  it('a submitted review starting with /autocoder: its line comments are fetched and carried, an outdated one by its line', async () => {
    const scope = github();
    permission(scope, 'mia', 'write');
    config(scope, null);
    scope
      .get(`${R}/pulls/12/reviews/8001/comments`)
      .query({ per_page: 100 })
      .reply(200, [
        { id: 1, path: 'src/math.js', line: 2, original_line: 2, position: 3, original_position: 3, diff_hunk: '@@ -1 +1 @@', body: 'use x and y' },
        // Outdated: the line moved away, so `line` is null; `original_position` counts diff lines, not file lines.
        { id: 2, path: 'test.js', line: null, original_line: 9, position: null, original_position: 4, diff_hunk: '@@ -7,3 +7,3 @@', body: 'and test it' },
      ]);
    queuesRun(scope, `${R}/issues/12/reactions`, 12);
    const payload = reviewSubmittedPayload({ ...common, sender: WRITER, pullRequest: ours, review: { body: '/autocoder please address these', id: 8001, user: WRITER } });
    await h.receive('pull_request_review', payload);
    await h.settle();
    expectOnly(h, scope);
    const run = h.runOf(h.tasks()[0]);
    expect(run).toMatchObject({ mode: 'revision', instructions: 'please address these', pullNumber: 12 });
    expect(run.reviewComments).toEqual([
      { path: 'src/math.js', line: 2, diffHunk: '@@ -1 +1 @@', body: 'use x and y' },
      { path: 'test.js', line: 9, diffHunk: '@@ -7,3 +7,3 @@', body: 'and test it' },
    ]);
  });

  it('a review without /autocoder, or by a bot: nothing', async () => {
    await h.receive('pull_request_review', reviewSubmittedPayload({ ...common, sender: WRITER, pullRequest: ours, review: { body: 'Looks good', state: 'approved', user: WRITER } }));
    await h.receive('pull_request_review', reviewSubmittedPayload({ ...common, sender: WRITER, pullRequest: ours, review: { body: null, user: WRITER } }));
    await h.receive('pull_request_review', reviewSubmittedPayload({ ...common, sender: BOT, pullRequest: ours, review: { body: '/autocoder go', user: BOT } }));
    await h.settle();
    expectOnly(h);
    expect(h.tasks()).toEqual([]);
    expect(nock.isDone()).toBe(true);
  });
});
