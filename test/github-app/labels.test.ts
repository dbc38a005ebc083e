/**
 * `issues.labeled` from GitHub's own example payload through the real handlers and intake: what
 * is called on GitHub, what is stored, what is queued.
 */
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issueLabeledPayload } from '../helpers/webhooks.js';
import {
  API,
  common,
  config,
  CONFIG_PATH,
  createHarness,
  expectOnly,
  github,
  INSTALLATION_ID,
  permission,
  queuesRun,
  R,
  READER,
  replies,
  until,
  WRITER,
  type Harness,
} from './harness.js';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h.close();
});

const labeled = (label = 'autocoder', sender = WRITER) =>
  issueLabeledPayload({ ...common, sender, label, issue: { number: 7, title: 'add() subtracts', body: 'add(2, 3) returns -1.' } });

describe('a label on an issue', () => {
  it('by a writer: permission, config (404 = defaults), 👀 on the issue, one progress comment, a queued run', async () => {
    const scope = github();
    permission(scope, 'mia', 'write');
    config(scope, null);
    const queued = queuesRun(scope, `${R}/issues/7/reactions`, 7);

    await h.receive('issues', labeled());
    await h.settle();

    expectOnly(h, scope);
    expect(queued.progress()).toContain('<!-- autocoder:progress run=');
    expect(queued.progress()).toContain('Queued');
    const [task] = h.tasks();
    expect(task).toMatchObject({ state: 'queued', source: 'github', threadKey: 'acme/widgets#7', issueNumber: 7, model: 'test-model' });
    expect(task.data.progressCommentId).toBe(9007);
    expect(h.runOf(task)).toMatchObject({
      mode: 'run',
      issueNumber: 7,
      branch: 'autocoder/issue-7',
      instructions: '',
      progressNumber: 7,
      config: { label: 'autocoder', maxSteps: 40, draft: true, model: 'test-model' },
    });
    expect(h.notifyQueue).toHaveBeenCalledTimes(1);
  });

  it('answers GitHub before making any call: the intake runs after receive resolved', async () => {
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const scope = nock(API)
      .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
      .reply(async () => {
        order.push('token asked');
        await held;
        return [201, { token: 'ghs_heldtoken0123456789', expires_at: new Date(Date.now() + 3_600_000).toISOString() }];
      });
    permission(scope, 'mia', 'write');
    config(scope, null);
    queuesRun(scope, `${R}/issues/7/reactions`, 7);

    await h.receive('issues', labeled());
    order.push('receive resolved');
    // Stored before the answer, so a crash after it loses nothing; taken further only later.
    expect(h.tasks().map((t) => t.state)).toEqual(['received']);
    await until(() => order.includes('token asked'), 'the intake to start');
    expect(order).toEqual(['receive resolved', 'token asked']);

    release();
    await h.settle();
    expectOnly(h, scope);
    expect(h.tasks()[0].state).toBe('queued');
  });

  it('another label: the configuration is looked up, nothing is stored or answered', async () => {
    const scope = github();
    config(scope, null);
    await h.receive('issues', labeled('bug'));
    await until(() => scope.isDone(), 'the label look-up');
    await h.settle();
    expectOnly(h, scope);
    expect(h.tasks()).toEqual([]);
  });

  it('the configured label of a repository that renamed it, after its old name was seen', async () => {
    // The first run tells the intake this repository's label is `autocoder`.
    const first = github();
    permission(first, 'mia', 'write');
    config(first, null);
    queuesRun(first, `${R}/issues/7/reactions`, 7);
    await h.receive('issues', labeled());
    await h.settle();
    expectOnly(h, first);

    // Then the repository renames it: the new label must start a run, not be ignored as "known".
    const second = nock(API);
    config(second, 'label: fix-me\n');
    permission(second, 'mia', 'write');
    config(second, 'label: fix-me\n');
    second.post(`${R}/issues/8/reactions`, { content: 'eyes' }).reply(201, { id: 2 });
    second.post(`${R}/issues/8/comments`).reply(201, { id: 9008 });
    const payload = issueLabeledPayload({ ...common, sender: WRITER, label: 'fix-me', issue: { number: 8, title: 'another' } });
    await h.receive('issues', payload);
    await until(() => second.isDone(), 'the run for the renamed label');
    await h.settle();
    expectOnly(h, second);
    expect(h.tasks().map((t) => [t.issueNumber, t.state])).toEqual([[7, 'queued'], [8, 'queued']]);
  });

  it('`autocoder` where the configured label is another: no answer, even to someone without write access', async () => {
    const scope = github();
    config(scope, 'label: fix-me\n');
    await h.receive('issues', labeled('autocoder', READER));
    await h.settle();
    expectOnly(h, scope);
    expect(h.tasks().map((t) => t.state)).toEqual(['done']);
  });

  it('by someone without write access: one reply, no reaction, no run', async () => {
    const scope = github();
    config(scope, null);
    permission(scope, 'rick', 'read');
    const reply = replies(scope, 7);
    await h.receive('issues', labeled('autocoder', READER));
    await h.settle();
    expectOnly(h, scope);
    expect(reply.body()).toMatch(/@rick only people with write access/);
    expect(h.tasks().map((t) => t.state)).toEqual(['rejected']);
    expect(h.notifyQueue).not.toHaveBeenCalled();
  });

  it('an invalid .github/autocoder.yml: one comment that names the key, the task rejected, no run', async () => {
    const scope = github();
    config(scope, 'maxSteps: ten\n');
    permission(scope, 'mia', 'write');
    const reply = replies(scope, 7);
    await h.receive('issues', labeled());
    await h.settle();
    expectOnly(h, scope);
    expect(reply.body()).toContain('<!-- autocoder:config-error -->');
    expect(reply.body()).toContain('`maxSteps`: expected a positive integer, got "ten"');
    const [task] = h.tasks();
    expect(task.state).toBe('rejected');
    expect(task.data.run).toBeUndefined();
    expect(h.notifyQueue).not.toHaveBeenCalled();
  });

  it('a server error while reading the configuration is tried again, not reported as an invalid file', async () => {
    const scope = github();
    scope.get(CONFIG_PATH).reply(502, { message: 'Server Error' });
    config(scope, null);
    permission(scope, 'mia', 'write');
    queuesRun(scope, `${R}/issues/7/reactions`, 7);
    await h.receive('issues', labeled());
    await h.settle();
    expectOnly(h, scope);
    expect(h.tasks()[0].state).toBe('queued');
  });

  it('the same delivery twice: one task, one intake', async () => {
    const scope = github();
    permission(scope, 'mia', 'write');
    config(scope, null);
    queuesRun(scope, `${R}/issues/7/reactions`, 7);
    const payload = labeled();
    await Promise.all([h.receive('issues', payload, 'same-delivery'), h.receive('issues', payload, 'same-delivery')]);
    await h.receive('issues', payload, 'same-delivery');
    await h.settle();
    expectOnly(h, scope);
    expect(h.tasks()).toHaveLength(1);
    expect(h.notifyQueue).toHaveBeenCalledTimes(1);
  });
});

describe('shutting down', () => {
  it('the intake stopped takes nothing further: the trigger stays received, and the next start takes it in', async () => {
    await h.intake.stop();
    await h.receive('issues', labeled());
    await h.settle();
    // Nothing was asked of GitHub (nock would have reported an unmatched call), nothing queued.
    expect(h.unmatched).toEqual([]);
    expect(h.tasks().map((t) => t.state)).toEqual(['received']);
    expect(h.notifyQueue).not.toHaveBeenCalled();

    // The next process: the same store, a new intake that recovers what was left.
    const scope = github();
    permission(scope, 'mia', 'write');
    config(scope, null);
    queuesRun(scope, `${R}/issues/7/reactions`, 7);
    const next = h.restartIntake();
    next.recover();
    await next.idle();
    expectOnly(h, scope);
    expect(h.tasks().map((t) => t.state)).toEqual(['queued']);
  });
});
