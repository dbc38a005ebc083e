/**
 * Webhook deliveries for tests: signing, sending, and payloads built from GitHub's own examples
 * (`@octokit/webhooks-examples`), with the repository, installation, numbers, users and bodies
 * of the test put in.
 *
 *   const payload = issueCommentPayload({ repo, installationId: gh.installationId, issue: { number: 1 }, comment: { body: '/autocoder fix it', user: { login: 'alice' } } });
 *   const { status } = await sendWebhook({ url, secret, event: 'issue_comment', payload });
 *
 * Every builder is `example(event, action)` deep-merged with overrides: one generic helper,
 * `webhookPayload`, that tests can also call for any other event.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';

// --- signing and sending ------------------------------------------------------------------------

/** `sha256=<hex HMAC of the exact body bytes>`: GitHub's `X-Hub-Signature-256`. */
export function signPayload(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

export interface SendWebhookOptions {
  url: string;
  secret: string;
  event: string;
  /** An object is sent as JSON; a string is sent (and signed) as it is. */
  payload: unknown;
  /** Default a random UUID, as GitHub sends. */
  deliveryId?: string;
  /** Extra or replacing headers (e.g. a wrong signature). */
  headers?: Record<string, string>;
}

export interface WebhookResponse {
  status: number;
  body: string;
  deliveryId: string;
}

export async function sendWebhook(opts: SendWebhookOptions): Promise<WebhookResponse> {
  const body = typeof opts.payload === 'string' ? opts.payload : JSON.stringify(opts.payload);
  const deliveryId = opts.deliveryId ?? randomUUID();
  const res = await fetch(opts.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/emulator',
      'x-github-event': opts.event,
      'x-github-delivery': deliveryId,
      'x-hub-signature-256': signPayload(opts.secret, body),
      ...(opts.headers ?? {}),
    },
    body,
  });
  return { status: res.status, body: await res.text(), deliveryId };
}

// --- examples and the one override helper ----------------------------------------------------------

type Json = Record<string, unknown>;

interface WebhookDefinition {
  name: string;
  actions: string[];
  examples: Json[];
}

let definitions: WebhookDefinition[] | undefined;

function loadDefinitions(): WebhookDefinition[] {
  // The package is one JSON file (`api.github.com/index.json`): a list of `{ name, actions, examples }`.
  definitions ??= createRequire(import.meta.url)('@octokit/webhooks-examples/api.github.com/index.json') as WebhookDefinition[];
  return definitions;
}

/**
 * A deep copy of GitHub's example payload for `event` (and `action`), preferring one that has an
 * `installation` (as every delivery to an app has).
 */
export function exampleFor(event: string, action?: string): Json {
  const def = loadDefinitions().find((d) => d.name === event);
  if (!def) throw new Error(`webhooks: no example for event ${event}`);
  const candidates = def.examples.filter((e) => action === undefined || e.action === action);
  if (!candidates.length) throw new Error(`webhooks: no example for ${event}.${action}`);
  const best = candidates.find((e) => 'installation' in e) ?? candidates[0];
  return structuredClone(best);
}

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export type DeepPartial<T> = T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/**
 * Merges `overrides` into `base` (a copy is returned): objects merge key by key, anything else
 * (arrays, strings, null) replaces; `undefined` leaves the base value alone.
 */
export function deepMerge<T>(base: T, ...overrides: unknown[]): T {
  let result: unknown = structuredClone(base);
  for (const override of overrides) result = mergeTwo(result, override);
  return result as T;
}

function mergeTwo(base: unknown, override: unknown): unknown {
  if (override === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(override)) return structuredClone(override);
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    out[key] = mergeTwo(base[key], value);
  }
  return out;
}

/** Replaces `from` with `to` in every string of the payload (the example's own URLs and names). */
function replaceInStrings(value: unknown, from: string, to: string): unknown {
  if (typeof value === 'string') return value.split(from).join(to);
  if (Array.isArray(value)) return value.map((v) => replaceInStrings(v, from, to));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceInStrings(v, from, to)]));
  return value;
}

// --- building blocks ---------------------------------------------------------------------------

export interface RepoInput {
  owner: string;
  name: string;
  cloneUrl: string;
  defaultBranch?: string;
  private?: boolean;
  ownerType?: 'User' | 'Organization';
  /** Default 1000. */
  id?: number;
}

export interface ActorInput {
  login: string;
  type?: 'User' | 'Bot' | 'Organization';
  id?: number;
}

export interface CommonInput {
  repo: RepoInput;
  installationId: number;
  /** Who did it; default the repository owner. */
  sender?: ActorInput;
  /** Base of the payload's `url` fields. Default `https://api.github.com`. */
  apiUrl?: string;
  /** Base of the payload's `html_url` fields. Default `https://github.com`. */
  webUrl?: string;
}

const EXAMPLE_FULL_NAME = 'Codertocat/Hello-World';

function idFor(login: string): number {
  let h = 0;
  for (const ch of login) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return 10_000 + (h % 1_000_000);
}

/** A user object in the shape webhooks carry. */
export function userObject(actor: ActorInput, urls: { apiUrl?: string; webUrl?: string } = {}): Json {
  const api = urls.apiUrl ?? 'https://api.github.com';
  const web = urls.webUrl ?? 'https://github.com';
  const type = actor.type ?? (actor.login.endsWith('[bot]') ? 'Bot' : 'User');
  const url = `${api}/users/${encodeURIComponent(actor.login)}`;
  const id = actor.id ?? idFor(actor.login);
  return {
    login: actor.login,
    id,
    node_id: Buffer.from(`04:${type}${id}`).toString('base64'),
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    gravatar_id: '',
    url,
    html_url: `${web}/${actor.login}`,
    followers_url: `${url}/followers`,
    following_url: `${url}/following{/other_user}`,
    gists_url: `${url}/gists{/gist_id}`,
    starred_url: `${url}/starred{/owner}{/repo}`,
    subscriptions_url: `${url}/subscriptions`,
    organizations_url: `${url}/orgs`,
    repos_url: `${url}/repos`,
    events_url: `${url}/events{/privacy}`,
    received_events_url: `${url}/received_events`,
    type,
    site_admin: false,
  };
}

function repositoryOverride(input: CommonInput): Json {
  const { repo } = input;
  const fullName = `${repo.owner}/${repo.name}`;
  const web = input.webUrl ?? 'https://github.com';
  return {
    id: repo.id ?? 1000,
    name: repo.name,
    full_name: fullName,
    private: repo.private ?? false,
    visibility: repo.private ? 'private' : 'public',
    owner: userObject({ login: repo.owner, type: repo.ownerType ?? 'User' }, input),
    html_url: `${web}/${fullName}`,
    clone_url: repo.cloneUrl,
    git_url: repo.cloneUrl.replace(/^https?:/, 'git:'),
    ssh_url: `git@${new URL(web).host}:${fullName}.git`,
    svn_url: `${web}/${fullName}`,
    default_branch: repo.defaultBranch ?? 'main',
  };
}

function moveExample<T>(example: T, input: CommonInput): T {
  let out: unknown = replaceInStrings(example, EXAMPLE_FULL_NAME, `${input.repo.owner}/${input.repo.name}`);
  if (input.apiUrl) out = replaceInStrings(out, 'https://api.github.com', input.apiUrl);
  if (input.webUrl) out = replaceInStrings(out, 'https://github.com', input.webUrl);
  return out as T;
}

/** A whole webhook `repository` object for the test's repository. */
export function fullRepository(input: CommonInput): Json {
  return deepMerge(moveExample(exampleFor('issue_comment', 'created').repository as Json, input), repositoryOverride(input));
}

/**
 * GitHub's example for `event.action`, moved into the test's repository and installation, then
 * deep-merged with `overrides`. The base of every builder below; use it for other events too.
 */
export function webhookPayload(event: string, action: string | undefined, input: CommonInput, overrides: Json = {}): Json {
  const example = moveExample(exampleFor(event, action), input);
  // The example's organization is not the test's owner; a user-owned repository has none.
  delete example.organization;
  const sender = userObject(input.sender ?? { login: input.repo.owner }, input);
  const base = deepMerge(example, {
    repository: repositoryOverride(input),
    installation: { id: input.installationId, node_id: Buffer.from(`023:IntegrationInstallation${input.installationId}`).toString('base64') },
    sender,
  });
  if (input.repo.ownerType === 'Organization') {
    base.organization = { login: input.repo.owner, id: idFor(input.repo.owner), url: `${input.apiUrl ?? 'https://api.github.com'}/orgs/${input.repo.owner}` };
  }
  return deepMerge(base, overrides);
}

function labelObject(name: string, input: CommonInput): Json {
  return {
    id: idFor(`label:${name}`),
    node_id: Buffer.from(`010:Label${name}`).toString('base64'),
    url: `${input.apiUrl ?? 'https://api.github.com'}/repos/${input.repo.owner}/${input.repo.name}/labels/${encodeURIComponent(name)}`,
    name,
    color: 'ededed',
    default: false,
    description: null,
  };
}

interface IssueInput {
  number: number;
  title?: string;
  body?: string | null;
  /** Default the sender. */
  user?: ActorInput;
  /** Labels besides the one being added. */
  labels?: string[];
  id?: number;
}

function issueOverride(issue: IssueInput, input: CommonInput, extraLabels: string[] = []): Json {
  const api = input.apiUrl ?? 'https://api.github.com';
  const web = input.webUrl ?? 'https://github.com';
  const full = `${input.repo.owner}/${input.repo.name}`;
  const url = `${api}/repos/${full}/issues/${issue.number}`;
  const labels = [...new Set([...(issue.labels ?? []), ...extraLabels])];
  return {
    url,
    labels_url: `${url}/labels{/name}`,
    comments_url: `${url}/comments`,
    events_url: `${url}/events`,
    html_url: `${web}/${full}/issues/${issue.number}`,
    id: issue.id ?? 500_000 + issue.number,
    number: issue.number,
    title: issue.title ?? `Issue ${issue.number}`,
    body: issue.body === undefined ? '' : issue.body,
    user: userObject(issue.user ?? input.sender ?? { login: input.repo.owner }, input),
    labels: labels.map((l) => labelObject(l, input)),
    assignee: null,
    assignees: [],
    milestone: null,
    state: 'open',
  };
}

// --- the builders --------------------------------------------------------------------------------

/** `issues.labeled`: `label` (default `autocoder`) was added to the issue. */
export function issueLabeledPayload(input: CommonInput & { issue: IssueInput; label?: string; overrides?: Json }): Json {
  const label = input.label ?? 'autocoder';
  return webhookPayload('issues', 'labeled', input, deepMerge({ issue: issueOverride(input.issue, input, [label]), label: labelObject(label, input) }, input.overrides ?? {}));
}

/** `issue_comment.created` on an issue, or on a pull request when `isPullRequest` is set. */
export function issueCommentPayload(
  input: CommonInput & {
    issue: IssueInput;
    isPullRequest?: boolean;
    comment: { body: string; id?: number; user?: ActorInput };
    action?: 'created' | 'edited' | 'deleted';
    overrides?: Json;
  },
): Json {
  const api = input.apiUrl ?? 'https://api.github.com';
  const web = input.webUrl ?? 'https://github.com';
  const full = `${input.repo.owner}/${input.repo.name}`;
  const n = input.issue.number;
  const commentId = input.comment.id ?? 900_000 + n;
  const user = input.comment.user ?? input.sender ?? { login: input.repo.owner };
  const issue = issueOverride(input.issue, input);
  if (input.isPullRequest) {
    issue.html_url = `${web}/${full}/pull/${n}`;
    issue.pull_request = {
      url: `${api}/repos/${full}/pulls/${n}`,
      html_url: `${web}/${full}/pull/${n}`,
      diff_url: `${web}/${full}/pull/${n}.diff`,
      patch_url: `${web}/${full}/pull/${n}.patch`,
      merged_at: null,
    };
  }
  const commentUrl = `${api}/repos/${full}/issues/comments/${commentId}`;
  return webhookPayload(
    'issue_comment',
    input.action ?? 'created',
    { ...input, sender: input.sender ?? user },
    deepMerge(
      {
        issue,
        comment: {
          url: commentUrl,
          html_url: `${issue.html_url as string}#issuecomment-${commentId}`,
          issue_url: `${api}/repos/${full}/issues/${n}`,
          id: commentId,
          node_id: Buffer.from(`012:IssueComment${commentId}`).toString('base64'),
          user: userObject(user, input),
          body: input.comment.body,
          author_association: user.login === input.repo.owner ? 'OWNER' : 'NONE',
          reactions: { url: `${commentUrl}/reactions` },
        },
      },
      input.overrides ?? {},
    ),
  );
}

interface PullInput {
  number: number;
  headRef: string;
  baseRef?: string;
  headSha?: string;
  title?: string;
  body?: string | null;
  /** The pull request's author; default the repository owner (pass `{ login: 'autocoder[bot]' }` for the app's own). */
  user?: ActorInput;
  draft?: boolean;
}

function pullRequestOverride(pr: PullInput, input: CommonInput): Json {
  const api = input.apiUrl ?? 'https://api.github.com';
  const web = input.webUrl ?? 'https://github.com';
  const full = `${input.repo.owner}/${input.repo.name}`;
  const url = `${api}/repos/${full}/pulls/${pr.number}`;
  const html = `${web}/${full}/pull/${pr.number}`;
  const repository = fullRepository(input);
  const ownerUser = userObject({ login: input.repo.owner, type: input.repo.ownerType ?? 'User' }, input);
  const base = pr.baseRef ?? input.repo.defaultBranch ?? 'main';
  return {
    url,
    id: 700_000 + pr.number,
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: `${api}/repos/${full}/issues/${pr.number}`,
    number: pr.number,
    state: 'open',
    title: pr.title ?? `Pull request ${pr.number}`,
    body: pr.body === undefined ? '' : pr.body,
    user: userObject(pr.user ?? { login: input.repo.owner }, input),
    draft: pr.draft ?? false,
    labels: [],
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    milestone: null,
    head: { label: `${input.repo.owner}:${pr.headRef}`, ref: pr.headRef, sha: pr.headSha ?? '0'.repeat(40), user: ownerUser, repo: repository },
    base: { label: `${input.repo.owner}:${base}`, ref: base, sha: '1'.repeat(40), user: ownerUser, repo: repository },
  };
}

/** `pull_request_review_comment.created`: a comment on one line of the pull request's diff. */
export function reviewCommentPayload(
  input: CommonInput & {
    pullRequest: PullInput;
    comment: { body: string; path: string; line: number; diff_hunk: string; id?: number; user?: ActorInput; pull_request_review_id?: number; start_line?: number | null; side?: 'LEFT' | 'RIGHT'; in_reply_to_id?: number };
    overrides?: Json;
  },
): Json {
  const api = input.apiUrl ?? 'https://api.github.com';
  const web = input.webUrl ?? 'https://github.com';
  const full = `${input.repo.owner}/${input.repo.name}`;
  const c = input.comment;
  const commentId = c.id ?? 800_000 + input.pullRequest.number;
  const user = c.user ?? input.sender ?? { login: input.repo.owner };
  const url = `${api}/repos/${full}/pulls/comments/${commentId}`;
  const html = `${web}/${full}/pull/${input.pullRequest.number}#discussion_r${commentId}`;
  const pullUrl = `${api}/repos/${full}/pulls/${input.pullRequest.number}`;
  const pr = pullRequestOverride(input.pullRequest, input);
  return webhookPayload(
    'pull_request_review_comment',
    'created',
    { ...input, sender: input.sender ?? user },
    deepMerge(
      {
        pull_request: pr,
        comment: {
          url,
          pull_request_review_id: c.pull_request_review_id ?? 600_000 + input.pullRequest.number,
          id: commentId,
          node_id: Buffer.from(`024:PullRequestReviewComment${commentId}`).toString('base64'),
          diff_hunk: c.diff_hunk,
          path: c.path,
          position: c.line,
          original_position: c.line,
          commit_id: (pr.head as Json).sha,
          original_commit_id: (pr.head as Json).sha,
          user: userObject(user, input),
          body: c.body,
          html_url: html,
          pull_request_url: pullUrl,
          author_association: user.login === input.repo.owner ? 'OWNER' : 'NONE',
          _links: { self: { href: url }, html: { href: html }, pull_request: { href: pullUrl } },
          reactions: { url: `${url}/reactions` },
          start_line: c.start_line ?? null,
          original_start_line: c.start_line ?? null,
          start_side: c.start_line ? (c.side ?? 'RIGHT') : null,
          line: c.line,
          original_line: c.line,
          side: c.side ?? 'RIGHT',
          ...(c.in_reply_to_id !== undefined ? { in_reply_to_id: c.in_reply_to_id } : {}),
        },
      },
      input.overrides ?? {},
    ),
  );
}

/** `pull_request_review.submitted`, by default with state `changes_requested`. */
export function reviewSubmittedPayload(
  input: CommonInput & {
    pullRequest: PullInput;
    review: { body: string | null; state?: 'changes_requested' | 'approved' | 'commented'; id?: number; user?: ActorInput };
    overrides?: Json;
  },
): Json {
  const api = input.apiUrl ?? 'https://api.github.com';
  const web = input.webUrl ?? 'https://github.com';
  const full = `${input.repo.owner}/${input.repo.name}`;
  const r = input.review;
  const reviewId = r.id ?? 600_000 + input.pullRequest.number;
  const user = r.user ?? input.sender ?? { login: input.repo.owner };
  const html = `${web}/${full}/pull/${input.pullRequest.number}#pullrequestreview-${reviewId}`;
  const pullUrl = `${api}/repos/${full}/pulls/${input.pullRequest.number}`;
  const pr = pullRequestOverride(input.pullRequest, input);
  return webhookPayload(
    'pull_request_review',
    'submitted',
    { ...input, sender: input.sender ?? user },
    deepMerge(
      {
        pull_request: pr,
        review: {
          id: reviewId,
          node_id: Buffer.from(`017:PullRequestReview${reviewId}`).toString('base64'),
          user: userObject(user, input),
          body: r.body,
          commit_id: (pr.head as Json).sha,
          state: r.state ?? 'changes_requested',
          html_url: html,
          pull_request_url: pullUrl,
          author_association: user.login === input.repo.owner ? 'OWNER' : 'NONE',
          _links: { html: { href: html }, pull_request: { href: pullUrl } },
        },
      },
      input.overrides ?? {},
    ),
  );
}
