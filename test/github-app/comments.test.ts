/** `/autocoder` in an issue comment: who may, what counts as the command, and help. */
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issueCommentPayload, type ActorInput } from '../helpers/webhooks.js';
import { common, config, createHarness, expectOnly, github, permission, queuesRun, R, READER, replies, WRITER, type Harness } from './harness.js';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h.close();
});

const comment = (body: string, sender: ActorInput = WRITER, id = 4242) =>
  issueCommentPayload({ ...common, sender, issue: { number: 7, title: 'add() subtracts', body: 'add(2, 3) returns -1.' }, comment: { body, id, user: sender } });

describe('an /autocoder comment on an issue', () => {
  it('by a maintainer (legacy permission write, role maintain): queued with the instructions, 👀 on the comment', async () => {
    const scope = github();
    permission(scope, 'mia', 'write', 'maintain');
    config(scope, null);
    queuesRun(scope, `${R}/issues/comments/4242/reactions`, 7);

    await h.receive('issue_comment', comment('/autocoder fix the null case'));
    await h.settle();

    expectOnly(h, scope);
    const [task] = h.tasks();
    expect(task.state).toBe('queued');
    expect(h.runOf(task)).toMatchObject({ mode: 'run', branch: 'autocoder/issue-7', instructions: 'fix the null case', progressNumber: 7 });
    expect(h.runOf(task).trigger.comment).toEqual({ id: 4242, kind: 'issue_comment' });
  });

  it('by a user with read access: one reply and nothing else (no reaction, no config read)', async () => {
    const scope = github();
    permission(scope, 'rick', 'read');
    const reply = replies(scope, 7);
    await h.receive('issue_comment', comment('/autocoder fix it', READER));
    await h.settle();
    expectOnly(h, scope);
    expect(reply.body()).toBe('@rick only people with write access to this repository can start or control autocoder runs.');
    expect(h.tasks().map((t) => t.state)).toEqual(['rejected']);
    expect(h.notifyQueue).not.toHaveBeenCalled();
  });

  it('by a bot, autocoder[bot] included: not even stored', async () => {
    const bots: ActorInput[] = [{ login: 'renovate[bot]', type: 'Bot' }, { login: 'autocoder[bot]', type: 'Bot' }];
    for (const bot of bots) await h.receive('issue_comment', comment('/autocoder fix it', bot));
    await h.settle();
    expectOnly(h);
    expect(h.tasks()).toEqual([]);
  });

  it('inside a code fence, a quote, a code span or an HTML comment: nothing', async () => {
    const bodies = [
      'To use it:\n\n```\n/autocoder fix it\n```',
      '> /autocoder fix it\n\nI would not do that.',
      '`/autocoder fix it` is how you ask.',
      '<!-- /autocoder fix it -->\nthanks',
    ];
    for (const body of bodies) await h.receive('issue_comment', comment(body));
    await h.settle();
    expectOnly(h);
    expect(h.tasks()).toEqual([]);
  });

  it.each([['/autocoder help', ''], ['/autocoder stauts', '`stauts` is not an autocoder command.']])(
    '`%s`: the list of commands, and no run',
    async (body, lead) => {
      const scope = github();
      const reply = replies(scope, 7);
      await h.receive('issue_comment', comment(body));
      await h.settle();
      expectOnly(h, scope);
      expect(reply.body()).toContain('### autocoder commands');
      expect(reply.body()).toContain('`/autocoder status`');
      if (lead) expect(reply.body().startsWith(lead)).toBe(true);
      expect(h.tasks().map((t) => t.state)).toEqual(['done']);
      expect(h.notifyQueue).not.toHaveBeenCalled();
    },
  );

  it('a comment that is not for autocoder: not stored, no call', async () => {
    await h.receive('issue_comment', comment('Thanks, autocoder fixed it. /autocoder is great.'));
    await h.settle();
    expectOnly(h);
    expect(h.tasks()).toEqual([]);
    expect(nock.pendingMocks()).toEqual([]);
  });
});
