/** Best of N at intake: `--attempts` and `--models` of a comment, `attempts` of the configuration, into the queued run. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issueCommentPayload, issueLabeledPayload } from '../helpers/webhooks.js';
import { common, config, createHarness, expectOnly, github, permission, queuesRun, R, replies, WRITER, type Harness } from './harness.js';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h.close();
});

const issue = { number: 7, title: 'add() subtracts', body: 'add(2, 3) returns -1.' };
const comment = (body: string) => issueCommentPayload({ ...common, sender: WRITER, issue, comment: { body, id: 4242, user: WRITER } });

describe('attempts of a run', () => {
  it('`/autocoder --attempts 3 --models a,b fix it`: the run asks for 3 attempts over those models', async () => {
    const scope = github();
    permission(scope, 'mia', 'write');
    config(scope, null);
    queuesRun(scope, `${R}/issues/comments/4242/reactions`, 7);

    await h.receive('issue_comment', comment('/autocoder --attempts 3 --models model-a,model-b fix it'));
    await h.settle();

    expectOnly(h, scope);
    const [task] = h.tasks();
    expect(task.state).toBe('queued');
    expect(h.runOf(task)).toMatchObject({ mode: 'run', branch: 'autocoder/issue-7', instructions: 'fix it', attempts: 3, models: ['model-a', 'model-b'] });
    expect(task.model).toBe('model-a, model-b');
  });

  it('`attempts` in the configuration applies to a label; the option of a comment wins over it', async () => {
    const scope = github();
    const yml = 'attempts: 2\nkeepAttemptsDays: 3\n';
    config(scope, yml);
    permission(scope, 'mia', 'write');
    queuesRun(scope, `${R}/issues/7/reactions`, 7, 9001);
    await h.receive('issues', issueLabeledPayload({ ...common, sender: WRITER, issue }));
    await h.settle();

    permission(scope, 'mia', 'write');
    config(scope, yml);
    queuesRun(scope, `${R}/issues/comments/4242/reactions`, 7, 9002);
    await h.receive('issue_comment', comment('/autocoder --attempts 4'));
    await h.settle();

    expectOnly(h, scope);
    const [label, option] = h.tasks();
    expect(h.runOf(label).attempts).toBe(2);
    expect(h.runOf(label).config).toMatchObject({ attempts: 2, keepAttemptsDays: 3 });
    expect(h.runOf(option).attempts).toBe(4);
  });

  it('one attempt (the default) leaves the run as it always was; a plan is never run several times', async () => {
    const scope = github();
    permission(scope, 'mia', 'write');
    config(scope, 'attempts: 3\n');
    queuesRun(scope, `${R}/issues/comments/4242/reactions`, 7);
    await h.receive('issue_comment', comment('/autocoder plan'));
    await h.settle();

    permission(scope, 'mia', 'write');
    config(scope, null);
    queuesRun(scope, `${R}/issues/comments/4242/reactions`, 7);
    await h.receive('issue_comment', comment('/autocoder fix it'));
    await h.settle();

    expectOnly(h, scope);
    const [plan, single] = h.tasks();
    expect(h.runOf(plan).mode).toBe('plan');
    expect(h.runOf(plan)).not.toHaveProperty('attempts');
    expect(h.runOf(single)).not.toHaveProperty('attempts');
    expect(h.runOf(single)).not.toHaveProperty('models');
    expect(h.runOf(single).config).toMatchObject({ attempts: 1, keepAttemptsDays: 7 });
  });

  it('`--attempts 9`: the reason and the help, no run', async () => {
    const scope = github();
    const reply = replies(scope, 7);
    await h.receive('issue_comment', comment('/autocoder --attempts 9 fix it'));
    await h.settle();
    expectOnly(h, scope);
    expect(reply.body()).toMatch(/^`--attempts`: expected a whole number from 1 to 5, got "9"/);
    expect(h.tasks().map((t) => t.state)).toEqual(['done']);
  });

  it('`keepAttemptsDays: -1` in the configuration: the error names the key, no run', async () => {
    const scope = github();
    permission(scope, 'mia', 'write');
    config(scope, 'keepAttemptsDays: -1\n');
    const reply = replies(scope, 7);
    await h.receive('issue_comment', comment('/autocoder --attempts 2'));
    await h.settle();
    expectOnly(h, scope);
    expect(reply.body()).toContain('`keepAttemptsDays`: expected a number of days from 0 to 365, got -1');
    expect(h.tasks().map((t) => t.state)).toEqual(['rejected']);
  });
});
