import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import nock from 'nock';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProbotOctokit } from 'probot';
import { GITHUB_WRITE_PACE, pacedOctokit } from '../../src/github/write-limits.js';

const API = 'https://api.github.com';
const R = '/repos/acme/widgets';
/** So long that a write which has to wait for a refill never goes out during the test. */
const NEVER = 600_000;

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

function client(Octokit: typeof ProbotOctokit, throttle: Record<string, unknown> = {}) {
  return new Octokit({ auth: 'ghs_write-limits-test', retry: { enabled: false }, throttle: { onRateLimit: () => false, onSecondaryRateLimit: () => false, ...throttle } });
}

describe('pacedOctokit', () => {
  it('lets the writes of one run through at once, and holds what goes past the burst', async () => {
    const Octokit = pacedOctokit(ProbotOctokit, { write: { burst: 4, everyMs: NEVER }, notifications: { burst: 2, everyMs: NEVER } });
    const octokit = client(Octokit);
    const scope = nock(API)
      .post(`${R}/issues/5/comments`).reply(201, { id: 31 })
      .post(`${R}/issues/5/reactions`).reply(201, { id: 1 })
      .patch(`${R}/issues/comments/31`).reply(200, { id: 31 })
      .post(`${R}/pulls`).reply(201, { number: 6 });
    // The progress comment, 👀, an edit, the pull request: Probot's own limiters space these
    // 1 s and 3 s apart; with refills this slow, only the burst can let them all through.
    await octokit.rest.issues.createComment({ owner: 'acme', repo: 'widgets', issue_number: 5, body: 'queued' });
    await octokit.rest.reactions.createForIssue({ owner: 'acme', repo: 'widgets', issue_number: 5, content: 'eyes' });
    await octokit.rest.issues.updateComment({ owner: 'acme', repo: 'widgets', comment_id: 31, body: 'working' });
    await octokit.rest.pulls.create({ owner: 'acme', repo: 'widgets', head: 'autocoder/issue-5', base: 'main', title: 't' });
    expect(scope.isDone()).toBe(true);

    // Both budgets are spent now: a fifth write, and a third notifying one, wait for a refill.
    let sent = 0;
    nock(API).post(`${R}/issues/5/reactions`).reply(201, () => (sent++, { id: 2 }));
    nock(API).post(`${R}/issues/5/comments`).reply(201, () => (sent++, { id: 32 }));
    void octokit.rest.reactions.createForIssue({ owner: 'acme', repo: 'widgets', issue_number: 5, content: 'eyes' }).catch(() => undefined);
    void octokit.rest.issues.createComment({ owner: 'acme', repo: 'widgets', issue_number: 5, body: 'again' }).catch(() => undefined);
    await sleep(300);
    expect(sent).toBe(0);
  });

  it('shares one budget among all the clients of the class, as the plugin does', async () => {
    const Octokit = pacedOctokit(ProbotOctokit, { write: { burst: 2, everyMs: NEVER }, notifications: { burst: 5, everyMs: NEVER } });
    nock(API).post(`${R}/issues/5/reactions`).times(2).reply(201, { id: 1 });
    await client(Octokit).rest.reactions.createForIssue({ owner: 'acme', repo: 'widgets', issue_number: 5, content: 'eyes' });
    await client(Octokit).rest.reactions.createForIssue({ owner: 'acme', repo: 'widgets', issue_number: 5, content: 'eyes' });
    let sent = 0;
    nock(API).post(`${R}/issues/5/reactions`).reply(201, () => (sent++, { id: 3 }));
    void client(Octokit).rest.reactions.createForIssue({ owner: 'acme', repo: 'widgets', issue_number: 5, content: 'eyes' }).catch(() => undefined);
    await sleep(300);
    expect(sent).toBe(0);
  });

  it('leaves reads alone and a client with throttling off unthrottled', async () => {
    const Octokit = pacedOctokit(ProbotOctokit, { write: { burst: 1, everyMs: NEVER }, notifications: { burst: 1, everyMs: NEVER } });
    const reads = nock(API).get(`${R}/issues/5`).times(5).reply(200, { number: 5 });
    const octokit = client(Octokit);
    for (let i = 0; i < 5; i++) await octokit.rest.issues.get({ owner: 'acme', repo: 'widgets', issue_number: 5 });
    expect(reads.isDone()).toBe(true);
    const writes = nock(API).post(`${R}/issues/5/comments`).times(4).reply(201, { id: 40 });
    const free = client(Octokit, { enabled: false });
    for (let i = 0; i < 4; i++) await free.rest.issues.createComment({ owner: 'acme', repo: 'widgets', issue_number: 5, body: `${i}` });
    expect(writes.isDone()).toBe(true);
  });

  it('keeps the sustained pace of Probot’s limiters, and GitHub’s 80 content-generating requests a minute', () => {
    expect(GITHUB_WRITE_PACE.write.everyMs).toBeGreaterThanOrEqual(1_000);
    expect(GITHUB_WRITE_PACE.notifications.everyMs).toBeGreaterThanOrEqual(3_000);
    const perMinute = GITHUB_WRITE_PACE.notifications.burst + 60_000 / GITHUB_WRITE_PACE.notifications.everyMs;
    expect(perMinute).toBeLessThanOrEqual(80);
  });
});
