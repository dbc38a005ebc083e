/**
 * The commands and the branch's life end to end, as in github-app.test.ts: the app started with
 * `npm start`, GitHub played by the REST emulation, the repository served over smart HTTP
 * accepting only installation tokens, a scripted model. One app process for the whole file; each
 * test has its own repository, and the model is chosen by the repository its prompt names, so a
 * run of one test can never be answered by another test's script.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScriptStep } from '../helpers/scripted-llm-server.js';
import { BOT, OWNER, call, finish, script, startGithubStage, turnOf, waitFor, type GithubStage, type Model, type StageRepo } from './github-stage.js';

let stage: GithubStage;

const fixAdd = script(
  call('read_file', { path: 'src/math.js' }),
  call('edit_file', { path: 'src/math.js', old_string: 'a - b', new_string: 'a + b' }),
  finish('Fixed add(): it subtracted.'),
);
const addChangelog = script(call('write_file', { path: 'CHANGELOG.md', content: '- add() adds\n' }), finish('Added a changelog entry.'));

/** Fixes `add` for an issue; adds a changelog entry when asked (a revision, or a comment that says so). */
const fixingModel: Model = (turn) => (/changelog/i.test(turn.prompt) ? addChangelog(turn) : fixAdd(turn));

const newRepo = (model: Model, config?: string) => stage.newRepo(model, { config });
type Repo = StageRepo;

const waitForPr = (repo: Repo) => stage.waitForPr(repo);
const waitForProgress = (repo: Repo, what: RegExp, n?: number, index = 0) => stage.waitForProgress(repo, what, n, 60_000, index);

/** The tool results the model was sent for a run of `repo`. */
function toolResults(repo: Repo): string[] {
  return repo.requests().flatMap((r) => (r.body.messages as { role: string; content: string }[]).filter((m) => m.role === 'tool').map((m) => m.content));
}

async function healthz(): Promise<Record<string, number>> {
  return ((await (await fetch(`${stage.app.url}/healthz`)).json()) as { tasks: Record<string, number> }).tasks;
}

beforeAll(async () => {
  stage = await startGithubStage({ appId: 4343, webhookSecret: 'webhook-secret-for-command-tests', llmKey: 'sk-e2e-commands-key-0123456789abcdef' });
}, 120_000);

afterAll(async () => {
  await stage?.close();
});

describe('the branch: other people’s commits are kept', () => {
  it('a revision builds on a commit someone pushed to the branch, and nothing is force-pushed', async () => {
    const repo = await newRepo(fixingModel);
    await repo.label();
    const pr = await waitForPr(repo);
    await waitForProgress(repo, /Done/);
    const theirs = await stage.git.commitFiles(repo.name, { 'NOTES.md': 'by a person\n' }, { branch: repo.branch, message: 'notes by a person' });

    await repo.comment('/autocoder please add a changelog entry', { pr });
    await waitForProgress(repo, /Done/, pr.number);

    const head = await repo.tip();
    expect(head).not.toBe(theirs);
    expect(await repo.isAncestor(theirs, head)).toBe(true);
    expect(await repo.show('NOTES.md')).toBe('by a person\n');
    expect(await repo.show('CHANGELOG.md')).toBe('- add() adds\n');
    expect(await repo.show('src/math.js')).toContain('a + b');
    const heads = await repo.heads();
    expect(heads.length).toBeGreaterThanOrEqual(3);
    for (const earlier of heads) expect(await repo.isAncestor(earlier, head)).toBe(true);
    expect(repo.pulls()).toHaveLength(1);
  }, 120_000);

  it('a push rejected because the branch moved during the run: rebased and pushed, both commits kept, one PR', async () => {
    let theirs: string | undefined;
    const repo: Repo = await newRepo(async (turn) => {
      // Someone creates the branch while the agent works, so the run's first push is not a fast-forward.
      if (turn.turn === 1 && !theirs) theirs = await stage.git.commitFiles(repo.name, { 'docs/other.md': 'someone else\n' }, { branch: repo.branch, from: 'main', message: 'someone else' });
      return fixAdd(turn);
    });
    await repo.label();
    await waitForPr(repo);
    await waitForProgress(repo, /Done/);

    const head = await repo.tip();
    expect(theirs).toBeDefined();
    expect(await repo.isAncestor(theirs!, head)).toBe(true);
    expect(await repo.show('docs/other.md')).toBe('someone else\n');
    expect(await repo.show('src/math.js')).toContain('a + b');
    expect(await stage.git.git(repo.name, ['log', '--format=%s', head])).toMatch(/^add\(\) subtracts \(#\d+\)\nsomeone else\ninitial commit/);
    for (const earlier of await repo.heads()) expect(await repo.isAncestor(earlier, head)).toBe(true);
    // Two pushes began (each asks for the branch's refs first): the one git refused, and the one after the rebase.
    const pushes = stage.git.requests.filter((r) => r.user && r.url === `/${repo.name}.git/info/refs?service=git-receive-pack`);
    expect(pushes).toHaveLength(2);
    expect(repo.pulls()).toHaveLength(1);
  }, 90_000);
});

describe('workflow files', () => {
  it('are refused by default, by the tools and in what a command wrote; the rest of the change is pushed', async () => {
    const repo = await newRepo(
      script(
        call('write_file', { path: '.github/workflows/ci.yml', content: 'on: push\n' }),
        call('run_command', { command: 'mkdir -p .github/workflows && echo "on: push" > .github/workflows/deploy.yml' }),
        call('edit_file', { path: 'src/math.js', old_string: 'a - b', new_string: 'a + b' }),
        finish('Fixed add().'),
      ),
    );
    await repo.label();
    const pr = await waitForPr(repo);
    await waitForProgress(repo, /Done/);

    expect(toolResults(repo).some((r) => r.includes('is a workflow file'))).toBe(true);
    expect(await repo.show('.github/workflows/ci.yml')).toBeUndefined();
    expect(await repo.show('.github/workflows/deploy.yml')).toBeUndefined();
    expect(await repo.show('src/math.js')).toContain('a + b');
    expect(pr.body).toContain('.github/workflows/deploy.yml');
    expect(pr.body).toContain('were left out');
  }, 90_000);

  it('are allowed by a `.github/workflows/**` pattern in allowedPaths, which also limits everything else', async () => {
    const repo = await newRepo(
      script(
        call('write_file', { path: '.github/workflows/ci.yml', content: 'on: push\n' }),
        call('write_file', { path: 'README.md', content: '# widgets\n' }),
        call('edit_file', { path: 'src/math.js', old_string: 'a - b', new_string: 'a + b' }),
        finish('Fixed add() and added CI.'),
      ),
      'testCommand: node test.js\nallowedPaths:\n  - ".github/workflows/**"\n  - "src/**"\n',
    );
    await repo.label();
    await waitForPr(repo);
    await waitForProgress(repo, /Done/);

    expect(await repo.show('.github/workflows/ci.yml')).toBe('on: push\n');
    expect(await repo.show('src/math.js')).toContain('a + b');
    expect(await repo.show('README.md')).toBeUndefined();
    expect(toolResults(repo).some((r) => r.includes('`README.md` is not matched by `allowedPaths`'))).toBe(true);
  }, 90_000);
});

describe('commands', () => {
  it('`/autocoder plan`: a plan comment, nothing pushed, no pull request', async () => {
    const repo = await newRepo(script(call('read_file', { path: 'src/math.js' }), finish('1. In `src/math.js`, return `a + b`.\n2. Run `node test.js`.')));
    await repo.comment('/autocoder plan keep it short');
    const plan = await waitFor(() => repo.replies().find((c) => c.body.includes('<!-- autocoder:plan run=')), 'the plan comment', 60_000);
    expect(plan.body).toContain('- [ ] Approve this plan');
    expect(plan.body).toContain('In `src/math.js`, return `a + b`.');
    await waitForProgress(repo, /Done[\s\S]*The plan is in the comment below/);
    expect(stage.llm.requests.some((r) => turnOf(r).prompt.startsWith(`Read the code of ${OWNER}/${repo.name}`))).toBe(true);
    expect(await repo.show('src/math.js')).toBeUndefined();
    expect(repo.pulls()).toHaveLength(0);
  }, 60_000);

  it('`status` while a run goes, `cancel` ends it cancelled, `retry` runs it again to a pull request', async () => {
    let hung = false;
    const repo = await newRepo((turn) => {
      if (!hung) {
        hung = true;
        return { hang: true };
      }
      return fixAdd(turn);
    });
    await repo.label();
    await waitFor(() => hung, 'the run to reach the model', 60_000);

    await repo.comment('/autocoder status');
    const status = await waitFor(() => repo.replies()[0], 'the status reply');
    expect(status.body).toMatch(/^autocoder: run `run_\w+` is running/);

    await repo.comment('/autocoder cancel');
    const cancelled = await waitForProgress(repo, /Cancelled/);
    expect(cancelled.body).toContain('/autocoder retry');
    await waitFor(() => repo.replies()[1], 'the cancel reply');
    expect(repo.replies()[1].body).toMatch(/^Cancelling `run_\w+` as @mia asked\./);
    expect(repo.pulls()).toHaveLength(0);

    await repo.comment('/autocoder retry');
    const pr = await waitForPr(repo);
    await waitForProgress(repo, /Done/, undefined, 1);
    expect(repo.progress()).toHaveLength(2);
    expect(repo.progress()[0].body).toContain('Cancelled');
    expect(repo.progress()[1].body).toContain(`/pull/${pr.number}`);
    expect(await repo.show('src/math.js')).toContain('a + b');
  }, 120_000);

  it('two triggers for one issue at once: the second waits for the first, both progress comments end final', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let first = true;
    const repo = await newRepo(async (turn) => {
      if (first) {
        first = false;
        await held;
      }
      return fixingModel(turn);
    });
    let maxRunning = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        maxRunning = Math.max(maxRunning, (await healthz()).running ?? 0);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    await Promise.all([repo.label('both-label'), repo.comment('/autocoder also add a changelog entry', { deliveryId: 'both-comment' })]);
    const queued = () => repo.progress().filter((c) => c.body.includes('Queued'));
    await waitFor(() => !first && repo.progress().length === 2 && queued().length === 1, 'one run at the model, the other queued', 60_000);
    // The second would have started by now were it allowed to: concurrency is 2.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(queued()).toHaveLength(1);
    expect(repo.requests()).toHaveLength(1);
    expect((await healthz()).running).toBe(1);

    release();
    await waitForProgress(repo, /Done/, undefined, 0);
    await waitForProgress(repo, /Done/, undefined, 1);
    watching = false;
    await watcher;
    expect(maxRunning).toBe(1);
    expect(repo.pulls()).toHaveLength(1);
    expect(await repo.show('src/math.js')).toContain('a + b');
    expect(await repo.show('CHANGELOG.md')).toBe('- add() adds\n');
  }, 120_000);

  it('a `/autocoder` comment by autocoder[bot] itself: nothing at all', async () => {
    const repo = await newRepo(fixingModel);
    const before = { tasks: await healthz(), requests: stage.emulator.state.requests.length };
    expect((await repo.comment('/autocoder fix it', { sender: BOT })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await healthz()).toEqual(before.tasks);
    expect(stage.emulator.state.requests.length).toBe(before.requests);
    expect(stage.emulator.commentsOn(OWNER, repo.name, repo.issue)).toHaveLength(0);
  });
});

describe('a model that answers with an error', () => {
  it.each([
    ['400, at once', { status: 400 } as ScriptStep, /scripted error 400/],
    ['500, after its retries', { status: 500, headers: { 'retry-after-ms': '1' } } as ScriptStep, /gave up after 5 attempts: server error \(500\)/],
  ])('%s: the progress comment says the run failed, why, and the log; no pull request', async (_name, step, why) => {
    const repo = await newRepo(() => step);
    await repo.label();
    const failed = await waitForProgress(repo, /The run failed/);
    expect(failed.body).toMatch(why);
    expect(failed.body).toMatch(/<details><summary>Run log<\/summary>/);
    expect(failed.body).toContain('/autocoder retry');
    expect(repo.pulls()).toHaveLength(0);
    expect(await repo.show('src/math.js')).toBeUndefined();
  }, 60_000);
});
