/**
 * The sweep of old attempt branches: the ages come from a real repository's remote-tracking refs
 * (as the mirror cache holds them), the deletions go to GitHub's git refs API (nock).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import nock from 'nock';
import { pino } from 'pino';
import { ProbotOctokit } from 'probot';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listAttemptBranches, sweepAttemptBranches } from '../../src/github/attempt-branches.js';
import type { Octokit } from '../../src/github/octokit.js';
import { gitTestEnv, makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';

const run = promisify(execFile);
const API = 'https://api.github.com';
const R = '/repos/acme/widgets';
const DAY = 24 * 60 * 60;
const NOW = Date.UTC(2026, 0, 20) / 1000;

const octokit = new (ProbotOctokit.defaults((o: Record<string, any>) => ({ ...o, retry: { enabled: false }, throttle: { ...o.throttle, enabled: false } })))({
  auth: { token: 'ghs_test' },
}) as unknown as Octokit;
const log = pino({ level: 'silent' });

let repo: TempRepo;

/** A remote-tracking branch whose commit was made `daysAgo` before NOW. */
async function branch(name: string, daysAgo: number): Promise<void> {
  const date = `${NOW - daysAgo * DAY} +0000`;
  const env = { ...gitTestEnv, GIT_COMMITTER_DATE: date, GIT_AUTHOR_DATE: date };
  const { stdout } = await run('git', ['commit-tree', '-m', name, 'HEAD^{tree}'], { cwd: repo.root, env });
  await repo.git('update-ref', `refs/remotes/origin/${name}`, stdout.trim());
}

beforeEach(async () => {
  nock.disableNetConnect();
  repo = await makeTempRepo({ 'a.txt': 'a\n' });
  await branch('autocoder/issue-1-attempt-1', 10);
  await branch('autocoder/issue-1-attempt-3', 2);
  await branch('autocoder/issue-2-attempt-2', 8);
  // Not autocoder's attempt branches, however old: never touched.
  await branch('autocoder/issue-1', 30);
  await branch('autocoder/issue-1-attempt-1-fixup', 30);
  await branch('feature/autocoder/issue-1-attempt-1', 30);
});

afterEach(async () => {
  nock.cleanAll();
  nock.enableNetConnect();
  await repo.cleanup();
});

describe('listAttemptBranches', () => {
  it('lists only the names autocoder gives attempts, with their commit time', async () => {
    const found = await listAttemptBranches(repo.root);
    expect(found.sort((a, b) => a.branch.localeCompare(b.branch))).toEqual([
      { branch: 'autocoder/issue-1-attempt-1', committedAt: (NOW - 10 * DAY) * 1000 },
      { branch: 'autocoder/issue-1-attempt-3', committedAt: (NOW - 2 * DAY) * 1000 },
      { branch: 'autocoder/issue-2-attempt-2', committedAt: (NOW - 8 * DAY) * 1000 },
    ]);
  });
});

describe('sweepAttemptBranches', () => {
  it('deletes the attempt branches older than keepAttemptsDays through the refs API, and nothing else', async () => {
    const scope = nock(API)
      .delete(`${R}/git/refs/heads%2Fautocoder%2Fissue-1-attempt-1`)
      .reply(204)
      .delete(`${R}/git/refs/heads%2Fautocoder%2Fissue-2-attempt-2`)
      .reply(204);
    const deleted = await sweepAttemptBranches({ octokit, repo: { owner: 'acme', repo: 'widgets' }, cachePath: repo.root, keepDays: 7, log, now: NOW * 1000 });
    expect(deleted.sort()).toEqual(['autocoder/issue-1-attempt-1', 'autocoder/issue-2-attempt-2']);
    scope.done();
  });

  it('0 days: every attempt branch goes; one already deleted on GitHub (422) is no error', async () => {
    const scope = nock(API)
      .delete(`${R}/git/refs/heads%2Fautocoder%2Fissue-1-attempt-1`)
      .reply(204)
      .delete(`${R}/git/refs/heads%2Fautocoder%2Fissue-1-attempt-3`)
      .reply(422, { message: 'Reference does not exist' })
      .delete(`${R}/git/refs/heads%2Fautocoder%2Fissue-2-attempt-2`)
      .reply(204);
    const deleted = await sweepAttemptBranches({ octokit, repo: { owner: 'acme', repo: 'widgets' }, cachePath: repo.root, keepDays: 0, log, now: NOW * 1000 });
    expect(deleted.sort()).toEqual(['autocoder/issue-1-attempt-1', 'autocoder/issue-2-attempt-2']);
    scope.done();
  });

  it('GitHub refusing (403) stops the sweep without failing the run', async () => {
    const scope = nock(API).delete(/\/git\/refs\//).reply(403, { message: 'Resource not accessible by integration' });
    const deleted = await sweepAttemptBranches({ octokit, repo: { owner: 'acme', repo: 'widgets' }, cachePath: repo.root, keepDays: 7, log, now: NOW * 1000 });
    expect(deleted).toEqual([]);
    scope.done();
  });
});
