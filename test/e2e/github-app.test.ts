/**
 * The GitHub App end to end, as a maintainer meets it: the app started with `npm start` as its own
 * process, GitHub played by a REST emulation on 127.0.0.1 (reached through GHE_HOST), the
 * repository served over git smart HTTP accepting only installation tokens, and a scripted
 * OpenAI-compatible model. Webhooks are signed and sent like GitHub sends them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScriptStep } from '../helpers/scripted-llm-server.js';
import { issueCommentPayload, issueLabeledPayload, reviewCommentPayload } from '../helpers/webhooks.js';
import { MAINTAINER, OWNER, startGithubStage, turnOf, waitFor, type GithubStage, type Model, type StageRepo } from './github-stage.js';

const SECRET = 'webhook-secret-for-e2e-tests';
const LLM_KEY = 'sk-e2e-llm-key-0123456789abcdefgh';
const READER = { login: 'rick', id: 5002, type: 'User' as const };

let stage: GithubStage;

/** The fix for `add`, then a changelog entry for any revision. */
const fixingModel: Model = ({ prompt, turn }): ScriptStep => {
  if (prompt.startsWith('Revise pull request')) {
    return [
      { toolCalls: [{ name: 'write_file', arguments: { path: 'CHANGELOG.md', content: '- add() adds\n' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Added a changelog entry as asked.' } }] },
    ][Math.min(turn, 1)];
  }
  return [
    { toolCalls: [{ name: 'read_file', arguments: { path: 'src/math.js' } }] },
    { toolCalls: [{ name: 'edit_file', arguments: { path: 'src/math.js', old_string: 'a - b', new_string: 'a + b' } }] },
    { toolCalls: [{ name: 'finish', arguments: { summary: 'Fixed add(): it subtracted.' } }] },
  ][Math.min(turn, 2)];
};

/** A fresh repository with one issue by the maintainer, answered by `model`; a reader has read access. */
async function newRepo(model: Model = fixingModel, config?: string) {
  const repo = await stage.newRepo(model, { config });
  stage.emulator.setPermission(OWNER, repo.name, READER.login, 'read');
  return repo;
}

function deliver(event: string, payload: unknown, deliveryId?: string, secret = SECRET) {
  return stage.deliver(event, payload, { deliveryId, secret });
}

const pullsOf = (repo: StageRepo) => repo.pulls();
const progressOf = (repo: StageRepo, n: number) => repo.progress(n);
const repliesOf = (repo: StageRepo, n: number) => repo.replies(n);

beforeAll(async () => {
  stage = await startGithubStage({ appId: 4242, webhookSecret: SECRET, llmKey: LLM_KEY });
}, 120_000);

afterAll(async () => {
  await stage?.close();
});

describe('the GitHub App, end to end', () => {
  it('turns a labelled issue into one pull request with the fix, the test result and a run log', async () => {
    const repo = await newRepo();
    const started = Date.now();
    const response = await deliver('issues', issueLabeledPayload({ ...repo.common, sender: MAINTAINER, issue: { number: repo.issue, title: 'add() subtracts', body: 'add(2, 3) returns -1.', user: MAINTAINER } }));
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2_000);

    const [pr] = await waitFor(() => (pullsOf(repo).length ? pullsOf(repo) : undefined), 'a pull request', 60_000);
    expect(pr.head.ref).toBe(`autocoder/issue-${repo.issue}`);
    expect(pr.base.ref).toBe('main');
    expect(pr.draft).toBe(true);
    expect(pr.title).toBe('add() subtracts');
    expect(pr.body).toContain(`Fixes #${repo.issue}`);
    expect(pr.body).toContain('Fixed add(): it subtracted.');
    expect(pr.body).toContain('src/math.js');
    expect(pr.body).toMatch(/node test\.js.*passed/);
    expect(pr.body).toContain('scripted-model');
    expect(pr.body).toMatch(/<details>[\s\S]*read_file src\/math\.js[\s\S]*<\/details>/);
    expect(pr.body).toContain(`<!-- autocoder:pr issue=${repo.issue} -->`);

    // The branch holds the fix, committed by the app's bot with the requester as co-author.
    const file = await stage.git.git(repo.name, ['show', `autocoder/issue-${repo.issue}:src/math.js`]);
    expect(file).toContain('return a + b;');
    const message = await stage.git.git(repo.name, ['log', '-1', '--format=%an <%ae>%n%B', `autocoder/issue-${repo.issue}`]);
    expect(message).toMatch(/^autocoder\[bot\] <\d+\+autocoder\[bot\]@users\.noreply\.github\.com>/);
    expect(message).toContain(`Co-authored-by: mia <${MAINTAINER.id}+mia@users.noreply.github.com>`);

    // 👀 at once, and one progress comment that ends linking the pull request.
    expect(stage.emulator.state.reactions.some((r: { content: string }) => r.content === 'eyes')).toBe(true);
    await waitFor(() => progressOf(repo, repo.issue)[0]?.body.includes('Done'), 'the progress comment to say done');
    const progress = progressOf(repo, repo.issue);
    expect(progress).toHaveLength(1);
    expect(progress[0].body).toContain(`${stage.emulator.webUrl}/${OWNER}/${repo.name}/pull/${pr.number}`);

    // No secret anywhere GitHub can see.
    const published = JSON.stringify([stage.emulator.state.comments, stage.emulator.state.pulls]) + message;
    for (const secret of [LLM_KEY, SECRET, ...stage.emulator.state.tokens.map((t: { token: string }) => t.token)]) expect(published).not.toContain(secret);
    expect(published).not.toContain('BEGIN PRIVATE KEY');
    expect(stage.app.output()).not.toContain(LLM_KEY);
  }, 90_000);

  it('revises its pull request from a comment: a new commit on the same branch, the conversation remembered', async () => {
    const repo = await newRepo();
    await deliver('issues', issueLabeledPayload({ ...repo.common, sender: MAINTAINER, issue: { number: repo.issue, user: MAINTAINER } }));
    const [pr] = await waitFor(() => (pullsOf(repo).length ? pullsOf(repo) : undefined), 'a pull request', 60_000);
    const before = (await stage.git.git(repo.name, ['rev-parse', pr.head.ref])).trim();
    await waitFor(() => progressOf(repo, repo.issue)[0]?.body.includes('Done'), 'the first run to finish');
    const requestsBefore = stage.llm.requests.length;

    const comment = issueCommentPayload({
      ...repo.common,
      sender: MAINTAINER,
      isPullRequest: true,
      issue: { number: pr.number, title: pr.title, body: pr.body ?? '', user: { login: 'autocoder[bot]', type: 'Bot' } },
      comment: { body: '/autocoder please add a changelog entry', id: 910_001, user: MAINTAINER },
    });
    expect((await deliver('issue_comment', comment)).status).toBe(200);
    await waitFor(async () => {
      const head = (await stage.git.git(repo.name, ['rev-parse', pr.head.ref])).trim();
      return head !== before && head;
    }, 'a new commit on the branch', 60_000);
    await waitFor(() => progressOf(repo, pr.number)[0]?.body.includes('Done'), 'the revision to finish', 30_000);

    expect(pullsOf(repo)).toHaveLength(1);
    const log = await stage.git.git(repo.name, ['log', '--format=%s', pr.head.ref]);
    expect(log.split('\n').filter(Boolean)).toHaveLength(3);
    expect(await stage.git.git(repo.name, ['show', `${pr.head.ref}:CHANGELOG.md`])).toBe('- add() adds\n');
    expect(await stage.git.git(repo.name, ['show', `${pr.head.ref}:src/math.js`])).toContain('a + b');
    const updated = pullsOf(repo)[0];
    expect(updated.body).toContain('Added a changelog entry as asked.');
    // The body tells the whole story: the first run and the revision, every file the branch changes.
    expect(updated.body).toContain('Fixed add(): it subtracted.');
    expect(updated.body).toContain('**Revision 1:** Added a changelog entry as asked.');
    expect(updated.body).toContain('src/math.js');
    expect(updated.body).toContain('CHANGELOG.md');

    // The model got the feedback as the request, with the earlier conversation before it.
    const revision = stage.llm.requests.slice(requestsBefore)[0].body.messages as { role: string; content: string }[];
    expect(revision.at(-1)!.content).toContain('please add a changelog entry');
    expect(revision.some((m) => m.role === 'assistant' || (m.role === 'user' && m.content.startsWith('Resolve issue')))).toBe(true);
  }, 120_000);

  it('gives a line review comment its path, line and text', async () => {
    const repo = await newRepo();
    await deliver('issues', issueLabeledPayload({ ...repo.common, sender: MAINTAINER, issue: { number: repo.issue, user: MAINTAINER } }));
    const [pr] = await waitFor(() => (pullsOf(repo).length ? pullsOf(repo) : undefined), 'a pull request', 60_000);
    await waitFor(() => progressOf(repo, repo.issue)[0]?.body.includes('Done'), 'the first run to finish');
    const requestsBefore = stage.llm.requests.length;

    const payload = reviewCommentPayload({
      ...repo.common,
      sender: MAINTAINER,
      pullRequest: { number: pr.number, headRef: pr.head.ref, title: pr.title, body: pr.body, user: { login: 'autocoder[bot]', type: 'Bot' } },
      comment: { body: '/autocoder name the parameters x and y here', path: 'src/math.js', line: 2, diff_hunk: '@@ -1,3 +1,3 @@\n export function add(a, b) {\n-  return a - b;\n+  return a + b;', id: 820_001, user: MAINTAINER },
    });
    expect((await deliver('pull_request_review_comment', payload)).status).toBe(200);
    await waitFor(() => stage.llm.requests.length > requestsBefore && stage.llm.requests[requestsBefore], 'the revision to reach the model', 30_000);
    const prompt = turnOf(stage.llm.requests[requestsBefore]).prompt;
    expect(prompt).toContain('src/math.js:2');
    expect(prompt).toContain('name the parameters x and y here');
    expect(prompt).toContain('+  return a + b;');
    await waitFor(() => progressOf(repo, pr.number)[0]?.body.includes('Done'), 'the revision to finish', 30_000);
    expect(stage.emulator.state.reactions.some((r: { content: string; subject?: string }) => r.content === 'eyes')).toBe(true);
  }, 120_000);

  it('answers a user with read access once, and runs nothing', async () => {
    const repo = await newRepo();
    const requestsBefore = stage.llm.requests.length;
    await deliver('issue_comment', issueCommentPayload({ ...repo.common, sender: READER, issue: { number: repo.issue, user: MAINTAINER }, comment: { body: '/autocoder fix it', id: 930_001, user: READER } }));
    const replies = await waitFor(() => (repliesOf(repo, repo.issue).length ? repliesOf(repo, repo.issue) : undefined), 'a reply');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(repliesOf(repo, repo.issue)).toHaveLength(1);
    expect(replies[0].body).toMatch(/@rick only people with write access/);
    expect(progressOf(repo, repo.issue)).toHaveLength(0);
    expect(pullsOf(repo)).toHaveLength(0);
    expect(stage.llm.requests.length).toBe(requestsBefore);
  });

  it('rejects a bad signature and never runs the same delivery twice', async () => {
    const repo = await newRepo();
    const payload = issueLabeledPayload({ ...repo.common, sender: MAINTAINER, issue: { number: repo.issue, user: MAINTAINER } });
    const forged = await deliver('issues', payload, 'forged-1', 'not-the-secret');
    expect(forged.status).toBeGreaterThanOrEqual(400);
    expect(forged.status).toBeLessThan(500);

    const [first, second] = await Promise.all([deliver('issues', payload, 'same-delivery-1'), deliver('issues', payload, 'same-delivery-1')]);
    expect([first.status, second.status]).toEqual([200, 200]);
    await waitFor(() => pullsOf(repo).length > 0, 'a pull request', 60_000);
    await waitFor(() => progressOf(repo, repo.issue)[0]?.body.includes('Done'), 'the run to finish');
    await new Promise((r) => setTimeout(r, 500));
    expect(progressOf(repo, repo.issue)).toHaveLength(1);
    expect(pullsOf(repo)).toHaveLength(1);
  }, 90_000);

  it('answers an invalid .github/autocoder.yml with a comment naming the key, and runs nothing', async () => {
    const repo = await newRepo(fixingModel, 'maxSteps: ten\ntestcommand: npm test\n');
    const requestsBefore = stage.llm.requests.length;
    await deliver('issues', issueLabeledPayload({ ...repo.common, sender: MAINTAINER, issue: { number: repo.issue, user: MAINTAINER } }));
    const [reply] = await waitFor(() => (repliesOf(repo, repo.issue).length ? repliesOf(repo, repo.issue) : undefined), 'a reply');
    expect(reply.body).toContain('maxSteps');
    expect(reply.body).toContain('testCommand');
    expect(progressOf(repo, repo.issue)).toHaveLength(0);
    expect(stage.llm.requests.length).toBe(requestsBefore);
  });

  it('finishes a run cut by kill -9 after a restart, with exactly one pull request', async () => {
    let hung = false;
    const repo = await newRepo(async (turn) => {
      if (turn.turn === 1 && !hung) {
        hung = true;
        return { hang: true };
      }
      return fixingModel(turn);
    });
    await deliver('issues', issueLabeledPayload({ ...repo.common, sender: MAINTAINER, issue: { number: repo.issue, user: MAINTAINER } }));
    await waitFor(() => hung, 'the run to reach the model a second time', 60_000);
    await stage.app.stop('SIGKILL');
    expect(pullsOf(repo)).toHaveLength(0);

    await stage.restart();
    await waitFor(() => pullsOf(repo).length > 0, 'the pull request after the restart', 60_000);
    await waitFor(() => progressOf(repo, repo.issue)[0]?.body.includes('Done'), 'the progress comment to say done');
    expect(pullsOf(repo)).toHaveLength(1);
    expect(progressOf(repo, repo.issue)).toHaveLength(1);
    expect(await stage.git.git(repo.name, ['show', `autocoder/issue-${repo.issue}:src/math.js`])).toContain('a + b');
  }, 120_000);
});
