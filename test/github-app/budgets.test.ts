/**
 * The intake's last word before a run is queued: the repository's daily budgets (runs, tokens,
 * counted from the task store) and the closed-PR rule (a label does not bring back a pull request
 * someone closed; `/autocoder retry` or `/autocoder <text>` from a writer does). Real label and
 * comment deliveries, GitHub as nock.
 */
import nock from 'nock';
import { afterEach, describe, expect, it } from 'vitest';
import { utcDay, type BudgetSettings } from '../../src/github/budgets.js';
import type { TaskRecord } from '../../src/store/tasks.js';
import { issueCommentPayload, issueLabeledPayload } from '../helpers/webhooks.js';
import { API, common, config, createHarness, expectOnly, github, permission, queuesRun, R, replies, WRITER, type Harness } from './harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const labeled = (number: number) => issueLabeledPayload({ ...common, sender: WRITER, issue: { number, title: `issue ${number}` } });
let commentIds = 6000;
const commented = (number: number, body: string) =>
  issueCommentPayload({ ...common, sender: WRITER, issue: { number, title: `issue ${number}` }, comment: { body, id: ++commentIds, user: WRITER } });

/** A label from a writer as far as the intake's calls go: config, permission; `scope` gets the rest. */
async function label(number: number, scope: nock.Scope, setup: (scope: nock.Scope) => void): Promise<TaskRecord> {
  permission(scope, 'mia', 'write');
  config(scope, null);
  setup(scope);
  await h.receive('issues', labeled(number));
  await h.settle();
  expectOnly(h, scope);
  return h.tasks().at(-1)!;
}

/** A run of issue `number` queued by a label, then finished as the runner finishes one. */
async function finishedRun(number: number, scope: nock.Scope, result: { totalTokens?: number; pullRequestNumber?: number } = {}): Promise<TaskRecord> {
  const task = await label(number, scope, (s) => queuesRun(s, `${R}/issues/${number}/reactions`, number, 9000 + number));
  expect(task.state).toBe('queued');
  h.store.claimNext(['github']);
  const tokens = result.totalTokens ?? 1_000;
  h.store.update(task.id, {
    state: 'finished',
    endReason: 'completed',
    finishedAt: new Date().toISOString(),
    result: { summary: 'done', changedFiles: [], usage: { promptTokens: tokens - 100, completionTokens: 100, totalTokens: tokens }, steps: 3, durationMs: 1000 },
    ...(result.pullRequestNumber ? { data: { pullRequestNumber: result.pullRequestNumber, pullRequestUrl: `https://github.com/acme/widgets/pull/${result.pullRequestNumber}` } } : {}),
  });
  return h.store.get(task.id)!;
}

const tomorrow = () => utcDay(new Date()).end.slice(0, 10);

describe('the daily budgets of a repository', () => {
  async function withBudgets(budgets: BudgetSettings) {
    h = await createHarness({ budgets });
  }

  it('runs: the run over the day’s count is answered once, with the budget, its figure and the reset, and not queued', async () => {
    await withBudgets({ dailyRuns: 2 });
    await finishedRun(7, github());
    await finishedRun(8, nock(API));
    const api = nock(API);
    let reply = () => '';
    const task = await label(9, api, (s) => (reply = replies(s, 9).body));
    expect(reply()).toBe(
      `⏸️ autocoder did not start: acme/widgets has reached its daily budget of 2 runs (2 started today). ` +
        `The budget resets at 00:00 UTC on ${tomorrow()}; add the label again or comment \`/autocoder\` after that.`,
    );
    expect(task).toMatchObject({ state: 'rejected', error: 'the daily runs budget of acme/widgets is spent' });
    expect(task.data.run).toBeUndefined();
    expect(h.notifyQueue).toHaveBeenCalledTimes(2);
  });

  it('tokens: counted from the runs’ results (and a running run’s live count); a day under it queues as usual', async () => {
    await withBudgets({ dailyTokens: 5_000 });
    await finishedRun(7, github(), { totalTokens: 3_500 });
    // Under the budget: queued. While it runs, it has reported 1,500 tokens so far.
    const second = await label(8, nock(API), (s) => queuesRun(s, `${R}/issues/8/reactions`, 8));
    expect(second.state).toBe('queued');
    h.store.claimNext(['github']);
    h.store.update(second.id, { data: { usage: { promptTokens: 1_400, completionTokens: 100, totalTokens: 1_500 } } });
    const api = nock(API);
    let reply = () => '';
    const third = await label(9, api, (s) => (reply = replies(s, 9).body));
    expect(third.state).toBe('rejected');
    expect(reply()).toContain('has reached its daily budget of 5,000 tokens (5,000 used today)');
    expect(reply()).toContain(`resets at 00:00 UTC on ${tomorrow()}`);
  });

  it('counts a repository’s own runs only, and a command is not a run', async () => {
    await withBudgets({ dailyRuns: 1 });
    const scope = github();
    // `/autocoder help` is answered without a run: it does not count.
    const help = replies(scope, 7).body;
    await h.receive('issue_comment', commented(7, '/autocoder help'));
    await h.settle();
    expect(help()).toContain('/autocoder');
    // Another repository's runs do not count either.
    h.store.insert({ id: 'run_elsewhere', source: 'github', state: 'finished', repo: 'acme/gadgets', request: {}, data: { run: {} } });
    const task = await label(7, scope, (s) => queuesRun(s, `${R}/issues/7/reactions`, 7));
    expect(task.state).toBe('queued');
  });
});

describe('a pull request closed without merging', () => {
  it('a label does not bring it back: one reply that says so and how to run again; no reaction, no run', async () => {
    h = await createHarness();
    await finishedRun(7, github(), { pullRequestNumber: 21 });
    const api = nock(API);
    let reply = () => '';
    const task = await label(7, api, (s) => {
      s.get(`${R}/pulls/21`).reply(200, { number: 21, state: 'closed', merged: false, merged_at: null, html_url: 'https://github.com/acme/widgets/pull/21', head: { ref: 'autocoder/issue-7' } });
      reply = replies(s, 7).body;
    });
    expect(reply()).toBe(
      "autocoder's pull request #21 for this issue was closed without merging, so the `autocoder` label does not open it again. " +
        'Someone with write access can comment `/autocoder retry` to run again (the pull request is then reopened), or `/autocoder <instructions>` to run with new instructions.',
    );
    expect(task).toMatchObject({ state: 'rejected', error: 'pull request #21 was closed without merging' });
    expect(h.notifyQueue).toHaveBeenCalledTimes(1);
  });

  it('`/autocoder retry` from a writer runs again on the pull request’s branch (the runner reopens it)', async () => {
    h = await createHarness();
    const first = await finishedRun(7, github(), { pullRequestNumber: 21 });
    const api = nock(API);
    permission(api, 'mia', 'write');
    config(api, null);
    api.get(`${R}/pulls/21`).reply(200, { number: 21, state: 'closed', merged: false, merged_at: null, html_url: 'https://github.com/acme/widgets/pull/21', head: { ref: 'autocoder/issue-7' } });
    queuesRun(api, `${R}/issues/comments/${commentIds + 1}/reactions`, 7, 9100);
    await h.receive('issue_comment', commented(7, '/autocoder retry'));
    await h.settle();
    expectOnly(h, api);
    const retry = h.tasks().at(-1)!;
    expect(retry.state).toBe('queued');
    expect(h.runOf(retry)).toMatchObject({ mode: 'run', branch: 'autocoder/issue-7', issueNumber: 7, instructions: h.runOf(first).instructions });
  });

  it('an explicit `/autocoder <instructions>` from a writer runs too', async () => {
    h = await createHarness();
    await finishedRun(7, github(), { pullRequestNumber: 21 });
    const api = nock(API);
    permission(api, 'mia', 'write');
    config(api, null);
    api.get(`${R}/pulls/21`).reply(200, { number: 21, state: 'closed', merged: false, merged_at: null, html_url: 'https://github.com/acme/widgets/pull/21', head: { ref: 'autocoder/issue-7' } });
    queuesRun(api, `${R}/issues/comments/${commentIds + 1}/reactions`, 7, 9100);
    await h.receive('issue_comment', commented(7, '/autocoder use a loop this time'));
    await h.settle();
    expectOnly(h, api);
    const task = h.tasks().at(-1)!;
    expect(task.state).toBe('queued');
    expect(h.runOf(task)).toMatchObject({ mode: 'run', branch: 'autocoder/issue-7', instructions: 'use a loop this time' });
  });

  it('after a merged pull request, a label starts a new run on a new branch from the default branch', async () => {
    h = await createHarness();
    await finishedRun(7, github(), { pullRequestNumber: 21 });
    const task = await label(7, nock(API), (s) => {
      s.get(`${R}/pulls/21`).reply(200, { number: 21, state: 'closed', merged: true, merged_at: '2026-11-30T10:00:00Z', html_url: 'https://github.com/acme/widgets/pull/21', head: { ref: 'autocoder/issue-7' } });
      queuesRun(s, `${R}/issues/7/reactions`, 7, 9200);
    });
    expect(task.state).toBe('queued');
    expect(h.runOf(task).branch).toBe('autocoder/issue-7-2');
  });

  it('an open pull request: the label runs on its branch, with no reply', async () => {
    h = await createHarness();
    await finishedRun(7, github(), { pullRequestNumber: 22 });
    const task = await label(7, nock(API), (s) => {
      s.get(`${R}/pulls/22`).reply(200, { number: 22, state: 'open', merged: false, merged_at: null, html_url: 'https://github.com/acme/widgets/pull/22', head: { ref: 'autocoder/issue-7-2' } });
      queuesRun(s, `${R}/issues/7/reactions`, 7, 9200);
    });
    expect(task.state).toBe('queued');
    expect(h.runOf(task).branch).toBe('autocoder/issue-7-2');
  });
});
