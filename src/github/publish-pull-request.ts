import type { Logger } from 'pino';
import { git } from '../workspace/git.js';
import { diffTrees } from '../workspace/snapshot.js';
import type { Octokit } from './octokit.js';
import { ensurePullRequest, type PullRequestRef } from './pull-request.js';
import { renderPullRequestBody, type PullRequestBodyInput } from './render.js';

/**
 * The pull request of a run's pushed branch, opened or brought up to date: one run or the winner
 * of best of N. Its body describes the whole branch (every file it changes against the default
 * branch, not only this run's), and a run that stopped early is a draft (its body's marker says
 * why). When the repository does not want drafts, a run that completes takes such a draft out of
 * draft; GitHub refusing that does not fail the run: `notice` says so, for the progress comment.
 */
export async function publishPullRequest(
  octokit: Octokit,
  input: {
    owner: string;
    repo: string;
    /** The pushed worktree. */
    cwd: string;
    head: string;
    /** The default branch: what the pull request merges into. */
    base: string;
    title: string;
    draft: boolean;
    /** Why the run stopped before it finished (a budget), if it did. */
    incomplete?: string;
    /** Paths the run changed that the repository's configuration does not let autocoder change: left out. */
    reverted: readonly string[];
    body: Omit<PullRequestBodyInput, 'changedFiles' | 'incomplete' | 'stopped'>;
    log?: Logger;
  },
): Promise<PullRequestRef & { notice?: string }> {
  const mergeBase = (await git(['merge-base', `refs/remotes/origin/${input.base}`, 'HEAD'], { cwd: input.cwd })).stdout.trim();
  const branchFiles = (await diffTrees(input.cwd, mergeBase, 'HEAD')).files;
  const leftOut = input.reverted.length
    ? `Changes to ${input.reverted.join(', ')} were left out: this repository's configuration does not let autocoder change them.`
    : undefined;
  const body = renderPullRequestBody({
    ...input.body,
    changedFiles: branchFiles,
    incomplete: [input.incomplete, leftOut].filter(Boolean).join('\n') || undefined,
    stopped: input.incomplete !== undefined,
  });
  const pr = await ensurePullRequest(octokit, {
    owner: input.owner,
    repo: input.repo,
    head: input.head,
    base: input.base,
    title: input.body.redact(input.title),
    body,
    draft: input.draft || input.incomplete !== undefined,
  });
  if (pr.notReady === undefined) return pr;
  input.log?.warn({ pullRequest: pr.number, reason: pr.notReady }, 'could not mark the pull request ready for review');
  return {
    ...pr,
    notice: `The pull request is still a draft: GitHub did not mark it ready for review (${pr.notReady}). Its **Ready for review** button does it by hand.`,
  };
}

/**
 * What a published run's progress comment says beside "Done", one paragraph each: `lead` (best
 * of N's choice), why the run stopped early or else that its test command failed, and what
 * GitHub said of the pull request itself (still a draft).
 */
export function publishedNotes(input: { lead?: string; incomplete?: string; test?: { command: string; exitCode: number | null }; notice?: string }): string | undefined {
  const { test } = input;
  const outcome = input.incomplete ?? (test && test.exitCode !== 0 ? `The test command \`${test.command}\` failed; see the pull request.` : undefined);
  return [input.lead, outcome, input.notice].filter(Boolean).join('\n\n') || undefined;
}
