import { git } from '../workspace/git.js';
import type { Octokit } from './octokit.js';
import type { PromptContext } from './prompt.js';
import type { GithubRun } from './trigger.js';

/**
 * What a run of one attempt and a run of several both need about their issue: what the prompt
 * is given, and how its commits and pull request are named.
 */

/**
 * The issue as GitHub has it now (a revision or a pull request's comment names the issue, whose
 * text the trigger does not carry), and for a revision the pull request's diff so far, read in
 * `cwd`, a worktree of the run's branch.
 */
export async function loadPromptContext(installation: Octokit, run: GithubRun, cwd: string): Promise<PromptContext> {
  const { trigger } = run;
  const fromTrigger = { number: run.issueNumber, title: trigger.title, body: trigger.body };
  const issue = run.mode === 'revision' || trigger.isPullRequest
    ? await installation.rest.issues
        .get({ owner: trigger.repo.owner, repo: trigger.repo.name, issue_number: run.issueNumber })
        .then((r) => ({ number: run.issueNumber, title: r.data.title, body: r.data.body ?? '' }))
        .catch(() => fromTrigger)
    : fromTrigger;
  const diff = run.mode === 'revision'
    ? (await git(['diff', `refs/remotes/origin/${trigger.repo.defaultBranch}...HEAD`], { cwd }).catch(() => undefined))?.stdout
    : undefined;
  return { issue, diff };
}

/** The pull request's title, the commit's subject, and the requester as the commit's co-author. */
export function namesOf(run: GithubRun, issueTitle: string): { title: string; subject: string; requester: { name: string; email: string } } {
  const { trigger } = run;
  const title = issueTitle.trim() || `Resolve #${run.issueNumber}`;
  const subject = run.mode === 'revision' ? `Revise #${run.pullNumber}: ${trigger.commandText ? 'address feedback' : 'update'}` : `${title} (#${run.issueNumber})`;
  const requester = { name: trigger.sender.login, email: `${trigger.sender.id}+${trigger.sender.login}@users.noreply.github.com` };
  return { title, subject, requester };
}
