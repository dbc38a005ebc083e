import type { Octokit } from './octokit.js';
import { branchForIssue, type GithubRun } from './trigger.js';

/**
 * What became of the pull request autocoder opened for an issue, and what that means for a new
 * run on the issue:
 * - open: the run goes on its branch and updates it;
 * - closed without merging: someone decided against it. A label does not bring it back (one
 *   reply says how to); `/autocoder retry` or an explicit `/autocoder <text>` from a writer runs,
 *   and the pull request is reopened (a new one when GitHub cannot reopen it);
 * - merged: the work is in; a new run starts from the default branch on a new branch
 *   (`autocoder/issue-<N>-2`, `-3`, ...), so a squash-merged branch's commits are not offered again.
 */
export interface EarlierPullRequest {
  number: number;
  url: string;
  state: 'open' | 'closed';
  merged: boolean;
  headRef: string;
}

/**
 * The state on GitHub of the newest pull request the thread's runs opened, as the store remembers
 * it (`TaskStore.lastPullRequestInThread`), or undefined when the thread never opened one (no
 * call then: most issues have none) or it is gone.
 */
export async function earlierPullRequest(
  octokit: Octokit,
  repo: { owner: string; repo: string },
  number: number | undefined,
): Promise<EarlierPullRequest | undefined> {
  if (number === undefined) return undefined;
  try {
    const { data } = await octokit.rest.pulls.get({ ...repo, pull_number: number });
    return { number, url: data.html_url, state: data.state === 'open' ? 'open' : 'closed', merged: Boolean(data.merged || data.merged_at), headRef: data.head.ref };
  } catch (error) {
    if ((error as { status?: number }).status === 404) return undefined;
    throw error;
  }
}

/** `autocoder/issue-7` → `autocoder/issue-7-2` → `autocoder/issue-7-3`. */
export function branchAfterMerge(issueNumber: number, mergedHead: string): string {
  const base = branchForIssue(issueNumber);
  const suffix = mergedHead.startsWith(`${base}-`) ? Number(mergedHead.slice(base.length + 1)) : 1;
  return `${base}-${Number.isInteger(suffix) && suffix >= 1 ? suffix + 1 : 2}`;
}

/** The branch a new run on the issue works on, given its earlier pull request. */
export function branchForNewRun(run: GithubRun, earlier: EarlierPullRequest | undefined): string {
  if (run.mode !== 'run' || !earlier) return run.branch;
  return earlier.merged ? branchAfterMerge(run.issueNumber, earlier.headRef) : earlier.headRef;
}

/** The one reply to a label on an issue whose pull request was closed without merging. */
export function renderClosedPullRequestReply(pr: EarlierPullRequest, label: string): string {
  return (
    `autocoder's pull request #${pr.number} for this issue was closed without merging, so the \`${label}\` label does not open it again. ` +
    'Someone with write access can comment `/autocoder retry` to run again (the pull request is then reopened), ' +
    'or `/autocoder <instructions>` to run with new instructions.'
  );
}
