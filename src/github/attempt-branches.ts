import type { Logger } from 'pino';
import { AutocoderError } from '../engine/errors.js';
import { git } from '../workspace/git.js';
import type { PreparedWorkspace } from '../workspace/index.js';
import type { Octokit } from './octokit.js';
import { ATTEMPT_BRANCH_PATTERN } from './trigger.js';

/**
 * The branches of best-of-N attempts that were not published: pushed so a person can look at
 * them, and deleted once `keepAttemptsDays` have passed. There is no timer: every run of the
 * repository sweeps when it starts, so a repository nobody uses keeps its branches until it is
 * used again, which costs nothing.
 */

const DAY_MS = 24 * 60 * 60_000;

type Repo = { owner: string; repo: string };

/** Deletes `heads/<branch>` through the REST API; a branch already gone is not an error. */
async function deleteBranch(octokit: Octokit, repo: Repo, branch: string): Promise<boolean> {
  try {
    await octokit.rest.git.deleteRef({ ...repo, ref: `heads/${branch}` });
    return true;
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (status === 422 || status === 404) return false;
    throw error;
  }
}

/**
 * The attempt branches on the remote, as the mirror cache last fetched them (every prepare fetches
 * all branches), with the time of their newest commit: autocoder committed it just before the push.
 */
export async function listAttemptBranches(cachePath: string): Promise<Array<{ branch: string; committedAt: number }>> {
  const out = await git(['for-each-ref', '--format=%(refname:lstrip=3)%00%(committerdate:unix)', 'refs/remotes/origin/autocoder/'], { cwd: cachePath });
  return out.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [branch, seconds] = line.split('\0');
      return { branch, committedAt: Number(seconds) * 1000 };
    })
    .filter((b) => ATTEMPT_BRANCH_PATTERN.test(b.branch) && Number.isFinite(b.committedAt));
}

/**
 * Deletes attempt branches older than `keepDays` (all of them for 0). Only names autocoder makes
 * are touched. Best effort: a failure is logged and the run goes on. Returns the branches deleted.
 */
export async function sweepAttemptBranches(options: {
  octokit: Octokit;
  repo: Repo;
  cachePath: string;
  keepDays: number;
  log: Logger;
  now?: number;
}): Promise<string[]> {
  const deleted: string[] = [];
  try {
    const cutoff = (options.now ?? Date.now()) - options.keepDays * DAY_MS;
    for (const { branch, committedAt } of await listAttemptBranches(options.cachePath)) {
      if (committedAt > cutoff) continue;
      if (await deleteBranch(options.octokit, options.repo, branch)) deleted.push(branch);
    }
    if (deleted.length) options.log.info({ branches: deleted }, 'deleted attempt branches past keepAttemptsDays');
  } catch (error) {
    options.log.warn({ err: error }, 'could not delete old attempt branches');
  }
  return deleted;
}

/**
 * Pushes an attempt that was not published to its own branch. The name may still hold an attempt
 * of an earlier run of the same issue (autocoder's own, by its name): that one is replaced.
 */
export async function keepAttemptBranch(options: {
  octokit: Octokit;
  repo: Repo;
  workspace: PreparedWorkspace;
  token: () => Promise<string>;
  signal?: AbortSignal;
}): Promise<void> {
  const { workspace } = options;
  if (!ATTEMPT_BRANCH_PATTERN.test(workspace.branch)) {
    throw new AutocoderError('push_rejected', `${workspace.branch} is not an attempt branch`);
  }
  let pushed = await workspace.push({ token: await options.token(), signal: options.signal });
  if (!pushed.ok && pushed.rejected) {
    await deleteBranch(options.octokit, options.repo, workspace.branch);
    pushed = await workspace.push({ token: await options.token(), signal: options.signal });
  }
  if (!pushed.ok) throw new AutocoderError('push_rejected', `the push to ${workspace.branch} failed: ${pushed.message}`);
}
