/**
 * Red team: GitHub failing under the app. Pull-request creation answered 502 (before and after
 * GitHub did the work), and installation tokens that expire in the middle of a run, on the API
 * and on the git server alike (the emulator issues them short-lived and rejects them after).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, finish, script, startGithubStage, type GithubStage, type StageRepo } from '../e2e/github-stage.js';

let stage: GithubStage;

beforeAll(async () => {
  stage = await startGithubStage({ appId: 5353 });
}, 120_000);

afterAll(async () => {
  await stage?.close();
});

const fixAdd = () =>
  script(call('edit_file', { path: 'src/math.js', old_string: 'a - b', new_string: 'a + b' }), finish('Fixed add(): it subtracted.'));

const pullsPath = (repo: StageRepo) => new RegExp(`^/repos/acme/${repo.name}/pulls$`);
const createCalls = (repo: StageRepo) => stage.emulator.state.requests.filter((r) => r.method === 'POST' && pullsPath(repo).test(r.path));

describe('red team: GitHub failing', () => {
  it('opens exactly one pull request when creating it answers 502 twice', async () => {
    const repo = await stage.newRepo(fixAdd());
    stage.emulator.failNext('POST', pullsPath(repo), 502, 2);
    await repo.label();
    const pr = await stage.waitForPr(repo, 90_000);
    const progress = await stage.waitForProgress(repo, /\*\*Done\*\*/, undefined, 60_000);

    expect(createCalls(repo).map((r) => r.status)).toEqual([502, 502, 201]);
    expect(repo.pulls()).toHaveLength(1);
    expect(progress.body).toContain(`/pull/${pr.number}`);
    expect(repo.progress()).toHaveLength(1);
  }, 120_000);

  it('opens exactly one pull request when GitHub created it but answered 502', async () => {
    const repo = await stage.newRepo(fixAdd());
    stage.emulator.failAfter('POST', pullsPath(repo), 502, 1);
    await repo.label();
    const progress = await stage.waitForProgress(repo, /\*\*Done\*\*|The run failed/, undefined, 90_000);

    expect(progress.body).toMatch(/Done/);
    expect(createCalls(repo)[0].status).toBe(502);
    expect(repo.pulls()).toHaveLength(1);
    const [pr] = repo.pulls();
    expect(progress.body).toContain(`/pull/${pr.number}`);
    expect(pr.body).toContain('Fixed add(): it subtracted.');
  }, 120_000);

  it('writes one progress comment when GitHub wrote it but answered 502', async () => {
    const repo = await stage.newRepo(fixAdd());
    stage.emulator.failAfter('POST', new RegExp(`^/repos/acme/${repo.name}/issues/${repo.issue}/comments$`), 502, 1);
    await repo.label();
    await stage.waitForPr(repo, 90_000);
    await stage.waitForProgress(repo, /\*\*Done\*\*/, undefined, 60_000);
    expect(repo.progress()).toHaveLength(1);
    expect(repo.comments()).toHaveLength(1);
  }, 120_000);

  it('pushes and comments with fresh tokens after a step that outlives the installation token', async () => {
    const ttlMs = 6_000;
    const repo = await stage.newRepo(
      script(call('run_command', { command: `sleep ${(ttlMs * 1.5) / 1000}` }), call('edit_file', { path: 'src/math.js', old_string: 'a - b', new_string: 'a + b' }), finish('Fixed add() after a long step.')),
      { config: 'maxSteps: 5\n' },
    );
    stage.emulator.setTokenTtl(ttlMs);
    try {
      const firstRequest = stage.emulator.state.requests.length;
      const firstToken = stage.emulator.state.tokens.length;
      await repo.label();
      const progress = await stage.waitForProgress(repo, /\*\*Done\*\*|The run failed/, undefined, 90_000);
      expect(progress.body).toMatch(/Done/);

      const pr = repo.pulls()[0];
      expect(pr.body).toContain('Fixed add() after a long step.');
      expect(await repo.show('src/math.js')).toContain('a + b');
      // Every API call of the run was accepted: none went out with a token past its end.
      const refused = stage.emulator.state.requests.slice(firstRequest).filter((r) => r.status === 401);
      expect(refused.map((r) => `${r.method} ${r.path}`)).toEqual([]);
      // Tokens were minted after the long step (for the push, and for the comments and the pull request).
      const minted = stage.emulator.state.tokens.slice(firstToken);
      const lastMinted = Date.parse(minted.at(-1)!.createdAt);
      expect(lastMinted - Date.parse(minted[0].createdAt)).toBeGreaterThanOrEqual(ttlMs);
      // The git server took the push after the long step (it refuses expired tokens too).
      const pushes = stage.git.requests.filter((r) => r.method === 'POST' && r.url.startsWith(`/${repo.name}.git/git-receive-pack`));
      expect(pushes.some((r) => r.status === 200)).toBe(true);
    } finally {
      stage.emulator.setTokenTtl(60 * 60_000);
    }
  }, 120_000);
});
