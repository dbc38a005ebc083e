import type { Octokit } from './octokit.js';
import { parseMarker } from './render.js';

export interface EnsurePullRequestInput {
  owner: string;
  repo: string;
  /** The branch in the same repository. */
  head: string;
  base: string;
  title: string;
  body: string;
  /**
   * Open it as a draft. False also means that an open draft whose body (before this update) says
   * it is one only because a run stopped early (`stopped=1` in its marker) is marked ready for
   * review: this run has done the work. A draft a person made stays one.
   */
  draft: boolean;
}

export interface PullRequestRef {
  number: number;
  url: string;
  created: boolean;
  /** A pull request for the branch that had been closed without merging was opened again. */
  reopened?: boolean;
  /** It was a draft and was marked ready for review. */
  markedReady?: boolean;
  /**
   * It is still a draft though `draft` was false: GitHub refused to mark it ready, for this reason
   * (one line, GitHub's words). The pull request itself is fine; the caller says so where people look.
   */
  notReady?: string;
}

/** What ensurePullRequest needs to know of the pull request it ends with, in REST's shape. */
interface PullState {
  number: number;
  html_url: string;
  node_id?: string;
  draft?: boolean;
}

/** True when a pull request's body is one autocoder wrote for a run that stopped early. */
function stoppedEarly(body: string | null | undefined): boolean {
  return parseMarker(body, 'pr')?.stopped === '1';
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
 * yields two pull requests. With `draft: false`, a draft that a stopped run left is marked ready.
 */
export async function ensurePullRequest(octokit: Octokit, input: EnsurePullRequestInput): Promise<PullRequestRef> {
  const { ref, pull, previousBody } = await upsert(octokit, input);
  if (input.draft || pull.draft !== true || !stoppedEarly(previousBody)) return ref;
  const refused = await markReadyForReview(octokit, pull);
  return refused === undefined ? { ...ref, markedReady: true } : { ...ref, notReady: refused };
}

const MARK_READY = `mutation autocoderMarkReady($id: ID!) {
  markPullRequestReadyForReview(input: { pullRequestId: $id }) {
    pullRequest { isDraft }
  }
}`;

/**
 * GitHub's REST API cannot take a pull request out of draft; GraphQL's mutation can, by the node
 * id REST gives. Never throws: undefined when it is ready now, else why not, in one line.
 */
async function markReadyForReview(octokit: Octokit, pull: { number: number; node_id?: string }): Promise<string | undefined> {
  if (!pull.node_id) return `GitHub did not give pull request #${pull.number}'s node id`;
  try {
    const data = await octokit.graphql<{ markPullRequestReadyForReview: { pullRequest: { isDraft: boolean } | null } | null }>(MARK_READY, { id: pull.node_id });
    if (data.markPullRequestReadyForReview?.pullRequest?.isDraft === false) return undefined;
    return 'GitHub answered, but the pull request is still a draft';
  } catch (error) {
    return graphqlMessage(error);
  }
}

/** GitHub's own words from a GraphQL or HTTP error, on one line and short. */
function graphqlMessage(error: unknown): string {
  const errors = (error as { errors?: { message?: string }[] }).errors;
  const text = errors?.length ? errors.map((e) => e.message).filter(Boolean).join('; ') : message(error);
  const line = text.replace(/\s+/g, ' ').trim() || 'unknown error';
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

/** The pull request opened, reopened or updated; `previousBody` is its body before, when it existed. */
async function upsert(octokit: Octokit, input: EnsurePullRequestInput): Promise<{ ref: PullRequestRef; pull: PullState; previousBody?: string | null }> {
  const { open: existing, closed } = await findForHead(octokit, input);
  if (existing) {
    if (existing.body !== input.body) {
      await octokit.rest.pulls.update({ owner: input.owner, repo: input.repo, pull_number: existing.number, body: input.body });
    }
    return { ref: { number: existing.number, url: existing.html_url, created: false }, pull: existing, previousBody: existing.body };
  }
  if (closed) {
    // Runs on an issue whose pull request was closed unmerged happen only when a writer asked
    // (src/github/earlier-pull-request.ts): the same pull request comes back, with its discussion.
    // GitHub refuses when the branch was deleted or rewritten; then a new one is opened.
    try {
      const { data } = await octokit.rest.pulls.update({ owner: input.owner, repo: input.repo, pull_number: closed.number, state: 'open', body: input.body });
      return { ref: { number: data.number, url: data.html_url, created: false, reopened: true }, pull: data, previousBody: closed.body };
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
    return { ref: { number: data.number, url: data.html_url, created: true }, pull: data };
  } catch (error) {
    if (status(error) !== 422) throw error;
    const text = message(error);
    if (/already exists/i.test(text)) {
      const found = await findOpen(octokit, input);
      if (found) {
        if (found.body !== input.body) {
          await octokit.rest.pulls.update({ owner: input.owner, repo: input.repo, pull_number: found.number, body: input.body });
        }
        return { ref: { number: found.number, url: found.html_url, created: false }, pull: found, previousBody: found.body };
      }
    }
    if (input.draft && /draft/i.test(text)) {
      // Draft pull requests are not available on every plan: open a normal one.
      const { data } = await create(false);
      return { ref: { number: data.number, url: data.html_url, created: true }, pull: data };
    }
    throw error;
  }
}
