/**
 * Plan → edit → approve, and a budget stop → `/autocoder continue`, end to end: the app started
 * with `npm start`, GitHub played by the REST emulation, the repository served over smart HTTP,
 * a scripted model that records every request. One app process for the file; each test has its
 * own repository, and the model is chosen by the repository its prompt names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScriptStep } from '../helpers/scripted-llm-server.js';
import { OWNER, call, finish, startGithubStage, turnOf, waitFor, type GithubStage, type Model, type StageRepo } from './github-stage.js';

let stage: GithubStage;

const step = (steps: ScriptStep[], turn: number) => steps[Math.min(turn, steps.length - 1)];

async function newRepo(model: Model, config: string) {
  const repo = await stage.newRepo(model, { config, onlyFiles: true, files: { 'src/math.js': 'export function add(a, b) {\n  return a - b;\n}\n', 'package.json': '{ "type": "module" }\n' } });
  return {
    ...repo,
    head: () => repo.tip(),
    progress: () => repo.progress(),
    planComment: () => repo.comments().find((c) => c.body.includes('<!-- autocoder:plan run=')),
    replies: () => repo.comments().filter((c) => !/autocoder:(progress|plan) /.test(c.body)),
  };
}
type Repo = Awaited<ReturnType<typeof newRepo>>;

const requestsOf = (repo: StageRepo) => repo.requests().map(turnOf);
/** Progress comment `index` once it matches; a timeout shows what it says instead. */
const waitForProgress = (repo: Repo, what: RegExp, index: number) =>
  waitFor(() => what.test(repo.progress()[index]?.body ?? '') && repo.progress()[index], `progress comment ${index} to match ${what}`, 60_000).catch((error) => {
    throw new Error(`${(error as Error).message}; the comments are:\n${repo.comments().map((c) => c.body).join('\n---\n')}`);
  });

beforeAll(async () => {
  stage = await startGithubStage({ appId: 4747, webhookSecret: 'webhook-secret-for-plan-tests', llmKey: 'sk-e2e-plans-key-0123456789abcdef' });
}, 120_000);

afterAll(async () => {
  await stage?.close();
});

const PLAN = '1. In `src/math.js`, return `a + b`.\n2. Check that `add(2, 3)` is 5.';
const EDIT = '3. Add a `CHANGELOG.md` with the line `- add() adds`.';

/** Plans; then does what the plan it is given says: the changelog only when the plan asks for it. */
const planningModel: Model = ({ prompt, turn }) => {
  if (prompt.startsWith('Read the code of')) return step([call('read_file', { path: 'src/math.js' }), finish(PLAN)], turn);
  const steps = [call('edit_file', { path: 'src/math.js', old_string: 'a - b', new_string: 'a + b' })];
  if (prompt.includes('CHANGELOG.md')) steps.push(call('write_file', { path: 'CHANGELOG.md', content: '- add() adds\n' }));
  return step([...steps, finish('Carried out the plan.')], turn);
};

describe('plan → edit → approve', () => {
  it('a writer edits the plan comment, `/autocoder approve` runs the edited plan, and a pull request opens', async () => {
    const repo = await newRepo(planningModel, 'maxSteps: 10\n');
    await repo.comment('/autocoder plan');
    const plan = await waitFor(() => repo.planComment(), 'the plan comment', 60_000);
    await waitForProgress(repo, /Done/, 0);
    expect(plan.body).toContain(PLAN);
    expect(plan.body).toContain('- [ ] Approve this plan');

    // An edit that ticks nothing starts nothing; the approval reads the comment as it is then.
    expect((await repo.edit(plan.id, (body) => body.replace(PLAN, `${PLAN}\n${EDIT}`))).status).toBe(200);
    await repo.comment('/autocoder approve');
    await waitForProgress(repo, /Done\*\* — pull request/, 1);

    const prompts = requestsOf(repo).filter((t) => t.prompt.includes('approved this plan')).map((t) => t.prompt);
    expect(prompts.length).toBeGreaterThan(0);
    expect(prompts[0]).toContain(`@mia (a maintainer) approved this plan; carry it out:\n${PLAN}\n${EDIT}`);
    expect(prompts[0]).not.toContain('Approve this plan');
    expect(prompts[0]).not.toContain('autocoder:plan');
    expect(repo.pulls()).toHaveLength(1);
    expect(await repo.show('CHANGELOG.md')).toBe('- add() adds\n');
    expect(await repo.show('src/math.js')).toContain('a + b');

    const approved = repo.planComment()!;
    expect(approved.body).toContain(EDIT);
    expect(approved.body).toContain('- [x] Approve this plan');
    expect(approved.body).toMatch(/Approved by @mia: run `run_\w+` carries it out\./);
    expect(repo.progress()).toHaveLength(2);
    expect(repo.replies().filter((c) => c.user.login === stage.emulator.botLogin)).toHaveLength(0);
  }, 120_000);

  it('ticking the box runs the plan too', async () => {
    const repo = await newRepo(planningModel, 'maxSteps: 10\n');
    await repo.comment('/autocoder plan');
    const plan = await waitFor(() => repo.planComment(), 'the plan comment', 60_000);
    await waitForProgress(repo, /Done/, 0);

    await repo.edit(plan.id, (body) => body.replace(PLAN, `${PLAN}\n${EDIT}`).replace('- [ ] Approve this plan', '- [x] Approve this plan'));
    await waitForProgress(repo, /Done\*\* — pull request/, 1);
    expect(repo.pulls()).toHaveLength(1);
    expect(await repo.show('CHANGELOG.md')).toBe('- add() adds\n');
    expect(repo.planComment()!.body).toMatch(/Approved by @mia: run `run_\w+` carries it out\./);
    // The 👀 goes on the comment that was ticked.
    expect(stage.emulator.state.reactions.some((r) => r.subjectType === 'issue_comment' && r.subjectId === plan.id && r.content === 'eyes')).toBe(true);
  }, 120_000);
});

describe('a plan run that its budget stops', () => {
  it('posts no plan to approve, and says so; `/autocoder approve` then gets a clear reply', async () => {
    const repo = await newRepo(() => call('read_file', { path: 'src/math.js' }), 'maxSteps: 1\n');
    await repo.comment('/autocoder plan');
    const stopped = await waitForProgress(repo, /Finished without changes/, 0);
    expect(stopped.body).toContain('No plan was written; comment `/autocoder plan` to try again.');
    expect(repo.planComment()).toBeUndefined();

    await repo.comment('/autocoder approve');
    const reply = await waitFor(() => repo.replies().find((c) => c.user.login === stage.emulator.botLogin), 'the reply', 30_000);
    expect(reply.body).toMatch(/^There is no plan here to approve\./);
    expect(repo.progress()).toHaveLength(1);
    expect(repo.pulls()).toHaveLength(0);
  }, 90_000);
});

/** Stops on its two steps; continued, it writes the changelog and finishes. */
const stoppedThenContinued: Model = ({ prompt, turn }) => {
  if (prompt.startsWith('Continue the work')) {
    return step([call('write_file', { path: 'CHANGELOG.md', content: '- add() adds\n' }), finish('Fixed add() and added a changelog entry.')], turn);
  }
  // Two steps are all it gets: it never reaches the changelog or finish.
  return step([call('edit_file', { path: 'src/math.js', old_string: 'a - b', new_string: 'a + b' }), call('read_file', { path: 'src/math.js' }), finish('never')], turn);
};
/** The GraphQL requests the app sent (GHE's path; the emulator keeps every request). */
const graphqlRequests = () => stage.emulator.state.requests.filter((r) => r.path === '/api/graphql');

describe('a budget stop, then `/autocoder continue`', () => {
  it('one pull request: draft and marked incomplete, then completed on the same branch with the conversation remembered, and (draft: false) ready for review', async () => {
    const repo = await newRepo(stoppedThenContinued, 'maxSteps: 2\ndraft: false\n');
    await repo.comment('/autocoder fix add()');
    await waitForProgress(repo, /Done\*\* — pull request/, 0);
    const [first] = repo.pulls();
    expect(first.draft).toBe(true);
    expect(first.body).toMatch(/\*\*Incomplete:\*\* [^\n]*all 2 of its steps/);
    // The hidden marker says why it is a draft, so that the completed run may take it out of draft.
    expect(first.body).toContain(`<!-- autocoder:pr issue=${repo.issue} stopped=1 -->`);
    const stoppedAt = await repo.head();
    expect(await repo.show('CHANGELOG.md')).toBeUndefined();
    const graphqlBefore = graphqlRequests().length;

    await repo.comment('/autocoder continue');
    const done = await waitForProgress(repo, /Done\*\* — pull request/, 1);

    expect(repo.pulls()).toHaveLength(1);
    const [pr] = repo.pulls();
    expect(pr.number).toBe(first.number);
    expect(pr.draft).toBe(false);
    expect(graphqlRequests().slice(graphqlBefore).map((r) => r.status)).toEqual([200]);
    expect(done.body).not.toContain('still a draft');
    expect(pr.body).not.toContain('Incomplete');
    expect(pr.body).not.toContain('Stopped after');
    expect(pr.body).toContain(`<!-- autocoder:pr issue=${repo.issue} -->`);
    expect(pr.body).toContain('Fixed add() and added a changelog entry.');
    const head = await repo.head();
    expect(head).not.toBe(stoppedAt);
    expect(await repo.isAncestor(stoppedAt, head)).toBe(true);
    expect(await repo.show('CHANGELOG.md')).toBe('- add() adds\n');
    expect(await repo.show('src/math.js')).toContain('a + b');

    // The continued run's first request carries the whole earlier conversation before its own prompt.
    const resumed = requestsOf(repo).find((t) => t.prompt.startsWith('Continue the work'))!;
    expect(resumed.prompt).toContain(`on issue #${repo.issue} in ${OWNER}/${repo.name} from where the earlier run stopped: it used all of its steps`);
    const earlier = resumed.messages.slice(0, resumed.messages.findIndex((m) => m.role === 'user' && m.content === resumed.prompt));
    expect(earlier.some((m) => m.role === 'user' && String(m.content).startsWith(`Resolve issue #${repo.issue}`))).toBe(true);
    expect(earlier.flatMap((m) => m.tool_calls ?? []).map((c) => c.function.name)).toEqual(['edit_file', 'read_file']);
  }, 120_000);

  it('GitHub refusing to mark the draft ready fails nothing: the progress comment says it is still a draft', async () => {
    const repo = await newRepo(stoppedThenContinued, 'maxSteps: 2\ndraft: false\n');
    await repo.comment('/autocoder fix add()');
    await waitForProgress(repo, /Done\*\* — pull request/, 0);
    expect(repo.pulls()[0].draft).toBe(true);

    stage.emulator.failNext('POST', /^\/api\/graphql$/, 403);
    await repo.comment('/autocoder continue');
    const done = await waitForProgress(repo, /Done\*\* — pull request/, 1);
    expect(done.body).toContain('The pull request is still a draft: GitHub did not mark it ready for review (Forbidden).');
    const [pr] = repo.pulls();
    expect(repo.pulls()).toHaveLength(1);
    expect(pr.draft).toBe(true);
    expect(pr.body).not.toContain('Incomplete');
    expect(pr.body).toContain('Fixed add() and added a changelog entry.');
    expect(await repo.show('CHANGELOG.md')).toBe('- add() adds\n');
  }, 120_000);
});
