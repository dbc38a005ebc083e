import type { Octokit } from './octokit.js';

export interface EnsurePullRequestInput {
  owner: string;
  repo: string;
  /** The branch in the same repository. */
  head: string;
  base: string;
  title: string;
  body: string;
  draft: boolean;
}

export interface PullRequestRef {
  number: number;
  url: string;
  created: boolean;
  /** A pull request for the branch that had been closed without merging was opened again. */
  reopened?: boolean;
}

function status(error: unknown): number | undefined {
  return (error as { status?: number }).status;
}

function message(error: unknown): string {
  const data = (error as { response?: { data?: { message?: string; errors?: { message?: string }[] } } }).response?.data;
  return [data?.message, ...(data?.errors ?? []).map((e) => e.message)].filter(Boolean).join(' ') || String(error);
}

/** The branch's open pull request, and the newest one closed without merging (to reopen). */
async function findForHead(octokit: Octokit, input: EnsurePullRequestInput) {
  const { data } = await octokit.rest.pulls.list({
    owner: input.owner,
    repo: input.repo,
    head: `${input.owner}:${input.head}`,
    state: 'all',
    sort: 'created',
    direction: 'desc',
    per_page: 10,
  });
  const mine = data.filter((pr) => pr.head.ref === input.head);
  return {
    open: mine.find((pr) => pr.state === 'open'),
    closed: mine.find((pr) => pr.state === 'closed' && !pr.merged_at && pr.base.ref === input.base),
  };
}

async function findOpen(octokit: Octokit, input: EnsurePullRequestInput) {
  return (await findForHead(octokit, input)).open;
}

/**
 * Exactly one open pull request for the branch, with the wanted title and body: updated when it
 * exists and differs, created otherwise. A create that GitHub answered with "already exists"
 * (a retried request whose first try went through) becomes an update, so a flaky API never
 * yields two pull requests.
 */
export async function ensurePullRequest(octokit: Octokit, input: EnsurePullRequestInput): Promise<PullRequestRef> {
  const { open: existing, closed } = await findForHead(octokit, input);
  if (existing) {
    if (existing.body !== input.body) {
      await octokit.rest.pulls.update({ owner: input.owner, repo: input.repo, pull_number: existing.number, body: input.body });
    }
    return { number: existing.number, url: existing.html_url, created: false };
  }
  if (closed) {
    // Runs on an issue whose pull request was closed unmerged happen only when a writer asked
    // (src/github/earlier-pull-request.ts): the same pull request comes back, with its discussion.
    // GitHub refuses when the branch was deleted or rewritten; then a new one is opened.
    try {
      const { data } = await octokit.rest.pulls.update({ owner: input.owner, repo: input.repo, pull_number: closed.number, state: 'open', body: input.body });
      return { number: data.number, url: data.html_url, created: false, reopened: true };
    } catch (error) {
      if (status(error) !== 422) throw error;
    }
  }
  const create = (draft: boolean) =>
    octokit.rest.pulls.create({
      owner: input.owner,
      repo: input.repo,
      head: input.head,
      base: input.base,
      title: input.title,
      body: input.body,
      draft,
    });
  try {
    const { data } = await create(input.draft);
    return { number: data.number, url: data.html_url, created: true };
  } catch (error) {
    if (status(error) !== 422) throw error;
    const text = message(error);
    if (/already exists/i.test(text)) {
      const found = await findOpen(octokit, input);
      if (found) {
        if (found.body !== input.body) {
          await octokit.rest.pulls.update({ owner: input.owner, repo: input.repo, pull_number: found.number, body: input.body });
        }
        return { number: found.number, url: found.html_url, created: false };
      }
    }
    if (input.draft && /draft/i.test(text)) {
      // Draft pull requests are not available on every plan: open a normal one.
      const { data } = await create(false);
      return { number: data.number, url: data.html_url, created: true };
    }
    throw error;
  }
}
