/** `/autocoder status`, `cancel` and `retry` on a thread whose run was queued by a real label delivery. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import type { TaskRecord } from '../../src/store/tasks.js';
import { issueCommentPayload, issueLabeledPayload, type ActorInput } from '../helpers/webhooks.js';
import { API, common, config, createHarness, expectOnly, github, permission, queuesRun, R, READER, replies, WRITER, type Harness } from './harness.js';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h.close();
});

let commentIds = 5000;
const comment = (body: string, sender: ActorInput = WRITER) =>
  issueCommentPayload({ ...common, sender, issue: { number: 7, title: 'add() subtracts' }, comment: { body, id: ++commentIds, user: sender } });

/** A run queued for issue 7 the way a maintainer queues one: the label. The token is cached after the first call. */
async function queuedRun(tokenCached = false): Promise<TaskRecord> {
  const scope = tokenCached ? nock(API) : github();
  permission(scope, 'mia', 'write');
  config(scope, 'instructions: keep it small\n');
  queuesRun(scope, `${R}/issues/7/reactions`, 7);
  await h.receive('issues', issueLabeledPayload({ ...common, sender: WRITER, issue: { number: 7, title: 'add() subtracts' } }));
  await h.settle();
  expectOnly(h, scope);
  return h.tasks().at(-1)!;
}

/** Claims the run as the queue does and records progress as the runner does. */
function startRunning(task: TaskRecord): void {
  expect(h.store.claimNext(['github'])?.id).toBe(task.id);
  h.store.update(task.id, { data: { progress: { phase: 'working', step: 3, currentAction: 'read_file src/math.js' } } });
}

async function command(body: string, sender: ActorInput = WRITER): Promise<TaskRecord> {
  await h.receive('issue_comment', comment(body, sender));
  await h.settle();
  return h.tasks().at(-1)!;
}

describe('/autocoder status', () => {
  it('names the running run, its step and action, to anyone who can comment', async () => {
    const run = await queuedRun();
    startRunning(run);
    const api = nock(API);
    const reply = replies(api, 7);
    const task = await command('/autocoder status', READER);
    expectOnly(h, api);
    expect(reply.body()).toBe(`autocoder: run \`${run.id}\` is running (step 3: read_file src/math.js).`);
    expect(task.state).toBe('done');
  });

  it('a queued run, and a thread without runs', async () => {
    const scope = github();
    const none = replies(scope, 7);
    await command('/autocoder status');
    expectOnly(h, scope);
    expect(none.body()).toBe('autocoder has not run here yet.');

    const run = await queuedRun(true);
    const api = nock(API);
    const queued = replies(api, 7);
    await command('/autocoder status');
    expectOnly(h, api);
    expect(queued.body()).toBe(`autocoder: run \`${run.id}\` is queued.`);
  });
});

describe('/autocoder cancel', () => {
  it('a queued run: finished as cancelled, its progress comment edited, one reply', async () => {
    const run = await queuedRun();
    const api = nock(API);
    permission(api, 'mia', 'write');
    let edited = '';
    api.patch(`${R}/issues/comments/9007`).reply(200, (_uri: string, body: any) => ((edited = body.body), { id: 9007 }));
    const reply = replies(api, 7);
    await command('/autocoder cancel');
    expectOnly(h, api);
    expect(edited).toContain('Cancelled');
    // Mentions in rendered text are put in code, so nobody is pinged by a progress comment.
    expect(edited).toContain('Cancelled by `@mia` before it started.');
    expect(reply.body()).toBe(`Cancelling \`${run.id}\` as @mia asked.`);
    expect(h.store.get(run.id)).toMatchObject({ state: 'finished', endReason: 'cancelled', cancelRequested: true });
    expect(h.abortTask).not.toHaveBeenCalled();
  });

  it('a running run: aborted through the queue, which leaves its comment to the runner', async () => {
    const run = await queuedRun();
    startRunning(run);
    h.abortTask.mockReturnValue(true);
    const api = nock(API);
    permission(api, 'mia', 'write');
    const reply = replies(api, 7);
    await command('/autocoder cancel');
    expectOnly(h, api);
    expect(h.abortTask).toHaveBeenCalledWith(run.id);
    expect(reply.body()).toBe(`Cancelling \`${run.id}\` as @mia asked.`);
    expect(h.store.get(run.id)).toMatchObject({ state: 'running', cancelRequested: true });
  });

  it('by someone without write access: refused, the run goes on', async () => {
    const run = await queuedRun();
    const api = nock(API);
    permission(api, 'rick', 'read');
    const reply = replies(api, 7);
    await command('/autocoder cancel', READER);
    expectOnly(h, api);
    expect(reply.body()).toMatch(/^@rick only people with write access/);
    expect(h.store.get(run.id)).toMatchObject({ state: 'queued', cancelRequested: false });
  });
});

describe('/autocoder retry', () => {
  it('queues the last run’s request again, with a new 👀 and progress comment', async () => {
    const run = await queuedRun();
    startRunning(run);
    h.store.update(run.id, { state: 'finished', endReason: 'failed', error: 'the model was unreachable' });
    const api = nock(API);
    permission(api, 'mia', 'write');
    config(api, 'instructions: keep it small\n');
    queuesRun(api, `${R}/issues/comments/${commentIds + 1}/reactions`, 7, 9100);
    const retry = await command('/autocoder retry');
    expectOnly(h, api);
    expect(retry.state).toBe('queued');
    expect(retry.data.progressCommentId).toBe(9100);
    const before = h.runOf(h.store.get(run.id)!);
    const again = h.runOf(retry);
    expect(again).toMatchObject({ mode: before.mode, branch: 'autocoder/issue-7', instructions: before.instructions, issueNumber: 7 });
    expect(again.trigger.commandText).toBe('/autocoder retry');
    expect(again.config.instructions).toBe('keep it small');
    expect(h.notifyQueue).toHaveBeenCalledTimes(2);
  });

  it('while the run is still active: says so and starts nothing', async () => {
    const run = await queuedRun();
    startRunning(run);
    const api = nock(API);
    permission(api, 'mia', 'write');
    config(api, null);
    const reply = replies(api, 7);
    const retry = await command('/autocoder retry');
    expectOnly(h, api);
    expect(reply.body()).toBe(`autocoder: run \`${run.id}\` is running (step 3: read_file src/math.js); it will not be started twice.`);
    expect(retry.state).toBe('done');
    expect(h.notifyQueue).toHaveBeenCalledTimes(1);
  });

  it('with nothing to retry: says so', async () => {
    const scope = github();
    permission(scope, 'mia', 'write');
    config(scope, null);
    const reply = replies(scope, 7);
    await command('/autocoder retry');
    expectOnly(h, scope);
    expect(reply.body()).toBe('There is no earlier autocoder run here to retry.');
  });
});
