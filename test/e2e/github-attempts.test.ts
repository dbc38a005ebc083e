/**
 * Best of N end to end, as in github-commands.test.ts: the app started with `npm start`, GitHub
 * played by the REST emulation, the repository served over smart HTTP, a scripted model. Each
 * attempt of a run can use its own model (`--models`), so the script answers by the model a
 * request names, and by the repository its prompt names, so tests never answer for each other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScriptStep } from '../helpers/scripted-llm-server.js';
import { OWNER, call, finish, startGithubStage, waitFor, type GithubStage, type StageRepo } from './github-stage.js';

const API_TOKEN = 'api-token-for-attempt-tests-0123456789';

let stage: GithubStage;

/** Turn `turn` of one conversation (the answers since the last user message). */
type Model = (turn: number) => ScriptStep | Promise<ScriptStep>;

/** Steps by turn; the last one repeats. */
const script = (...steps: ScriptStep[]): Model => (turn) => steps[Math.min(turn, steps.length - 1)];
const edit = (to: string) => call('edit_file', { path: 'src/math.js', old_string: 'a - b', new_string: to });

/** A repository whose runs are answered by the model each request names. */
async function newRepo(byModel: Record<string, Model>, config: string) {
  const repo = await stage.newRepo(
    ({ request, turn }) => {
      const model = byModel[request.body.model as string];
      if (!model) return { status: 400, body: { error: { message: `no model ${request.body.model} for this repository`, type: 'invalid_request_error' } } };
      return model(turn);
    },
    { config },
  );
  return {
    ...repo,
    attemptBranch: (k: number) => `autocoder/issue-${repo.issue}-attempt-${k}`,
    /** `/autocoder ...` on the issue, or on the pull request when one is given. */
    comment: (body: string, pr?: { number: number; title: string; body: string | null }) => repo.comment(body, { pr }),
    show: (branch: string, path: string) => repo.show(path, branch),
  };
}
type Repo = Awaited<ReturnType<typeof newRepo>>;

/** The run's task as the REST API (and the dashboard) shows it: the run id is in the progress comment's marker. */
async function taskOf(progressBody: string): Promise<Record<string, unknown>> {
  const id = /<!-- autocoder:progress run=([\w-]+) -->/.exec(progressBody)?.[1];
  expect(id).toBeDefined();
  const response = await fetch(`${stage.app.url}/api/tasks/${id}`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}
const waitForProgress = (repo: Pick<StageRepo, 'progress'>, what: RegExp, n?: number) => stage.waitForProgress(repo, what, n, 90_000);

beforeAll(async () => {
  stage = await startGithubStage({
    appId: 4545,
    webhookSecret: 'webhook-secret-for-attempt-tests',
    llmKey: 'sk-e2e-attempts-key-0123456789abcdef',
    env: { AUTOCODER_API_TOKEN: API_TOKEN },
    deleteBranches: true,
  });
}, 180_000);

afterAll(async () => {
  await stage?.close();
});

describe('best of N on GitHub', () => {
  it('three attempts, one whose tests pass: that one is published, the table is right, the others are kept as branches', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // Every attempt waits at its first request until the test has seen the progress comment.
    const waiting = (model: Model): Model => async (turn) => {
      if (turn === 0) await held;
      return model(turn);
    };
    const repo = await newRepo(
      {
        'wrong-model': waiting(script(edit('a * b'), finish('Multiplied instead.'))),
        'right-model': waiting(script(call('read_file', { path: 'src/math.js' }), edit('a + b'), finish('Fixed add(): it subtracted.'))),
        'big-model': waiting(script(call('write_file', { path: 'NOTES.md', content: 'why\nhow\n' }), edit('b - a'), finish('Swapped and wrote notes.'))),
      },
      'testCommand: node test.js\n',
    );
    await repo.comment('/autocoder --attempts 3 --models wrong-model,right-model,big-model');

    const working = await waitForProgress(repo, /Working\*\* on 3 attempts at once/);
    expect(working.body).toContain('/autocoder cancel');
    release();

    const done = await waitForProgress(repo, /Done/);
    expect(done.body).toContain('Best of 3: published attempt 2 (right-model), the only one whose tests passed.');
    const pulls = repo.pulls();
    expect(pulls).toHaveLength(1);
    const pr = pulls[0];
    expect(pr.head.ref).toBe(repo.branch);
    expect(done.body).toContain(`/pull/${pr.number}`);

    // The winner's commit is on the usual branch; the other two on their own, the winner's not twice.
    expect(await repo.show(repo.branch, 'src/math.js')).toContain('a + b');
    expect(await repo.show(repo.branch, 'NOTES.md')).toBeUndefined();
    expect(await repo.show(repo.attemptBranch(1), 'src/math.js')).toContain('a * b');
    expect(await repo.show(repo.attemptBranch(3), 'src/math.js')).toContain('b - a');
    expect(await repo.show(repo.attemptBranch(3), 'NOTES.md')).toBe('why\nhow\n');
    expect((await repo.branches()).sort()).toEqual(['main', repo.branch, repo.attemptBranch(1), repo.attemptBranch(3)].sort());

    const body = pr.body ?? '';
    expect(body).toContain('### Attempts (3)');
    expect(body).toContain('Published: **attempt 2** — the only one whose tests passed.');
    const row = (k: number) => body.split('\n').find((line) => new RegExp(`^\\| (\\*\\*)?${k}\\b`).test(line));
    expect(row(1)).toMatch(new RegExp(`^\\| 1 \\| \`wrong-model\` \\| failed \\(exit 1\\) \\| 1 \\| \\+1 / −1 \\| [\\d,]+ \\| [^|]+ \\| \`${repo.attemptBranch(1)}\` \\|$`));
    expect(row(2)).toMatch(/^\| \*\*2\*\* ✅ \| `right-model` \| passed \| 1 \| \+1 \/ −1 \| [\d,]+ \| [^|]+ \| this pull request \|$/);
    expect(row(3)).toMatch(new RegExp(`^\\| 3 \\| \`big-model\` \\| failed \\(exit 1\\) \\| 2 \\| \\+3 / −1 \\| [\\d,]+ \\| [^|]+ \\| \`${repo.attemptBranch(3)}\` \\|$`));
    expect(body).toContain('for 7 days');
    // The test section is the winner's.
    expect(body).toContain('`node test.js` passed');

    // Each attempt's events are told apart in the run log.
    expect(body).toContain('[attempt 1] ▸ edit_file src/math.js');
    expect(body).toContain('[attempt 2] ▸ read_file src/math.js');
    expect(body).toContain('[attempt 3] ▸ write_file NOTES.md');
    expect(body).toMatch(/\[attempt 1\] ⚙ test `node test.js` → exit 1/);
    expect(body).toMatch(/\[attempt 2\] ⚙ test `node test.js` → exit 0/);
    // Each model was asked only by its own attempt.
    const asked = repo.requests().map((r) => r.body.model as string);
    expect(new Set(asked)).toEqual(new Set(['wrong-model', 'right-model', 'big-model']));
    expect(asked.filter((m) => m === 'right-model')).toHaveLength(3);

    // The comparison is an event of the run: one line in the run log, and the task's attempts in the API.
    expect(body).toMatch(/⚖ attempt 2 kept of 3 · 1 \(wrong-model\) tests failed \(exit 1\), 1 file \+1\/−1 · 2 \(right-model\) tests passed, 1 file \+1\/−1 · 3 \(big-model\) tests failed \(exit 1\), 2 files \+3\/−1/);
    const task = await taskOf(done.body);
    expect(task.chosenAttempt).toBe(2);
    expect(task.attempts).toEqual([
      expect.objectContaining({ attempt: 1, model: 'wrong-model', testExitCode: 1, filesChanged: 1, linesAdded: 1, linesRemoved: 1 }),
      expect.objectContaining({ attempt: 2, model: 'right-model', testExitCode: 0, filesChanged: 1, linesAdded: 1, linesRemoved: 1 }),
      expect.objectContaining({ attempt: 3, model: 'big-model', testExitCode: 1, filesChanged: 2, linesAdded: 3, linesRemoved: 1 }),
    ]);
  }, 180_000);

  it('a revision with two attempts: the smaller change is added to the pull request, the other replaces an old attempt branch', async () => {
    const changelog = (content: string) => script(call('write_file', { path: 'CHANGELOG.md', content }), finish('Added a changelog entry.'));
    const repo = await newRepo(
      {
        'scripted-model': script(edit('a + b'), finish('Fixed add().')),
        'short-model': changelog('- add() adds\n'),
        'long-model': changelog('# Changes\n\n- add() adds\n- and more\n'),
      },
      'testCommand: node test.js\n',
    );
    await repo.label();
    await waitForProgress(repo, /Done/);
    const [pr] = repo.pulls();
    const first = (await stage.git.git(repo.name, ['rev-parse', `refs/heads/${repo.branch}`])).trim();
    // An attempt branch of an earlier run of this issue, on a history of its own.
    await stage.git.commitFiles(repo.name, { 'stale.txt': 'stale\n' }, { branch: repo.attemptBranch(2), message: 'an earlier attempt' });

    await repo.comment('/autocoder --attempts 2 --models short-model,long-model add a changelog entry', pr);
    const done = await waitForProgress(repo, /Done/, pr.number);
    expect(done.body).toContain('Best of 2: published attempt 1 (short-model), the smallest change (1 line) of the 2 whose tests passed.');
    expect(repo.pulls()).toHaveLength(1);

    // Added to the pull request's branch, on top of the first run's commit.
    const head = (await stage.git.git(repo.name, ['rev-parse', `refs/heads/${repo.branch}`])).trim();
    expect((await stage.git.git(repo.name, ['rev-parse', `${head}^`])).trim()).toBe(first);
    expect(await repo.show(repo.branch, 'CHANGELOG.md')).toBe('- add() adds\n');
    expect(await repo.show(repo.branch, 'src/math.js')).toContain('a + b');
    // The other attempt started from the pull request too, and replaced the stale branch.
    expect(await repo.show(repo.attemptBranch(2), 'CHANGELOG.md')).toBe('# Changes\n\n- add() adds\n- and more\n');
    expect(await repo.show(repo.attemptBranch(2), 'src/math.js')).toContain('a + b');
    expect(await repo.show(repo.attemptBranch(2), 'stale.txt')).toBeUndefined();
    expect(await repo.branches()).not.toContain(repo.attemptBranch(1));

    const body = repo.pulls()[0].body ?? '';
    expect(body).toContain('**Revision 1:** Added a changelog entry.');
    expect(body).toMatch(/\| \*\*1\*\* ✅ \| `short-model` \| passed \| 1 \| \+1 \/ −0 \|/);
    expect(body).toMatch(/\| 2 \| `long-model` \| passed \| 1 \| \+4 \/ −0 \|/);
    // The changed files are the pull request's, both runs together.
    expect(body).toContain('### Changed files (2)');
  }, 180_000);

  it('`/autocoder cancel` stops every attempt: cancelled, no pull request, no branch', async () => {
    let reached = 0;
    const hang: Model = () => {
      reached++;
      return { hang: true };
    };
    const repo = await newRepo({ 'hang-a': hang, 'hang-b': hang }, 'testCommand: node test.js\n');
    await repo.comment('/autocoder --attempts 2 --models hang-a,hang-b');
    await waitFor(() => reached === 2, 'both attempts to reach the model', 90_000);
    await repo.comment('/autocoder cancel');
    const cancelled = await waitForProgress(repo, /Cancelled/);
    expect(cancelled.body).toContain('/autocoder retry');
    expect(repo.pulls()).toHaveLength(0);
    expect(await repo.branches()).toEqual(['main']);
  }, 180_000);

  it('an attempt whose model fails does not stop the other; the table says why it has nothing', async () => {
    const repo = await newRepo(
      {
        'broken-model': () => ({ status: 400, body: { error: { message: 'this model is broken', type: 'invalid_request_error' } } }),
        'right-model': script(edit('a + b'), finish('Fixed add().')),
      },
      'testCommand: node test.js\n',
    );
    await repo.comment('/autocoder --attempts 2 --models broken-model,right-model');
    const done = await waitForProgress(repo, /Done/);
    expect(done.body).toContain('published attempt 2 (right-model), the only one whose tests passed');
    const body = repo.pulls()[0].body ?? '';
    expect(body).toMatch(/^\| 1 \| `broken-model` \| — \| 0 \| \+0 \/ −0 \| 0 \| [^|]+ \| — \|$/m);
    expect(body).toMatch(/^- Attempt 1: .*this model is broken/m);
    expect(body).toMatch(/\[attempt 1\] ✖ llm_bad_request: .*this model is broken/);
    expect(await repo.branches()).toEqual(['main', repo.branch].sort());
  }, 180_000);

  it('each attempt runs the setup command in its own tree first; when it fails there, that attempt ends before its model is asked', async () => {
    let asked = 0;
    const repo = await newRepo(
      { 'scripted-model': () => (asked++, finish('Should not run.')) },
      'setupCommand: exit 4\ntestCommand: node test.js\nattempts: 2\n',
    );
    await repo.label();
    const failed = await waitForProgress(repo, /The run failed/);
    expect(failed.body).toContain('All 2 attempts failed, so no pull request was opened.');
    expect(failed.body).toContain('- attempt 1 (scripted-model): the setup command `exit 4` failed (exit 4)');
    expect(failed.body).toContain('- attempt 2 (scripted-model): the setup command `exit 4` failed (exit 4)');
    expect(failed.body).toMatch(/\[attempt 2\] ⚙ setup `exit 4` → exit 4/);
    expect(asked).toBe(0);
    expect(repo.pulls()).toHaveLength(0);
    const task = await taskOf(failed.body);
    expect(task).toMatchObject({ endReason: 'failed', chosenAttempt: null, attempts: [{ attempt: 1, reason: 'failed' }, { attempt: 2, reason: 'failed' }] });
  }, 180_000);

  it('attempts from the configuration, none changes anything: the comment says so, no pull request; old attempt branches are swept', async () => {
    const repo = await newRepo(
      { 'scripted-model': script(call('read_file', { path: 'src/math.js' }), finish('It looks right to me.')) },
      'testCommand: node test.js\nattempts: 2\nkeepAttemptsDays: 0\n',
    );
    // Left by an earlier run (an attempt branch), and a branch of someone else's that only looks alike.
    await stage.git.commitFiles(repo.name, { 'old.txt': 'old attempt\n' }, { branch: 'autocoder/issue-999-attempt-2', message: 'an old attempt' });
    await stage.git.commitFiles(repo.name, { 'mine.txt': 'mine\n' }, { branch: 'autocoder/issue-999-attempt-2-notes', message: 'not an attempt' });
    await repo.label();

    const ended = await waitForProgress(repo, /Finished without changes/);
    expect(ended.body).toContain('None of the 2 attempts changed a file that could be published.');
    expect(ended.body).toContain('- attempt 1 (scripted-model): completed, no file changed');
    expect(ended.body).toContain('- attempt 2 (scripted-model): completed, no file changed');
    expect(ended.body).toContain('[attempt 2] ▸ read_file src/math.js');
    expect(ended.body).toContain('⚖ none of 2 attempts kept · 1 (scripted-model) changed nothing · 2 (scripted-model) changed nothing');
    expect(await taskOf(ended.body)).toMatchObject({ chosenAttempt: null, attempts: [{ attempt: 1, filesChanged: 0 }, { attempt: 2, filesChanged: 0 }] });
    expect(repo.pulls()).toHaveLength(0);

    const branches = await repo.branches();
    expect(branches).not.toContain('autocoder/issue-999-attempt-2');
    expect(branches).toContain('autocoder/issue-999-attempt-2-notes');
    expect(branches.filter((b) => b.startsWith(`autocoder/issue-${repo.issue}`))).toEqual([]);
    const deletes = stage.emulator.state.requests.filter((r) => r.method === 'DELETE' && r.path.startsWith(`/repos/${OWNER}/${repo.name}/git/refs/`));
    expect(deletes.map((r) => [r.path, r.status, r.auth])).toEqual([[`/repos/${OWNER}/${repo.name}/git/refs/heads/autocoder/issue-999-attempt-2`, 204, 'installation']]);
  }, 180_000);
});
