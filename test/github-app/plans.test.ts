/**
 * Plan → approve and `/autocoder continue`, through real deliveries: `/autocoder approve`, and a
 * writer ticking the box of the plan comment (`issue_comment.edited`, GitHub's payload with
 * `changes.body.from`). The runner is played by updating the store as it does.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import { markPlanApproved, renderPlanComment } from '../../src/github/render.js';
import type { TaskRecord } from '../../src/store/tasks.js';
import { issueCommentPayload, type ActorInput } from '../helpers/webhooks.js';
import { API, common, config, createHarness, expectOnly, github, permission, queuesRun, R, READER, replies, WRITER, type Harness } from './harness.js';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h.close();
});

const BOT: ActorInput = { login: 'autocoder[bot]', type: 'Bot', id: 9999 };
const PLAN_COMMENT = 4242;
const PLAN = '1. In `src/math.js`, return `a + b`.\n2. Run `node test.js`.';
const issue = { number: 7, title: 'add() subtracts' };

let commentIds = 5000;
const created = (body: string, sender: ActorInput = WRITER) =>
  issueCommentPayload({ ...common, sender, issue, comment: { body, id: ++commentIds, user: sender } });

/** The plan comment edited by `sender`: its body now `to`, before `from`. */
const edited = (from: string, to: string, sender: ActorInput = WRITER, opts: { id?: number; author?: ActorInput } = {}) =>
  issueCommentPayload({ ...common, sender, issue, action: 'edited', comment: { body: to, id: opts.id ?? PLAN_COMMENT, user: opts.author ?? BOT }, overrides: { changes: { body: { from } } } });

const tick = (body: string) => body.replace('- [ ] Approve this plan', '- [x] Approve this plan');

async function command(body: string, sender: ActorInput = WRITER): Promise<TaskRecord> {
  await h.receive('issue_comment', created(body, sender));
  await h.settle();
  return h.tasks().at(-1)!;
}

/** `/autocoder plan`, queued as the intake does and finished as the runner does: the plan comment posted. */
async function planned(): Promise<{ task: TaskRecord; body: string }> {
  const scope = github();
  permission(scope, 'mia', 'write');
  config(scope, null);
  queuesRun(scope, `${R}/issues/comments/${commentIds + 1}/reactions`, 7);
  const task = await command('/autocoder plan');
  expectOnly(h, scope);
  expect(h.runOf(task).mode).toBe('plan');
  const body = renderPlanComment({ plan: PLAN, runId: task.id, redact: (t) => t });
  expect(h.store.claimNext(['github'])?.id).toBe(task.id);
  h.store.update(task.id, { state: 'finished', endReason: 'completed', data: { planCommentId: PLAN_COMMENT } });
  return { task, body };
}

/** What approving costs on GitHub: the comment read, 👀, the progress comment, the plan comment marked approved. */
function approves(scope: nock.Scope, current: string, reactionPath: string) {
  let marked = '';
  scope.get(`${R}/issues/comments/${PLAN_COMMENT}`).reply(200, { id: PLAN_COMMENT, body: current, user: { login: BOT.login, type: 'Bot' } });
  const queued = queuesRun(scope, reactionPath, 7, 9100);
  scope.patch(`${R}/issues/comments/${PLAN_COMMENT}`).reply(200, (_uri: string, body: any) => ((marked = body.body), { id: PLAN_COMMENT }));
  return { marked: () => marked, progress: queued.progress };
}

describe('ticking the plan comment’s box', () => {
  it('by a writer: a run queued with the plan as the comment reads now, and the comment says who approved it', async () => {
    const { task: planTask, body } = await planned();
    // The writer edited the plan and then ticked: GitHub is asked for the body at approval time.
    const current = tick(body.replace('2. Run `node test.js`.', '2. Run `node test.js`.\n3. Add a CHANGELOG entry.'));
    const api = nock(API);
    permission(api, 'mia', 'write');
    config(api, 'instructions: keep it small\n');
    const approval = approves(api, current, `${R}/issues/comments/${PLAN_COMMENT}/reactions`);
    await h.receive('issue_comment', edited(body, tick(body)));
    await h.settle();
    expectOnly(h, api);

    const run = h.tasks().at(-1)!;
    expect(run).toMatchObject({ state: 'queued', threadKey: planTask.threadKey });
    expect(h.runOf(run)).toMatchObject({
      mode: 'run',
      branch: 'autocoder/issue-7',
      issueNumber: 7,
      plan: { text: `${PLAN}\n3. Add a CHANGELOG entry.`, commentId: PLAN_COMMENT, planRunId: planTask.id, approvedBy: 'mia' },
    });
    expect(h.runOf(run).trigger.event).toBe('issue_comment.edited');
    expect(h.runOf(run).config.instructions).toBe('keep it small');
    expect(approval.marked()).toContain('3. Add a CHANGELOG entry.');
    expect(approval.marked()).toContain(`Approved by @mia: run \`${run.id}\` carries it out.`);
    expect(h.store.get(planTask.id)!.data).toMatchObject({ approvedRunId: run.id, approvedBy: 'mia' });
    expect(h.notifyQueue).toHaveBeenCalledTimes(2);
  });

  it('by someone without write access: the one usual reply, no run', async () => {
    const { body } = await planned();
    const api = nock(API);
    permission(api, 'rick', 'read');
    const reply = replies(api, 7);
    await h.receive('issue_comment', edited(body, tick(body), READER));
    await h.settle();
    expectOnly(h, api);
    expect(reply.body()).toMatch(/^@rick only people with write access/);
    expect(h.tasks().at(-1)!.state).toBe('rejected');
    expect(h.notifyQueue).toHaveBeenCalledTimes(1);
  });

  it('edits that tick nothing, and comments that are not autocoder’s plan: nothing at all', async () => {
    const { task, body } = await planned();
    const count = h.tasks().length;
    // The box was ticked already; the plan text changes.
    await h.receive('issue_comment', edited(tick(body), tick(body).replace('a + b', 'a+b')));
    // The plan text changes, the box stays empty; the box is unticked.
    await h.receive('issue_comment', edited(body, body.replace('a + b', 'a+b')));
    await h.receive('issue_comment', edited(tick(body), body));
    // A person's own comment that copies the plan and its box, and ticks it.
    await h.receive('issue_comment', edited(body, tick(body), WRITER, { id: 777, author: WRITER }));
    // A bot comment with the marker, that is not the comment the run posted.
    await h.receive('issue_comment', edited(body, tick(body), WRITER, { id: 778, author: { login: 'other-app[bot]', type: 'Bot' } }));
    // A marker naming no run of ours.
    const forged = body.replace(task.id, 'run_forged');
    await h.receive('issue_comment', edited(forged, tick(forged)));
    // A plain comment edited into a command is not a new command.
    await h.receive('issue_comment', edited('thanks', '/autocoder fix it', WRITER, { id: 779, author: WRITER }));
    await h.settle();
    expectOnly(h);
    expect(h.tasks()).toHaveLength(count);
  });

  it('a redelivery of the tick: one run', async () => {
    const { body } = await planned();
    const api = nock(API);
    permission(api, 'mia', 'write');
    config(api, null);
    approves(api, tick(body), `${R}/issues/comments/${PLAN_COMMENT}/reactions`);
    await h.receive('issue_comment', edited(body, tick(body)), 'tick-delivery');
    await h.receive('issue_comment', edited(body, tick(body)), 'tick-delivery');
    await h.settle();
    expectOnly(h, api);
    expect(h.tasks().filter((t) => t.state === 'queued')).toHaveLength(1);
  });
});

describe('/autocoder approve', () => {
  it('runs the latest plan of the thread as it reads now, with the comment’s extra instructions', async () => {
    const { task: planTask, body } = await planned();
    const current = body.replace('return `a + b`', 'return `a + b` and keep the signature');
    const api = nock(API);
    permission(api, 'mia', 'write');
    config(api, null);
    const approval = approves(api, current, `${R}/issues/comments/${commentIds + 1}/reactions`);
    const run = await command('/autocoder approve but skip the docs');
    expectOnly(h, api);
    expect(run.state).toBe('queued');
    expect(h.runOf(run)).toMatchObject({
      mode: 'run',
      instructions: 'but skip the docs',
      plan: { text: PLAN.replace('return `a + b`', 'return `a + b` and keep the signature'), planRunId: planTask.id },
    });
    expect(approval.marked()).toContain('- [x] Approve this plan');
    expect(approval.marked()).toContain(`run \`${run.id}\` carries it out`);

    // autocoder's own edit ticked the box, and comes back as a webhook: nothing at all, no API call, no task.
    const count = h.tasks().length;
    await h.receive('issue_comment', edited(current, approval.marked(), BOT));
    await h.settle();
    expectOnly(h);
    expect(h.tasks()).toHaveLength(count);
  });

  it('while the approved plan’s run is active: says so, and starts nothing twice', async () => {
    const { body } = await planned();
    const first = nock(API);
    permission(first, 'mia', 'write');
    config(first, null);
    approves(first, body, `${R}/issues/comments/${commentIds + 1}/reactions`);
    const run = await command('/autocoder approve');
    expectOnly(h, first);

    const api = nock(API);
    permission(api, 'mia', 'write');
    config(api, null);
    const reply = replies(api, 7);
    const again = await command('/autocoder approve');
    expectOnly(h, api);
    expect(reply.body()).toBe(`This plan was approved already (by @mia); run \`${run.id}\` is queued, so it is not started twice.`);
    expect(again.state).toBe('done');
    expect(h.notifyQueue).toHaveBeenCalledTimes(2);
  });

  it('with no plan, with a plan still being written, with the plan comment deleted or emptied: a clear reply each', async () => {
    const scope = github();
    permission(scope, 'mia', 'write');
    config(scope, null);
    const none = replies(scope, 7);
    await command('/autocoder approve');
    expectOnly(h, scope);
    expect(none.body()).toBe('There is no plan here to approve. Comment `/autocoder plan` first: autocoder answers with a plan you can edit, then approve.');

    const writing = nock(API);
    permission(writing, 'mia', 'write');
    config(writing, null);
    queuesRun(writing, `${R}/issues/comments/${commentIds + 1}/reactions`, 7);
    const planTask = await command('/autocoder plan');
    const still = replies(writing, 7);
    permission(writing, 'mia', 'write');
    config(writing, null);
    await command('/autocoder approve');
    expectOnly(h, writing);
    expect(still.body()).toBe(`autocoder: run \`${planTask.id}\` is queued to write the plan; approve it once it is posted.`);

    h.store.update(planTask.id, { state: 'finished', endReason: 'completed', data: { planCommentId: PLAN_COMMENT } });
    const gone = nock(API);
    permission(gone, 'mia', 'write');
    config(gone, null);
    gone.get(`${R}/issues/comments/${PLAN_COMMENT}`).reply(404, { message: 'Not Found' });
    const deleted = replies(gone, 7);
    await command('/autocoder approve');
    expectOnly(h, gone);
    expect(deleted.body()).toMatch(/^The plan comment was deleted/);

    const empty = nock(API);
    permission(empty, 'mia', 'write');
    config(empty, null);
    empty.get(`${R}/issues/comments/${PLAN_COMMENT}`).reply(200, { id: PLAN_COMMENT, body: renderPlanComment({ plan: ' ', runId: planTask.id, redact: (t) => t }).replace('_The agent wrote no plan._', '') });
    const blank = replies(empty, 7);
    await command('/autocoder approve');
    expectOnly(h, empty);
    expect(blank.body()).toMatch(/^The plan comment has no plan left in it/);
    expect(h.notifyQueue).toHaveBeenCalledTimes(1);
  });

  it('approving again after the approved run finished: a new run, and the comment names it', async () => {
    const { body } = await planned();
    const first = nock(API);
    permission(first, 'mia', 'write');
    config(first, null);
    const one = approves(first, body, `${R}/issues/comments/${commentIds + 1}/reactions`);
    const run = await command('/autocoder approve');
    expectOnly(h, first);
    h.store.update(run.id, { state: 'finished', endReason: 'failed' });

    const api = nock(API);
    permission(api, 'mia', 'write');
    config(api, null);
    const two = approves(api, markPlanApproved(body, { by: 'mia', runId: run.id, redact: (t) => t }), `${R}/issues/comments/${commentIds + 1}/reactions`);
    const second = await command('/autocoder approve');
    expectOnly(h, api);
    expect(second.state).toBe('queued');
    expect(one.marked()).toContain(run.id);
    expect(two.marked()).toContain(second.id);
    expect(two.marked()).not.toContain(run.id);
  });
});

describe('/autocoder continue', () => {
  /** A run queued by a comment and ended by the runner with `endReason`. */
  async function ranTo(endReason: 'max_steps' | 'max_time' | 'completed' | 'failed', tokenCached = false): Promise<TaskRecord> {
    const scope = tokenCached ? nock(API) : github();
    permission(scope, 'mia', 'write');
    config(scope, null);
    queuesRun(scope, `${R}/issues/comments/${commentIds + 1}/reactions`, 7);
    const task = await command('/autocoder fix add()');
    expectOnly(h, scope);
    expect(h.store.claimNext(['github'])?.id).toBe(task.id);
    h.store.update(task.id, { state: 'finished', endReason, data: { pullRequestNumber: 12, pullRequestUrl: 'https://github.com/acme/widgets/pull/12' } });
    return task;
  }

  it('after a budget stop: the same run again on its branch, told where it stopped, with the new instructions', async () => {
    const stopped = await ranTo('max_steps');
    const api = nock(API);
    permission(api, 'mia', 'write');
    config(api, 'maxSteps: 10\n');
    queuesRun(api, `${R}/issues/comments/${commentIds + 1}/reactions`, 7, 9200);
    const next = await command('/autocoder continue and add a test');
    expectOnly(h, api);
    expect(next).toMatchObject({ state: 'queued', threadKey: stopped.threadKey });
    expect(h.runOf(next)).toMatchObject({
      mode: 'run',
      branch: 'autocoder/issue-7',
      issueNumber: 7,
      instructions: 'and add a test',
      continues: { runId: stopped.id, reason: 'max_steps' },
    });
    expect(h.runOf(next).config.maxSteps).toBe(10);
    expect(h.runOf(next).plan).toBeUndefined();
  });

  it('on a failed run too; not on one that completed, nor on one still going, nor with no run', async () => {
    const scope = github();
    permission(scope, 'mia', 'write');
    config(scope, null);
    const none = replies(scope, 7);
    await command('/autocoder continue');
    expectOnly(h, scope);
    expect(none.body()).toBe('There is no autocoder run here to continue. Comment `/autocoder` to start one.');

    const done = await ranTo('completed', true);
    const api = nock(API);
    permission(api, 'mia', 'write');
    config(api, null);
    const completed = replies(api, 7);
    await command('/autocoder continue');
    expectOnly(h, api);
    expect(completed.body()).toBe(
      `The last run \`${done.id}\` finished its work (https://github.com/acme/widgets/pull/12), so there is nothing to continue. To change it, comment \`/autocoder <what to change>\` on the pull request.`,
    );

    h.store.update(done.id, { endReason: 'failed' });
    const again = nock(API);
    permission(again, 'mia', 'write');
    config(again, null);
    queuesRun(again, `${R}/issues/comments/${commentIds + 1}/reactions`, 7, 9300);
    const next = await command('/autocoder continue');
    expectOnly(h, again);
    expect(h.runOf(next).continues).toEqual({ runId: done.id, reason: 'failed' });

    const busy = nock(API);
    permission(busy, 'mia', 'write');
    config(busy, null);
    const going = replies(busy, 7);
    await command('/autocoder continue');
    expectOnly(h, busy);
    expect(going.body()).toBe(`autocoder: run \`${next.id}\` is queued; there is nothing to continue until it stops.`);
  });

  it('on autocoder’s pull request: the issue’s last run goes on, progress reported on the pull request', async () => {
    const stopped = await ranTo('max_time');
    const api = nock(API);
    permission(api, 'mia', 'write');
    config(api, null);
    queuesRun(api, `${R}/issues/comments/${commentIds + 1}/reactions`, 12, 9400);
    await h.receive(
      'issue_comment',
      issueCommentPayload({
        ...common,
        sender: WRITER,
        isPullRequest: true,
        issue: { number: 12, title: 'add() subtracts', body: '<!-- autocoder:pr issue=7 -->\nFixes #7', user: BOT },
        comment: { body: '/autocoder continue', id: ++commentIds, user: WRITER },
      }),
    );
    await h.settle();
    expectOnly(h, api);
    const next = h.tasks().at(-1)!;
    expect(next).toMatchObject({ state: 'queued', threadKey: stopped.threadKey });
    expect(h.runOf(next)).toMatchObject({ mode: 'run', branch: 'autocoder/issue-7', progressNumber: 12, continues: { runId: stopped.id, reason: 'max_time' } });
  });

  it('by someone without write access: refused', async () => {
    await ranTo('max_steps');
    const api = nock(API);
    permission(api, 'rick', 'read');
    const reply = replies(api, 7);
    const task = await command('/autocoder continue', READER);
    expectOnly(h, api);
    expect(reply.body()).toMatch(/^@rick only people with write access/);
    expect(task.state).toBe('rejected');
  });
});
