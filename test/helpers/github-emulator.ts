/**
 * A small GitHub REST emulation on 127.0.0.1 for end-to-end tests: the app under test runs as a
 * separate process with `GHE_HOST=<emulator.host>` and `GHE_PROTOCOL=http`, so Probot's octokit
 * talks to `http://127.0.0.1:PORT/api/v3/...` exactly as it would to GitHub Enterprise Server.
 *
 *   const gh = await startGitHubEmulator({ appId: 1, privateKeyPem });
 *   gh.addRepo({ owner: 'acme', name: 'widgets', cloneUrl, files: { '.github/autocoder.yml': 'maxSteps: 3\n' } });
 *   gh.setPermission('acme', 'widgets', 'alice', 'write');
 *   gh.addIssue('acme', 'widgets', { number: 1, title: 'Fix it', body: '...', user: { login: 'alice' } });
 *   // ... drive the app, then look at gh.state.comments, gh.state.pulls, gh.state.requests
 *   await gh.close();
 *
 * It checks what GitHub checks and answers in GitHub's shapes: app JWTs (RS256, `iss`, `exp`)
 * for the `/app/...` endpoints, minted installation tokens everywhere else, 404 for unknown
 * things, 422 validation errors in GitHub's `{ message, errors[] }` form, `Link` pagination.
 * A route it does not know answers 404 and is recorded in `state.requests` like every other
 * request, so a test can see an unexpected call. GraphQL (`POST /api/graphql`, GHE's path) answers
 * the one mutation that marks a pull request ready for review, and a GraphQL error for anything else.
 */
import { createHash, createPublicKey, randomBytes, verify as verifySignature, type KeyObject } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isGraphqlError, parseReadyMutation, type PullRequestField } from './github-graphql.js';

export type Permission = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';
export type UserType = 'User' | 'Bot' | 'Organization';
export type ReactionContent = '+1' | '-1' | 'laugh' | 'confused' | 'heart' | 'hooray' | 'rocket' | 'eyes';

export interface GitHubEmulatorOptions {
  appId: number;
  /** The app's private key (PKCS#1 or PKCS#8 PEM); app JWTs are verified with its public key. */
  privateKeyPem: string;
  /** Default `autocoder`; the bot user is `<slug>[bot]`. */
  appSlug?: string;
  /** Default `<slug>`. */
  appName?: string;
  /** The installation that repositories belong to unless `addRepo` says otherwise. Default 1. */
  installationId?: number;
  /** Permissions granted to minted tokens. Default the ones in app.yml. */
  permissions?: Record<string, string>;
  /** When given, `POST /pulls` answers 422 for a head or base branch that does not exist. */
  branchExists?: (owner: string, repo: string, branch: string) => boolean | Promise<boolean>;
  /**
   * When given, `DELETE /git/refs/heads/<branch>` deletes the branch here (e.g. in the git test
   * server) and answers 204, or 422 "Reference does not exist" when this returns false.
   */
  deleteBranch?: (owner: string, repo: string, branch: string) => boolean | Promise<boolean>;
  /** When given, pull requests' `head.sha` / `base.sha` come from here (e.g. the git test server). */
  branchSha?: (owner: string, repo: string, branch: string) => string | null | undefined | Promise<string | null | undefined>;
  /** Default 0: any free port. */
  port?: number;
}

export interface EmuUser {
  login: string;
  id: number;
  type: UserType;
}

export interface EmuRepo {
  id: number;
  owner: string;
  name: string;
  fullName: string;
  cloneUrl: string;
  defaultBranch: string;
  private: boolean;
  ownerType: UserType;
  installationId: number;
  /** Files on the default branch, served by the contents API; mutate freely. */
  files: Record<string, string>;
  /** Files on other refs (branch names), served when `?ref=` names them. */
  refs: Record<string, Record<string, string>>;
}

export interface EmuIssue {
  owner: string;
  repo: string;
  number: number;
  id: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  user: EmuUser;
  labels: string[];
  locked: boolean;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

export interface EmuPull extends EmuIssue {
  /** The pull request's own id (the issue id is `id`). */
  pullId: number;
  draft: boolean;
  merged: boolean;
  head: { owner: string; ref: string };
  base: { ref: string };
  maintainer_can_modify: boolean;
}

export interface EmuComment {
  id: number;
  owner: string;
  repo: string;
  issueNumber: number;
  body: string;
  user: EmuUser;
  created_at: string;
  updated_at: string;
}

export interface EmuReaction {
  id: number;
  owner: string;
  repo: string;
  subjectType: 'issue' | 'issue_comment' | 'pull_request_review_comment';
  /** The issue or pull request number for `issue`, else the comment id. */
  subjectId: number;
  content: ReactionContent;
  user: EmuUser;
  created_at: string;
}

export interface EmuReviewComment {
  id: number;
  owner: string;
  repo: string;
  pullNumber: number;
  pull_request_review_id: number | null;
  path: string;
  line: number | null;
  start_line: number | null;
  side: 'LEFT' | 'RIGHT';
  diff_hunk: string;
  body: string;
  user: EmuUser;
  commit_id: string;
  in_reply_to_id: number | null;
  created_at: string;
  updated_at: string;
}

export type ReviewState = 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED' | 'PENDING';

export interface EmuReview {
  id: number;
  owner: string;
  repo: string;
  pullNumber: number;
  body: string;
  state: ReviewState;
  user: EmuUser;
  commit_id: string;
  submitted_at: string;
}

export interface EmuToken {
  token: string;
  installationId: number;
  createdAt: string;
  expiresAt: string;
  /** Set by `expireTokens()`. */
  expired: boolean;
  permissions: Record<string, string>;
}

export interface EmuRequest {
  method: string;
  /** Without `/api/v3` and the query string, percent-decoded, e.g. `/repos/acme/widgets/contents/.github/autocoder.yml`. */
  path: string;
  query: Record<string, string>;
  status: number;
  /** The parsed JSON body (or the raw text when it is not JSON; undefined when empty). */
  body: unknown;
  /** Which credential the request carried and whether it was accepted. */
  auth: 'none' | 'app' | 'installation' | 'invalid';
  /** True when no route matched (the 404 of an unexpected call). */
  unmatched: boolean;
}

/** A file of `GET /pulls/:n/files` (GitHub's `diff-entry`); missing fields are filled in. */
export interface EmuPullFile {
  filename: string;
  status?: 'added' | 'removed' | 'modified' | 'renamed' | 'copied' | 'changed' | 'unchanged';
  additions?: number;
  deletions?: number;
  patch?: string;
  previous_filename?: string;
}

export interface GitHubEmulatorState {
  issues: EmuIssue[];
  pulls: EmuPull[];
  comments: EmuComment[];
  reactions: EmuReaction[];
  reviewComments: EmuReviewComment[];
  reviews: EmuReview[];
  tokens: EmuToken[];
  requests: EmuRequest[];
}

export interface UserInput {
  login: string;
  type?: UserType;
  id?: number;
}

export interface GitHubEmulator {
  /** `127.0.0.1:PORT`, for `GHE_HOST`. */
  host: string;
  /** `http://127.0.0.1:PORT/api/v3`. */
  apiUrl: string;
  /** `http://127.0.0.1:PORT`: the base of every `html_url`. */
  webUrl: string;
  appId: number;
  appSlug: string;
  /** `<slug>[bot]`. */
  botLogin: string;
  /** The default installation id. */
  installationId: number;
  addRepo(r: {
    owner: string;
    name: string;
    cloneUrl: string;
    defaultBranch?: string;
    files?: Record<string, string>;
    private?: boolean;
    ownerType?: 'User' | 'Organization';
    installationId?: number;
  }): EmuRepo;
  /** Sets (or, with `null`, removes) a file; `ref` defaults to the default branch. */
  setFile(owner: string, repo: string, path: string, content: string | null, ref?: string): void;
  /** The repository owner is `admin` unless set otherwise; everyone else (any login) `none`. */
  setPermission(owner: string, repo: string, login: string, permission: Permission): void;
  addIssue(owner: string, repo: string, issue: { number?: number; title: string; body?: string | null; user: UserInput; labels?: string[]; state?: 'open' | 'closed' }): EmuIssue;
  /** A pull request that exists before the test starts (e.g. one autocoder opened earlier). */
  addPull(owner: string, repo: string, pull: { number?: number; title: string; body?: string | null; head: string; base?: string; user?: UserInput; draft?: boolean; state?: 'open' | 'closed'; labels?: string[] }): EmuPull;
  addReviewComment(owner: string, repo: string, prNumber: number, c: { id?: number; path: string; line: number; body: string; diff_hunk: string; user: UserInput; pull_request_review_id?: number | null; start_line?: number | null; side?: 'LEFT' | 'RIGHT'; in_reply_to_id?: number | null }): EmuReviewComment;
  addReview(owner: string, repo: string, prNumber: number, r: { id?: number; body?: string; state?: ReviewState; user: UserInput }): EmuReview;
  /** What `GET /pulls/:n/files` answers for this pull request (default: no files). */
  setPullFiles(owner: string, repo: string, prNumber: number, files: EmuPullFile[]): void;
  getRepo(owner: string, repo: string): EmuRepo | undefined;
  getIssue(owner: string, repo: string, number: number): EmuIssue | EmuPull | undefined;
  /** Comments on one issue or pull request, oldest first. */
  commentsOn(owner: string, repo: string, number: number): EmuComment[];
  /** A person edits a comment in the web UI: its body changes; the body before is returned (a webhook's `changes.body.from`). */
  editComment(owner: string, repo: string, id: number, edit: (body: string) => string): { from: string; comment: EmuComment };
  /** Minted, not expired, not invalidated by `expireTokens()`. */
  isValidInstallationToken(token: string): boolean;
  /** Every token minted so far stops working; tokens minted afterwards work. */
  expireTokens(): void;
  /** The next `times` requests whose method and path (without `/api/v3`) match answer `status`. Method `*` matches any. */
  failNext(method: string, pathPattern: RegExp, status: number, times?: number): void;
  /**
   * The next `times` matching requests are carried out (a pull request is created, a comment
   * written), and then answered `status` anyway: GitHub failing after doing the work.
   */
  failAfter(method: string, pathPattern: RegExp, status: number, times?: number): void;
  /** Installation tokens minted from now on expire after `ms` (default one hour), on the API and for `isValidInstallationToken`. */
  setTokenTtl(ms: number): void;
  /** Requests that matched no route. */
  unexpectedRequests(): EmuRequest[];
  state: GitHubEmulatorState;
  close(): Promise<void>;
}

const DEFAULT_PERMISSIONS: Record<string, string> = {
  checks: 'write',
  contents: 'write',
  issues: 'write',
  metadata: 'read',
  pull_requests: 'write',
};
const EVENTS = ['issues', 'issue_comment', 'pull_request', 'pull_request_review', 'pull_request_review_comment'];
const REACTIONS: readonly ReactionContent[] = ['+1', '-1', 'laugh', 'confused', 'heart', 'hooray', 'rocket', 'eyes'];
const MAX_BODY = 65536;
const TOKEN_TTL_MS = 60 * 60 * 1000;
const DOCS = 'https://docs.github.com/rest';

// --- small pure helpers -------------------------------------------------------------------------

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function nodeId(kind: string, id: number): string {
  return Buffer.from(`0:${kind}${id}`).toString('base64').replace(/=+$/, '');
}

function fakeSha(seed: string): string {
  return createHash('sha1').update(seed).digest('hex');
}

function blobSha(content: string): string {
  const bytes = Buffer.from(content, 'utf8');
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

function base64Lines(content: string): string {
  const b64 = Buffer.from(content, 'utf8').toString('base64');
  return (b64.match(/.{1,60}/g) ?? ['']).join('\n') + '\n';
}

function base64UrlDecode(part: string): Buffer {
  return Buffer.from(part.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** GitHub's legacy `permission` field knows only admin, write, read and none. */
function legacyPermission(p: Permission): 'admin' | 'write' | 'read' | 'none' {
  if (p === 'maintain') return 'write';
  if (p === 'triage') return 'read';
  return p;
}

function permissionFlags(p: Permission) {
  const rank = ['none', 'read', 'triage', 'write', 'maintain', 'admin'].indexOf(p);
  return { admin: rank >= 5, maintain: rank >= 4, push: rank >= 3, triage: rank >= 2, pull: rank >= 1 };
}

type RepoRecord = EmuRepo & {
  nextNumber: number;
  permissions: Map<string, Permission>;
  labelIds: Map<string, number>;
  pullFiles: Map<number, EmuPullFile[]>;
};

function randomToken(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('');
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.message));
  }
}

function notFound(): HttpError {
  return new HttpError(404, { message: 'Not Found', documentation_url: DOCS, status: '404' });
}

function badCredentials(): HttpError {
  return new HttpError(401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' });
}

function jwtError(message: string): HttpError {
  return new HttpError(401, { message, documentation_url: DOCS, status: '401' });
}

function validationFailed(errors: Record<string, unknown>[], docs = DOCS): HttpError {
  return new HttpError(422, { message: 'Validation Failed', errors, documentation_url: docs, status: '422' });
}

function invalidRequest(message: string): HttpError {
  return new HttpError(422, { message: `Invalid request.\n\n${message}`, documentation_url: DOCS, status: '422' });
}

function bodyTooLong(resource: string): HttpError {
  return validationFailed([{ resource, code: 'custom', field: 'body', message: `body is too long (maximum is ${MAX_BODY} characters)` }]);
}

function asRecord(body: unknown): Record<string, unknown> {
  return body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}

// --- the server ---------------------------------------------------------------------------------

interface Auth {
  kind: 'app' | 'installation';
  token?: EmuToken;
}

interface RequestContext {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  body: unknown;
  params: string[];
  auth: Auth;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  raw?: string;
}

type Handler = (ctx: RequestContext) => Reply | Promise<Reply>;

interface Route {
  method: string;
  pattern: RegExp;
  auth: 'app' | 'installation';
  handler: Handler;
}

export async function startGitHubEmulator(opts: GitHubEmulatorOptions): Promise<GitHubEmulator> {
  const appId = opts.appId;
  const appSlug = opts.appSlug ?? 'autocoder';
  const appName = opts.appName ?? appSlug;
  const botLogin = `${appSlug}[bot]`;
  const defaultInstallationId = opts.installationId ?? 1;
  const tokenPermissions = opts.permissions ?? DEFAULT_PERMISSIONS;
  const publicKey: KeyObject = createPublicKey(opts.privateKeyPem);

  const state: GitHubEmulatorState = { issues: [], pulls: [], comments: [], reactions: [], reviewComments: [], reviews: [], tokens: [], requests: [] };
  const repos = new Map<string, RepoRecord>();
  const installations = new Map<number, { id: number; account: EmuUser | null; created_at: string }>();
  const users = new Map<string, EmuUser>();
  const failures: { method: string; pattern: RegExp; status: number; remaining: number }[] = [];
  const failuresAfter: { method: string; pattern: RegExp; status: number; remaining: number }[] = [];
  let tokenTtlMs = TOKEN_TTL_MS;
  // Separate ranges per kind, so that an id of the wrong kind (a review comment's id sent to the
  // issue-comment endpoint) finds nothing, as on GitHub.
  const lastId = { user: 1000, repo: 100_000, issue: 1_000_000, pull: 2_000_000, comment: 3_000_000, reviewComment: 4_000_000, review: 5_000_000, reaction: 6_000_000, label: 7_000_000 };
  const id = (kind: keyof typeof lastId): number => ++lastId[kind];

  let apiUrl = '';
  let webUrl = '';

  const bot: EmuUser = { login: botLogin, id: 41_000_000 + appId, type: 'Bot' };
  users.set(botLogin.toLowerCase(), bot);
  const appOwner = ensureUser('autocoder-owner', 'Organization');

  function ensureUser(login: string, type: UserType = 'User', wantedId?: number): EmuUser {
    const key = login.toLowerCase();
    const existing = users.get(key);
    if (existing) return existing;
    const user: EmuUser = { login, id: wantedId ?? id('user'), type: login.endsWith('[bot]') ? 'Bot' : type };
    users.set(key, user);
    return user;
  }

  function userFrom(input: UserInput): EmuUser {
    return ensureUser(input.login, input.type ?? 'User', input.id);
  }

  function installation(installationId: number) {
    let inst = installations.get(installationId);
    if (!inst) {
      inst = { id: installationId, account: null, created_at: now() };
      installations.set(installationId, inst);
    }
    return inst;
  }
  installation(defaultInstallationId);

  function repoKey(owner: string, name: string): string {
    return `${owner}/${name}`.toLowerCase();
  }

  // --- renderers (GitHub's shapes) --------------------------------------------------------------

  function renderUser(u: EmuUser) {
    const url = `${apiUrl}/users/${encodeURIComponent(u.login)}`;
    return {
      login: u.login,
      id: u.id,
      node_id: nodeId(u.type, u.id),
      avatar_url: `${webUrl}/avatars/u/${u.id}?v=4`,
      gravatar_id: '',
      url,
      html_url: u.type === 'Bot' ? `${webUrl}/apps/${u.login.replace(/\[bot\]$/, '')}` : `${webUrl}/${u.login}`,
      followers_url: `${url}/followers`,
      following_url: `${url}/following{/other_user}`,
      gists_url: `${url}/gists{/gist_id}`,
      starred_url: `${url}/starred{/owner}{/repo}`,
      subscriptions_url: `${url}/subscriptions`,
      organizations_url: `${url}/orgs`,
      repos_url: `${url}/repos`,
      events_url: `${url}/events{/privacy}`,
      received_events_url: `${url}/received_events`,
      type: u.type,
      user_view_type: 'public',
      site_admin: false,
    };
  }

  function renderApp() {
    return {
      id: appId,
      slug: appSlug,
      node_id: nodeId('Integration', appId),
      client_id: `Iv1.${fakeSha(String(appId)).slice(0, 16)}`,
      owner: renderUser(appOwner),
      name: appName,
      description: '',
      external_url: `${webUrl}/apps/${appSlug}`,
      html_url: `${webUrl}/apps/${appSlug}`,
      created_at: '2024-01-01T00:00:00Z',
      updated_at: '2024-01-01T00:00:00Z',
      permissions: tokenPermissions,
      events: EVENTS,
      installations_count: installations.size,
    };
  }

  function renderInstallation(installationId: number) {
    const inst = installation(installationId);
    const account = inst.account ?? appOwner;
    return {
      id: inst.id,
      account: renderUser(account),
      repository_selection: 'all',
      access_tokens_url: `${apiUrl}/app/installations/${inst.id}/access_tokens`,
      repositories_url: `${apiUrl}/installation/repositories`,
      html_url: `${webUrl}/${account.type === 'Organization' ? `organizations/${account.login}/` : ''}settings/installations/${inst.id}`,
      app_id: appId,
      app_slug: appSlug,
      target_id: account.id,
      target_type: account.type === 'Organization' ? 'Organization' : 'User',
      permissions: tokenPermissions,
      events: EVENTS,
      created_at: inst.created_at,
      updated_at: inst.created_at,
      single_file_name: null,
      has_multiple_single_files: false,
      single_file_paths: [],
      suspended_by: null,
      suspended_at: null,
    };
  }

  function renderRepo(r: EmuRepo) {
    const url = `${apiUrl}/repos/${r.fullName}`;
    const owner = ensureUser(r.owner, r.ownerType);
    return {
      id: r.id,
      node_id: nodeId('Repository', r.id),
      name: r.name,
      full_name: r.fullName,
      private: r.private,
      owner: renderUser(owner),
      html_url: `${webUrl}/${r.fullName}`,
      description: null,
      fork: false,
      url,
      issues_url: `${url}/issues{/number}`,
      pulls_url: `${url}/pulls{/number}`,
      contents_url: `${url}/contents/{+path}`,
      labels_url: `${url}/labels{/name}`,
      comments_url: `${url}/comments{/number}`,
      issue_comment_url: `${url}/issues/comments{/number}`,
      git_url: `${r.cloneUrl.replace(/^https?:/, 'git:')}`,
      ssh_url: `git@127.0.0.1:${r.fullName}.git`,
      clone_url: r.cloneUrl,
      svn_url: `${webUrl}/${r.fullName}`,
      homepage: null,
      size: 0,
      stargazers_count: 0,
      watchers_count: 0,
      language: null,
      has_issues: true,
      has_projects: false,
      has_downloads: true,
      has_wiki: false,
      has_pages: false,
      has_discussions: false,
      forks_count: 0,
      mirror_url: null,
      archived: false,
      disabled: false,
      open_issues_count: state.issues.filter((i) => i.owner === r.owner && i.repo === r.name && i.state === 'open').length,
      license: null,
      allow_forking: true,
      is_template: false,
      web_commit_signoff_required: false,
      topics: [],
      visibility: r.private ? 'private' : 'public',
      forks: 0,
      open_issues: state.issues.filter((i) => i.owner === r.owner && i.repo === r.name && i.state === 'open').length,
      watchers: 0,
      default_branch: r.defaultBranch,
      created_at: '2024-01-01T00:00:00Z',
      updated_at: '2024-01-01T00:00:00Z',
      pushed_at: '2024-01-01T00:00:00Z',
    };
  }

  function renderLabel(r: RepoRecord, name: string) {
    let labelId = r.labelIds.get(name.toLowerCase());
    if (labelId === undefined) {
      labelId = id('label');
      r.labelIds.set(name.toLowerCase(), labelId);
    }
    return {
      id: labelId,
      node_id: nodeId('Label', labelId),
      url: `${apiUrl}/repos/${r.fullName}/labels/${encodeURIComponent(name)}`,
      name,
      color: 'ededed',
      default: false,
      description: null,
    };
  }

  function reactionRollup(subjectType: EmuReaction['subjectType'], owner: string, repo: string, subjectId: number, url: string) {
    const mine = state.reactions.filter((x) => x.subjectType === subjectType && x.subjectId === subjectId && x.owner === owner && x.repo === repo);
    const rollup: Record<string, unknown> = { url: `${url}/reactions`, total_count: mine.length };
    for (const c of REACTIONS) rollup[c] = mine.filter((x) => x.content === c).length;
    return rollup;
  }

  function authorAssociation(r: RepoRecord, u: EmuUser): string {
    if (u.type === 'Bot') return 'NONE';
    if (u.login.toLowerCase() === r.owner.toLowerCase()) return 'OWNER';
    const p = r.permissions.get(u.login.toLowerCase());
    return p && p !== 'none' ? 'COLLABORATOR' : 'NONE';
  }

  function renderIssue(r: RepoRecord, i: EmuIssue | EmuPull) {
    const url = `${apiUrl}/repos/${r.fullName}/issues/${i.number}`;
    const isPull = 'pullId' in i;
    return {
      url,
      repository_url: `${apiUrl}/repos/${r.fullName}`,
      labels_url: `${url}/labels{/name}`,
      comments_url: `${url}/comments`,
      events_url: `${url}/events`,
      html_url: `${webUrl}/${r.fullName}/${isPull ? 'pull' : 'issues'}/${i.number}`,
      id: i.id,
      node_id: nodeId(isPull ? 'PullRequest' : 'Issue', i.id),
      number: i.number,
      title: i.title,
      user: renderUser(i.user),
      labels: i.labels.map((l) => renderLabel(r, l)),
      state: i.state,
      locked: i.locked,
      assignee: null,
      assignees: [],
      milestone: null,
      comments: state.comments.filter((c) => c.owner === i.owner && c.repo === i.repo && c.issueNumber === i.number).length,
      created_at: i.created_at,
      updated_at: i.updated_at,
      closed_at: i.closed_at,
      author_association: authorAssociation(r, i.user),
      active_lock_reason: null,
      ...(isPull
        ? {
            draft: (i as EmuPull).draft,
            pull_request: {
              url: `${apiUrl}/repos/${r.fullName}/pulls/${i.number}`,
              html_url: `${webUrl}/${r.fullName}/pull/${i.number}`,
              diff_url: `${webUrl}/${r.fullName}/pull/${i.number}.diff`,
              patch_url: `${webUrl}/${r.fullName}/pull/${i.number}.patch`,
              merged_at: null,
            },
          }
        : {}),
      body: i.body,
      reactions: reactionRollup('issue', i.owner, i.repo, i.number, url),
      timeline_url: `${url}/timeline`,
      performed_via_github_app: null,
      state_reason: i.state === 'closed' ? 'completed' : null,
    };
  }

  function renderComment(r: RepoRecord, c: EmuComment) {
    const url = `${apiUrl}/repos/${r.fullName}/issues/comments/${c.id}`;
    const item = findItem(r, c.issueNumber);
    const kind = item && 'pullId' in item ? 'pull' : 'issues';
    return {
      url,
      html_url: `${webUrl}/${r.fullName}/${kind}/${c.issueNumber}#issuecomment-${c.id}`,
      issue_url: `${apiUrl}/repos/${r.fullName}/issues/${c.issueNumber}`,
      id: c.id,
      node_id: nodeId('IssueComment', c.id),
      user: renderUser(c.user),
      created_at: c.created_at,
      updated_at: c.updated_at,
      author_association: authorAssociation(r, c.user),
      body: c.body,
      reactions: reactionRollup('issue_comment', c.owner, c.repo, c.id, url),
      performed_via_github_app: c.user.login === botLogin ? renderApp() : null,
    };
  }

  function renderReaction(x: EmuReaction) {
    return { id: x.id, node_id: nodeId('Reaction', x.id), user: renderUser(x.user), content: x.content, created_at: x.created_at };
  }

  async function branchShaOf(owner: string, repo: string, ref: string): Promise<string> {
    const sha = opts.branchSha ? await opts.branchSha(owner, repo, ref) : undefined;
    return sha ?? fakeSha(`${owner}/${repo}:${ref}`);
  }

  async function renderPull(r: RepoRecord, p: EmuPull, full: boolean) {
    const url = `${apiUrl}/repos/${r.fullName}/pulls/${p.number}`;
    const html = `${webUrl}/${r.fullName}/pull/${p.number}`;
    const headOwner = ensureUser(p.head.owner, p.head.owner === r.owner ? r.ownerType : 'User');
    const baseOwner = ensureUser(r.owner, r.ownerType);
    const [headSha, baseSha] = await Promise.all([branchShaOf(r.owner, r.name, p.head.ref), branchShaOf(r.owner, r.name, p.base.ref)]);
    const simple = {
      url,
      id: p.pullId,
      node_id: nodeId('PullRequest', p.pullId),
      html_url: html,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      issue_url: `${apiUrl}/repos/${r.fullName}/issues/${p.number}`,
      number: p.number,
      state: p.state,
      locked: p.locked,
      title: p.title,
      user: renderUser(p.user),
      body: p.body,
      created_at: p.created_at,
      updated_at: p.updated_at,
      closed_at: p.closed_at,
      merged_at: p.merged ? p.closed_at : null,
      merge_commit_sha: null,
      assignee: null,
      assignees: [],
      requested_reviewers: [],
      requested_teams: [],
      labels: p.labels.map((l) => renderLabel(r, l)),
      milestone: null,
      draft: p.draft,
      commits_url: `${url}/commits`,
      review_comments_url: `${url}/comments`,
      review_comment_url: `${apiUrl}/repos/${r.fullName}/pulls/comments{/number}`,
      comments_url: `${apiUrl}/repos/${r.fullName}/issues/${p.number}/comments`,
      statuses_url: `${apiUrl}/repos/${r.fullName}/statuses/${headSha}`,
      head: { label: `${p.head.owner}:${p.head.ref}`, ref: p.head.ref, sha: headSha, user: renderUser(headOwner), repo: renderRepo(r) },
      base: { label: `${r.owner}:${p.base.ref}`, ref: p.base.ref, sha: baseSha, user: renderUser(baseOwner), repo: renderRepo(r) },
      _links: {
        self: { href: url },
        html: { href: html },
        issue: { href: `${apiUrl}/repos/${r.fullName}/issues/${p.number}` },
        comments: { href: `${apiUrl}/repos/${r.fullName}/issues/${p.number}/comments` },
        review_comments: { href: `${url}/comments` },
        review_comment: { href: `${apiUrl}/repos/${r.fullName}/pulls/comments{/number}` },
        commits: { href: `${url}/commits` },
        statuses: { href: `${apiUrl}/repos/${r.fullName}/statuses/${headSha}` },
      },
      author_association: authorAssociation(r, p.user),
      auto_merge: null,
      active_lock_reason: null,
    };
    if (!full) return simple;
    const files = r.pullFiles.get(p.number) ?? [];
    return {
      ...simple,
      merged: p.merged,
      mergeable: p.state === 'open' ? true : null,
      rebaseable: p.state === 'open' ? true : null,
      mergeable_state: p.state === 'open' ? (p.draft ? 'draft' : 'clean') : 'unknown',
      merged_by: null,
      comments: state.comments.filter((c) => c.owner === p.owner && c.repo === p.repo && c.issueNumber === p.number).length,
      review_comments: state.reviewComments.filter((c) => c.owner === p.owner && c.repo === p.repo && c.pullNumber === p.number).length,
      maintainer_can_modify: p.maintainer_can_modify,
      commits: 1,
      additions: files.reduce((n, f) => n + (f.additions ?? 0), 0),
      deletions: files.reduce((n, f) => n + (f.deletions ?? 0), 0),
      changed_files: files.length,
    };
  }

  function renderReviewComment(r: RepoRecord, c: EmuReviewComment) {
    const url = `${apiUrl}/repos/${r.fullName}/pulls/comments/${c.id}`;
    const html = `${webUrl}/${r.fullName}/pull/${c.pullNumber}#discussion_r${c.id}`;
    const pullUrl = `${apiUrl}/repos/${r.fullName}/pulls/${c.pullNumber}`;
    return {
      url,
      pull_request_review_id: c.pull_request_review_id,
      id: c.id,
      node_id: nodeId('PullRequestReviewComment', c.id),
      diff_hunk: c.diff_hunk,
      path: c.path,
      position: c.line,
      original_position: c.line,
      commit_id: c.commit_id,
      original_commit_id: c.commit_id,
      ...(c.in_reply_to_id !== null ? { in_reply_to_id: c.in_reply_to_id } : {}),
      user: renderUser(c.user),
      body: c.body,
      created_at: c.created_at,
      updated_at: c.updated_at,
      html_url: html,
      pull_request_url: pullUrl,
      author_association: authorAssociation(r, c.user),
      _links: { self: { href: url }, html: { href: html }, pull_request: { href: pullUrl } },
      reactions: reactionRollup('pull_request_review_comment', c.owner, c.repo, c.id, url),
      start_line: c.start_line,
      original_start_line: c.start_line,
      start_side: c.start_line === null ? null : c.side,
      line: c.line,
      original_line: c.line,
      side: c.side,
      subject_type: 'line',
    };
  }

  function renderReview(r: RepoRecord, v: EmuReview) {
    const html = `${webUrl}/${r.fullName}/pull/${v.pullNumber}#pullrequestreview-${v.id}`;
    const pullUrl = `${apiUrl}/repos/${r.fullName}/pulls/${v.pullNumber}`;
    return {
      id: v.id,
      node_id: nodeId('PullRequestReview', v.id),
      user: renderUser(v.user),
      body: v.body,
      state: v.state,
      html_url: html,
      pull_request_url: pullUrl,
      author_association: authorAssociation(r, v.user),
      _links: { html: { href: html }, pull_request: { href: pullUrl } },
      submitted_at: v.submitted_at,
      commit_id: v.commit_id,
    };
  }

  function renderPullFile(r: RepoRecord, f: EmuPullFile) {
    const additions = f.additions ?? 0;
    const deletions = f.deletions ?? 0;
    return {
      sha: fakeSha(`${r.fullName}:${f.filename}`),
      filename: f.filename,
      status: f.status ?? 'modified',
      additions,
      deletions,
      changes: additions + deletions,
      blob_url: `${webUrl}/${r.fullName}/blob/HEAD/${encodeURI(f.filename)}`,
      raw_url: `${webUrl}/${r.fullName}/raw/HEAD/${encodeURI(f.filename)}`,
      contents_url: `${apiUrl}/repos/${r.fullName}/contents/${encodeURI(f.filename)}`,
      ...(f.patch !== undefined ? { patch: f.patch } : {}),
      ...(f.previous_filename !== undefined ? { previous_filename: f.previous_filename } : {}),
    };
  }

  // --- lookups ----------------------------------------------------------------------------------

  function mustRepo(owner: string, name: string): RepoRecord {
    const r = repos.get(repoKey(owner, name));
    if (!r) throw new Error(`github-emulator: no repository ${owner}/${name}; call addRepo first`);
    return r;
  }

  /** The repository of a request, checked against the token's installation. */
  function repoFor(ctx: RequestContext): RepoRecord {
    const r = repos.get(repoKey(ctx.params[0], ctx.params[1]));
    if (!r) throw notFound();
    if (ctx.auth.kind === 'installation' && ctx.auth.token && ctx.auth.token.installationId !== r.installationId) throw notFound();
    return r;
  }

  function findItem(r: EmuRepo, number: number): EmuIssue | EmuPull | undefined {
    return (
      state.pulls.find((p) => p.owner === r.owner && p.repo === r.name && p.number === number) ??
      state.issues.find((i) => i.owner === r.owner && i.repo === r.name && i.number === number)
    );
  }

  function itemFor(r: RepoRecord, raw: string): EmuIssue | EmuPull {
    const item = findItem(r, Number(raw));
    if (!item) throw notFound();
    return item;
  }

  function pullFor(r: RepoRecord, raw: string): EmuPull {
    const p = state.pulls.find((x) => x.owner === r.owner && x.repo === r.name && x.number === Number(raw));
    if (!p) throw notFound();
    return p;
  }

  function commentFor(r: RepoRecord, raw: string): EmuComment {
    const c = state.comments.find((x) => x.owner === r.owner && x.repo === r.name && x.id === Number(raw));
    if (!c) throw notFound();
    return c;
  }

  function reviewCommentFor(r: RepoRecord, raw: string): EmuReviewComment {
    const c = state.reviewComments.find((x) => x.owner === r.owner && x.repo === r.name && x.id === Number(raw));
    if (!c) throw notFound();
    return c;
  }

  function actor(ctx: RequestContext): EmuUser {
    return ctx.auth.kind === 'installation' ? bot : appOwner;
  }

  function allocateNumber(r: RepoRecord, wanted?: number): number {
    if (wanted !== undefined) {
      if (findItem(r, wanted)) throw new Error(`github-emulator: ${r.fullName}#${wanted} exists already`);
      r.nextNumber = Math.max(r.nextNumber, wanted + 1);
      return wanted;
    }
    return r.nextNumber++;
  }

  function paginate(ctx: RequestContext, items: unknown[]): Reply {
    const perPage = Math.min(Math.max(Number(ctx.query.per_page) || 30, 1), 100);
    const page = Math.max(Number(ctx.query.page) || 1, 1);
    const last = Math.max(Math.ceil(items.length / perPage), 1);
    const link = (p: number) => {
      const q = new URLSearchParams({ ...ctx.query, per_page: String(perPage), page: String(p) });
      return `${apiUrl}${ctx.path}?${q.toString()}`;
    };
    const links: string[] = [];
    if (page < last) links.push(`<${link(page + 1)}>; rel="next"`, `<${link(last)}>; rel="last"`);
    if (page > 1) links.push(`<${link(1)}>; rel="first"`, `<${link(page - 1)}>; rel="prev"`);
    return { status: 200, body: items.slice((page - 1) * perPage, page * perPage), headers: links.length ? { link: links.join(', ') } : {} };
  }

  function addReaction(ctx: RequestContext, r: RepoRecord, subjectType: EmuReaction['subjectType'], subjectId: number): Reply {
    const content = asRecord(ctx.body).content;
    if (typeof content !== 'string' || !(REACTIONS as readonly string[]).includes(content)) {
      throw validationFailed([{ resource: 'Reaction', code: 'invalid', field: 'content' }], `${DOCS}/reactions/reactions`);
    }
    const user = actor(ctx);
    const existing = state.reactions.find(
      (x) => x.owner === r.owner && x.repo === r.name && x.subjectType === subjectType && x.subjectId === subjectId && x.content === content && x.user.id === user.id,
    );
    if (existing) return { status: 200, body: renderReaction(existing) };
    const reaction: EmuReaction = { id: id('reaction'), owner: r.owner, repo: r.name, subjectType, subjectId, content: content as ReactionContent, user, created_at: now() };
    state.reactions.push(reaction);
    return { status: 201, body: renderReaction(reaction) };
  }

  function listReactions(ctx: RequestContext, r: RepoRecord, subjectType: EmuReaction['subjectType'], subjectId: number): Reply {
    const list = state.reactions.filter(
      (x) => x.owner === r.owner && x.repo === r.name && x.subjectType === subjectType && x.subjectId === subjectId && (!ctx.query.content || x.content === ctx.query.content),
    );
    return paginate(ctx, list.map(renderReaction));
  }

  function labelNames(body: unknown): string[] {
    const list = Array.isArray(body) ? body : asRecord(body).labels;
    if (!Array.isArray(list)) throw invalidRequest('"labels" wasn\'t supplied.');
    return list.map((l) => (typeof l === 'string' ? l : String(asRecord(l).name ?? '')));
  }

  function touch(item: EmuIssue): void {
    item.updated_at = now();
  }

  function requireBody(body: unknown, resource: string): string {
    const text = asRecord(body).body;
    if (typeof text !== 'string') throw invalidRequest('"body" wasn\'t supplied.');
    if (text.length > MAX_BODY) throw bodyTooLong(resource);
    return text;
  }

  async function branchExists(owner: string, repo: string, branch: string): Promise<boolean> {
    return opts.branchExists ? await opts.branchExists(owner, repo, branch) : true;
  }

  // --- JWT --------------------------------------------------------------------------------------

  function verifyAppJwt(jwt: string): void {
    const parts = jwt.split('.');
    if (parts.length !== 3) throw jwtError('A JSON web token could not be decoded');
    let header: Record<string, unknown>;
    let payload: Record<string, unknown>;
    try {
      header = JSON.parse(base64UrlDecode(parts[0]).toString('utf8')) as Record<string, unknown>;
      payload = JSON.parse(base64UrlDecode(parts[1]).toString('utf8')) as Record<string, unknown>;
    } catch {
      throw jwtError('A JSON web token could not be decoded');
    }
    if (header.alg !== 'RS256') throw jwtError('A JSON web token could not be decoded');
    const signed = verifySignature('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), publicKey, base64UrlDecode(parts[2]));
    if (!signed) throw jwtError('A JSON web token could not be decoded');
    if (String(payload.iss) !== String(appId)) throw jwtError('A JSON web token could not be decoded');
    const t = Math.floor(Date.now() / 1000);
    const { iat, exp } = payload;
    if (typeof iat !== 'number' || !Number.isInteger(iat) || iat > t + 60) {
      throw jwtError("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued.");
    }
    if (typeof exp !== 'number' || exp <= t) {
      throw jwtError("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires.");
    }
    if (exp > t + 600 + 60) throw jwtError("'Expiration time' claim ('exp') is too far in the future.");
  }

  function tokenValid(t: EmuToken | undefined): t is EmuToken {
    return !!t && !t.expired && Date.parse(t.expiresAt) > Date.now();
  }

  function authenticate(route: Route, headers: IncomingMessage['headers']): Auth {
    const header = headers.authorization ?? '';
    const m = /^(token|bearer)\s+(\S+)$/i.exec(header);
    if (route.auth === 'app') {
      if (!m) throw jwtError('A JSON web token could not be decoded');
      verifyAppJwt(m[2]);
      return { kind: 'app' };
    }
    if (!m) throw new HttpError(401, { message: 'Requires authentication', documentation_url: DOCS, status: '401' });
    const token = state.tokens.find((t) => t.token === m[2]);
    if (!tokenValid(token)) throw badCredentials();
    return { kind: 'installation', token };
  }

  // --- routes -----------------------------------------------------------------------------------

  const routes: Route[] = [];
  const seg = '([^/]+)';
  const on = (method: string, path: string, handler: Handler, auth: Route['auth'] = 'installation') => {
    const source = path.replace(/:[a-z_]+\*/g, '(.*)').replace(/:[a-z_]+/g, seg);
    routes.push({ method, pattern: new RegExp(`^${source}$`), auth, handler });
  };
  const R = '/repos/:owner/:repo';

  // App (JWT) endpoints
  on('GET', '/app', () => ({ status: 200, body: renderApp() }), 'app');
  on('GET', '/app/installations', (ctx) => paginate(ctx, [...installations.keys()].map(renderInstallation)), 'app');
  on('GET', '/app/installations/:id', (ctx) => {
    if (!installations.has(Number(ctx.params[0]))) throw notFound();
    return { status: 200, body: renderInstallation(Number(ctx.params[0])) };
  }, 'app');
  on('POST', '/app/installations/:id/access_tokens', (ctx) => {
    const installationId = Number(ctx.params[0]);
    if (!installations.has(installationId)) throw notFound();
    const body = asRecord(ctx.body);
    const requested = asRecord(body.permissions);
    const permissions = Object.keys(requested).length ? (requested as Record<string, string>) : { ...tokenPermissions };
    const names = Array.isArray(body.repositories) ? (body.repositories as unknown[]).map(String) : undefined;
    const ids = Array.isArray(body.repository_ids) ? (body.repository_ids as unknown[]).map(Number) : undefined;
    const own = [...repos.values()].filter((r) => r.installationId === installationId);
    const selected = names || ids ? own.filter((r) => names?.includes(r.name) || ids?.includes(r.id)) : undefined;
    if (selected && selected.length !== (names?.length ?? 0) + (ids?.length ?? 0)) {
      throw new HttpError(422, { message: 'There is at least one repository that does not exist or is not accessible to the parent installation.', documentation_url: DOCS, status: '422' });
    }
    const token: EmuToken = {
      token: 'ghs_' + randomToken(36),
      installationId,
      createdAt: now(),
      expiresAt: new Date(Date.now() + tokenTtlMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      expired: false,
      permissions,
    };
    state.tokens.push(token);
    return {
      status: 201,
      body: {
        token: token.token,
        expires_at: token.expiresAt,
        permissions,
        repository_selection: selected ? 'selected' : 'all',
        ...(selected ? { repositories: selected.map(renderRepo) } : {}),
      },
    };
  }, 'app');
  on('GET', `${R}/installation`, (ctx) => {
    const r = repos.get(repoKey(ctx.params[0], ctx.params[1]));
    if (!r) throw notFound();
    return { status: 200, body: renderInstallation(r.installationId) };
  }, 'app');

  // Users
  on('GET', '/users/:login', (ctx) => {
    const u = users.get(ctx.params[0].toLowerCase());
    if (!u) throw notFound();
    return { status: 200, body: { ...renderUser(u), name: null, company: null, blog: '', location: null, email: null, bio: null, public_repos: 0, followers: 0, following: 0, created_at: '2024-01-01T00:00:00Z', updated_at: '2024-01-01T00:00:00Z' } };
  });

  // Repositories
  on('GET', R, (ctx) => ({ status: 200, body: renderRepo(repoFor(ctx)) }));
  on('GET', `${R}/collaborators/:login/permission`, (ctx) => {
    const r = repoFor(ctx);
    const login = ctx.params[2];
    // Any login is taken to exist: a user the test never mentioned is simply not a collaborator.
    const u = ensureUser(login);
    const p = r.permissions.get(login.toLowerCase()) ?? (login.toLowerCase() === r.owner.toLowerCase() ? 'admin' : 'none');
    return {
      status: 200,
      body: { permission: legacyPermission(p), role_name: p, user: { ...renderUser(u), permissions: permissionFlags(p), role_name: p } },
    };
  });
  on('DELETE', `${R}/git/refs/:ref*`, async (ctx) => {
    const r = repoFor(ctx);
    const ref = ctx.params[2];
    if (!opts.deleteBranch || !ref.startsWith('heads/')) throw notFound();
    if (!(await opts.deleteBranch(r.owner, r.name, ref.slice('heads/'.length)))) {
      return { status: 422, body: { message: 'Reference does not exist', documentation_url: DOCS, status: '422' } };
    }
    return { status: 204 };
  });
  on('GET', `${R}/contents`, (ctx) => contents(ctx, ''));
  on('GET', `${R}/contents/:path*`, (ctx) => contents(ctx, ctx.params[2]));

  function contents(ctx: RequestContext, rawPath: string): Reply {
    const r = repoFor(ctx);
    const path = rawPath.replace(/^\/+|\/+$/g, '');
    const ref = ctx.query.ref;
    const files = !ref || ref === r.defaultBranch || ref === `refs/heads/${r.defaultBranch}` ? r.files : r.refs[ref.replace(/^refs\/heads\//, '')];
    if (!files) throw new HttpError(404, { message: `No commit found for the ref ${ref}`, documentation_url: DOCS, status: '404' });
    const selfUrl = (p: string) => `${apiUrl}/repos/${r.fullName}/contents/${encodeURI(p)}?ref=${encodeURIComponent(ref ?? r.defaultBranch)}`;
    const branch = ref ?? r.defaultBranch;
    const entry = (p: string, type: 'file' | 'dir') => {
      const content = files[p];
      const sha = type === 'file' ? blobSha(content) : fakeSha(`tree:${p}`);
      const html = `${webUrl}/${r.fullName}/${type === 'file' ? 'blob' : 'tree'}/${encodeURI(branch)}/${encodeURI(p)}`;
      const git = `${apiUrl}/repos/${r.fullName}/git/${type === 'file' ? 'blobs' : 'trees'}/${sha}`;
      return {
        name: p.split('/').pop() ?? p,
        path: p,
        sha,
        size: type === 'file' ? Buffer.byteLength(content, 'utf8') : 0,
        url: selfUrl(p),
        html_url: html,
        git_url: git,
        download_url: type === 'file' ? `${webUrl}/${r.fullName}/raw/${encodeURI(branch)}/${encodeURI(p)}` : null,
        type,
        _links: { self: selfUrl(p), git, html },
      };
    };
    const accept = String(ctx.headers.accept ?? '');
    if (path && Object.prototype.hasOwnProperty.call(files, path)) {
      if (/application\/vnd\.github(\.v3)?\.raw/.test(accept)) {
        return { status: 200, raw: files[path], headers: { 'content-type': 'text/plain; charset=utf-8', 'x-github-media-type': 'github.v3; param=raw' } };
      }
      return { status: 200, body: { ...entry(path, 'file'), content: base64Lines(files[path]), encoding: 'base64' } };
    }
    const prefix = path ? `${path}/` : '';
    const children = new Map<string, 'file' | 'dir'>();
    for (const p of Object.keys(files)) {
      if (!p.startsWith(prefix)) continue;
      const rest = p.slice(prefix.length).split('/');
      children.set(prefix + rest[0], rest.length > 1 ? 'dir' : 'file');
    }
    if (!children.size) throw notFound();
    const list = [...children.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([p, type]) => entry(p, type));
    return { status: 200, body: list };
  }

  // Issues
  on('GET', `${R}/issues/:number`, (ctx) => {
    const r = repoFor(ctx);
    return { status: 200, body: renderIssue(r, itemFor(r, ctx.params[2])) };
  });
  on('PATCH', `${R}/issues/:number`, (ctx) => {
    const r = repoFor(ctx);
    const item = itemFor(r, ctx.params[2]);
    const body = asRecord(ctx.body);
    if (typeof body.body === 'string' && body.body.length > MAX_BODY) throw bodyTooLong('Issue');
    if (typeof body.title === 'string') item.title = body.title;
    if (typeof body.body === 'string' || body.body === null) item.body = body.body;
    if (body.state === 'open' || body.state === 'closed') setState(item, body.state);
    if (Array.isArray(body.labels)) item.labels = labelNames(body);
    touch(item);
    return { status: 200, body: renderIssue(r, item) };
  });
  on('GET', `${R}/issues/:number/comments`, (ctx) => {
    const r = repoFor(ctx);
    const item = itemFor(r, ctx.params[2]);
    const since = ctx.query.since ? Date.parse(ctx.query.since) : undefined;
    const list = state.comments
      .filter((c) => c.owner === r.owner && c.repo === r.name && c.issueNumber === item.number)
      .filter((c) => since === undefined || Date.parse(c.updated_at) >= since)
      .sort((a, b) => a.id - b.id);
    return paginate(ctx, list.map((c) => renderComment(r, c)));
  });
  on('POST', `${R}/issues/:number/comments`, (ctx) => {
    const r = repoFor(ctx);
    const item = itemFor(r, ctx.params[2]);
    const text = requireBody(ctx.body, 'IssueComment');
    const t = now();
    const c: EmuComment = { id: id('comment'), owner: r.owner, repo: r.name, issueNumber: item.number, body: text, user: actor(ctx), created_at: t, updated_at: t };
    state.comments.push(c);
    touch(item);
    const rendered = renderComment(r, c);
    return { status: 201, body: rendered, headers: { location: rendered.url } };
  });
  on('GET', `${R}/issues/comments/:id`, (ctx) => {
    const r = repoFor(ctx);
    return { status: 200, body: renderComment(r, commentFor(r, ctx.params[2])) };
  });
  on('PATCH', `${R}/issues/comments/:id`, (ctx) => {
    const r = repoFor(ctx);
    const c = commentFor(r, ctx.params[2]);
    c.body = requireBody(ctx.body, 'IssueComment');
    c.updated_at = now();
    return { status: 200, body: renderComment(r, c) };
  });
  on('DELETE', `${R}/issues/comments/:id`, (ctx) => {
    const r = repoFor(ctx);
    const c = commentFor(r, ctx.params[2]);
    state.comments.splice(state.comments.indexOf(c), 1);
    return { status: 204 };
  });
  on('GET', `${R}/issues/:number/reactions`, (ctx) => {
    const r = repoFor(ctx);
    return listReactions(ctx, r, 'issue', itemFor(r, ctx.params[2]).number);
  });
  on('POST', `${R}/issues/:number/reactions`, (ctx) => {
    const r = repoFor(ctx);
    return addReaction(ctx, r, 'issue', itemFor(r, ctx.params[2]).number);
  });
  on('GET', `${R}/issues/comments/:id/reactions`, (ctx) => {
    const r = repoFor(ctx);
    return listReactions(ctx, r, 'issue_comment', commentFor(r, ctx.params[2]).id);
  });
  on('POST', `${R}/issues/comments/:id/reactions`, (ctx) => {
    const r = repoFor(ctx);
    return addReaction(ctx, r, 'issue_comment', commentFor(r, ctx.params[2]).id);
  });
  on('GET', `${R}/pulls/comments/:id/reactions`, (ctx) => {
    const r = repoFor(ctx);
    return listReactions(ctx, r, 'pull_request_review_comment', reviewCommentFor(r, ctx.params[2]).id);
  });
  on('POST', `${R}/pulls/comments/:id/reactions`, (ctx) => {
    const r = repoFor(ctx);
    return addReaction(ctx, r, 'pull_request_review_comment', reviewCommentFor(r, ctx.params[2]).id);
  });
  on('GET', `${R}/issues/:number/labels`, (ctx) => {
    const r = repoFor(ctx);
    return paginate(ctx, itemFor(r, ctx.params[2]).labels.map((l) => renderLabel(r, l)));
  });
  on('POST', `${R}/issues/:number/labels`, (ctx) => {
    const r = repoFor(ctx);
    const item = itemFor(r, ctx.params[2]);
    for (const name of labelNames(ctx.body)) {
      if (!item.labels.some((l) => l.toLowerCase() === name.toLowerCase())) item.labels.push(name);
    }
    touch(item);
    return { status: 200, body: item.labels.map((l) => renderLabel(r, l)) };
  });
  on('PUT', `${R}/issues/:number/labels`, (ctx) => {
    const r = repoFor(ctx);
    const item = itemFor(r, ctx.params[2]);
    item.labels = [...new Set(labelNames(ctx.body))];
    touch(item);
    return { status: 200, body: item.labels.map((l) => renderLabel(r, l)) };
  });
  on('DELETE', `${R}/issues/:number/labels/:name`, (ctx) => {
    const r = repoFor(ctx);
    const item = itemFor(r, ctx.params[2]);
    const name = ctx.params[3].toLowerCase();
    const index = item.labels.findIndex((l) => l.toLowerCase() === name);
    if (index < 0) throw new HttpError(404, { message: 'Label does not exist', documentation_url: DOCS, status: '404' });
    item.labels.splice(index, 1);
    touch(item);
    return { status: 200, body: item.labels.map((l) => renderLabel(r, l)) };
  });

  // Pull requests
  on('GET', `${R}/pulls`, async (ctx) => {
    const r = repoFor(ctx);
    const wanted = ctx.query.state ?? 'open';
    if (!['open', 'closed', 'all'].includes(wanted)) throw validationFailed([{ resource: 'Search', field: 'state', code: 'invalid' }]);
    // GitHub ignores a `head` without the `owner:` prefix.
    const head = ctx.query.head?.includes(':') ? ctx.query.head.split(':') : undefined;
    let list = state.pulls
      .filter((p) => p.owner === r.owner && p.repo === r.name)
      .filter((p) => wanted === 'all' || p.state === wanted)
      .filter((p) => !head || (p.head.owner.toLowerCase() === head[0].toLowerCase() && p.head.ref === head.slice(1).join(':')))
      .filter((p) => !ctx.query.base || p.base.ref === ctx.query.base);
    const sort = ctx.query.sort ?? 'created';
    const key = (p: EmuPull) => (sort === 'updated' ? Date.parse(p.updated_at) * 1e6 + p.number : p.number);
    const direction = ctx.query.direction ?? (sort === 'created' || sort === 'updated' ? 'desc' : 'asc');
    list = list.sort((a, b) => (direction === 'asc' ? key(a) - key(b) : key(b) - key(a)));
    const rendered = await Promise.all(list.map((p) => renderPull(r, p, false)));
    return paginate(ctx, rendered);
  });
  on('POST', `${R}/pulls`, async (ctx) => {
    const r = repoFor(ctx);
    const body = asRecord(ctx.body);
    const docs = `${DOCS}/pulls/pulls#create-a-pull-request`;
    const missing = ['title', 'head', 'base'].filter((k) => typeof body[k] !== 'string' || body[k] === '');
    if (missing.length) throw validationFailed(missing.map((field) => ({ resource: 'PullRequest', code: 'missing_field', field })), docs);
    if (typeof body.body === 'string' && body.body.length > MAX_BODY) throw bodyTooLong('PullRequest');
    const [headOwner, headRef] = String(body.head).includes(':') ? [String(body.head).split(':')[0], String(body.head).split(':').slice(1).join(':')] : [r.owner, String(body.head)];
    const base = String(body.base);
    if (!(await branchExists(r.owner, r.name, headRef))) throw validationFailed([{ resource: 'PullRequest', field: 'head', code: 'invalid' }], docs);
    if (!(await branchExists(r.owner, r.name, base))) throw validationFailed([{ resource: 'PullRequest', field: 'base', code: 'invalid' }], docs);
    if (headOwner.toLowerCase() === r.owner.toLowerCase() && headRef === base) {
      throw validationFailed([{ resource: 'PullRequest', code: 'custom', message: `No commits between ${base} and ${headRef}` }], docs);
    }
    const duplicate = state.pulls.find(
      (p) => p.owner === r.owner && p.repo === r.name && p.state === 'open' && p.head.owner.toLowerCase() === headOwner.toLowerCase() && p.head.ref === headRef && p.base.ref === base,
    );
    if (duplicate) {
      throw validationFailed([{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${headOwner}:${headRef}.` }], docs);
    }
    const pull = createPull(r, {
      title: String(body.title),
      body: typeof body.body === 'string' ? body.body : null,
      headOwner,
      headRef,
      base,
      user: actor(ctx),
      draft: body.draft === true,
      maintainer_can_modify: body.maintainer_can_modify !== false,
    });
    const rendered = await renderPull(r, pull, true);
    return { status: 201, body: rendered, headers: { location: rendered.url } };
  });
  on('GET', `${R}/pulls/comments/:id`, (ctx) => {
    const r = repoFor(ctx);
    return { status: 200, body: renderReviewComment(r, reviewCommentFor(r, ctx.params[2])) };
  });
  on('GET', `${R}/pulls/:number`, async (ctx) => {
    const r = repoFor(ctx);
    return { status: 200, body: await renderPull(r, pullFor(r, ctx.params[2]), true) };
  });
  on('PATCH', `${R}/pulls/:number`, async (ctx) => {
    const r = repoFor(ctx);
    const p = pullFor(r, ctx.params[2]);
    const body = asRecord(ctx.body);
    if (typeof body.body === 'string' && body.body.length > MAX_BODY) throw bodyTooLong('PullRequest');
    if (body.state !== undefined && body.state !== 'open' && body.state !== 'closed') {
      throw validationFailed([{ resource: 'PullRequest', code: 'invalid', field: 'state' }]);
    }
    if (body.state === 'open' && p.state === 'closed') {
      if (p.merged) throw validationFailed([{ resource: 'PullRequest', code: 'custom', message: 'state cannot be changed. The pull request has been merged.' }]);
      const other = state.pulls.find((x) => x !== p && x.owner === p.owner && x.repo === p.repo && x.state === 'open' && x.head.ref === p.head.ref && x.head.owner === p.head.owner && x.base.ref === p.base.ref);
      if (other) throw validationFailed([{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${p.head.owner}:${p.head.ref}.` }]);
    }
    if (typeof body.base === 'string') {
      if (!(await branchExists(r.owner, r.name, body.base))) throw validationFailed([{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
      p.base = { ref: body.base };
    }
    if (typeof body.title === 'string') p.title = body.title;
    if (typeof body.body === 'string' || body.body === null) p.body = body.body;
    if (typeof body.maintainer_can_modify === 'boolean') p.maintainer_can_modify = body.maintainer_can_modify;
    if (body.state === 'open' || body.state === 'closed') setState(p, body.state);
    touch(p);
    return { status: 200, body: await renderPull(r, p, true) };
  });
  on('GET', `${R}/pulls/:number/comments`, (ctx) => {
    const r = repoFor(ctx);
    const p = pullFor(r, ctx.params[2]);
    const list = state.reviewComments.filter((c) => c.owner === r.owner && c.repo === r.name && c.pullNumber === p.number).sort((a, b) => a.id - b.id);
    return paginate(ctx, list.map((c) => renderReviewComment(r, c)));
  });
  on('POST', `${R}/pulls/:number/comments/:id/replies`, (ctx) => {
    const r = repoFor(ctx);
    const p = pullFor(r, ctx.params[2]);
    const parent = reviewCommentFor(r, ctx.params[3]);
    if (parent.pullNumber !== p.number) throw notFound();
    const text = requireBody(ctx.body, 'PullRequestReviewComment');
    const c = createReviewComment(r, p.number, {
      path: parent.path,
      line: parent.line,
      start_line: parent.start_line,
      side: parent.side,
      diff_hunk: parent.diff_hunk,
      body: text,
      user: actor(ctx),
      in_reply_to_id: parent.id,
      pull_request_review_id: id('review'),
    });
    const rendered = renderReviewComment(r, c);
    return { status: 201, body: rendered, headers: { location: rendered.url } };
  });
  on('GET', `${R}/pulls/:number/reviews`, (ctx) => {
    const r = repoFor(ctx);
    const p = pullFor(r, ctx.params[2]);
    const list = state.reviews.filter((v) => v.owner === r.owner && v.repo === r.name && v.pullNumber === p.number).sort((a, b) => a.id - b.id);
    return paginate(ctx, list.map((v) => renderReview(r, v)));
  });
  on('GET', `${R}/pulls/:number/reviews/:id`, (ctx) => {
    const r = repoFor(ctx);
    const p = pullFor(r, ctx.params[2]);
    const v = state.reviews.find((x) => x.owner === r.owner && x.repo === r.name && x.pullNumber === p.number && x.id === Number(ctx.params[3]));
    if (!v) throw notFound();
    return { status: 200, body: renderReview(r, v) };
  });
  on('GET', `${R}/pulls/:number/reviews/:id/comments`, (ctx) => {
    const r = repoFor(ctx);
    const p = pullFor(r, ctx.params[2]);
    const reviewId = Number(ctx.params[3]);
    const known = state.reviews.some((x) => x.owner === r.owner && x.repo === r.name && x.pullNumber === p.number && x.id === reviewId);
    const list = state.reviewComments.filter((c) => c.owner === r.owner && c.repo === r.name && c.pullNumber === p.number && c.pull_request_review_id === reviewId);
    if (!known && !list.length) throw notFound();
    return paginate(ctx, list.sort((a, b) => a.id - b.id).map((c) => renderReviewComment(r, c)));
  });
  on('GET', `${R}/pulls/:number/files`, (ctx) => {
    const r = repoFor(ctx);
    const p = pullFor(r, ctx.params[2]);
    return paginate(ctx, (r.pullFiles.get(p.number) ?? []).map((f) => renderPullFile(r, f)));
  });

  // GraphQL, where GitHub Enterprise Server serves it (`/api/graphql`, beside `/api/v3`): only the
  // mutation that takes a pull request out of draft, which REST cannot do (./github-graphql.ts).
  // Errors are GraphQL's: HTTP 200 with `errors`, as GitHub answers them.
  const graphqlRoute: Route = {
    method: 'POST',
    pattern: /^\/api\/graphql$/,
    auth: 'installation',
    handler: (ctx) => {
      const op = parseReadyMutation(ctx.body);
      if (isGraphqlError(op)) return { status: 200, body: { errors: [op] } };
      const p = state.pulls.find((x) => nodeId('PullRequest', x.pullId) === op.pullRequestId);
      const r = p && repos.get(repoKey(p.owner, p.repo));
      if (!p || !r || (ctx.auth.token && ctx.auth.token.installationId !== r.installationId)) {
        const message = `Could not resolve to a node with the global id of '${op.pullRequestId}'`;
        return { status: 200, body: { data: { [op.key]: null }, errors: [{ type: 'NOT_FOUND', path: [op.key], locations: [op.location], message }] } };
      }
      if (p.draft) {
        p.draft = false;
        touch(p);
      }
      const values: Record<PullRequestField, unknown> = {
        id: nodeId('PullRequest', p.pullId),
        number: p.number,
        isDraft: p.draft,
        url: `${webUrl}/${r.fullName}/pull/${p.number}`,
        title: p.title,
        state: p.merged ? 'MERGED' : p.state.toUpperCase(),
      };
      const payload: Record<string, unknown> = {};
      if (op.pullRequestFields) payload.pullRequest = Object.fromEntries(op.pullRequestFields.map((f) => [f, values[f as PullRequestField]]));
      if (op.clientMutationId) payload.clientMutationId = null;
      return { status: 200, body: { data: { [op.key]: payload } } };
    },
  };

  // --- state changes shared by routes and test set-up ---------------------------------------------

  function setState(item: EmuIssue, next: 'open' | 'closed'): void {
    if (item.state === next) return;
    item.state = next;
    item.closed_at = next === 'closed' ? now() : null;
  }

  function createPull(
    r: RepoRecord,
    p: { number?: number; title: string; body: string | null; headOwner: string; headRef: string; base: string; user: EmuUser; draft: boolean; maintainer_can_modify?: boolean; state?: 'open' | 'closed'; labels?: string[] },
  ): EmuPull {
    const t = now();
    const pull: EmuPull = {
      owner: r.owner,
      repo: r.name,
      number: allocateNumber(r, p.number),
      id: id('issue'),
      pullId: id('pull'),
      title: p.title,
      body: p.body,
      state: p.state ?? 'open',
      user: p.user,
      labels: p.labels ?? [],
      locked: false,
      created_at: t,
      updated_at: t,
      closed_at: p.state === 'closed' ? t : null,
      draft: p.draft,
      merged: false,
      head: { owner: p.headOwner, ref: p.headRef },
      base: { ref: p.base },
      maintainer_can_modify: p.maintainer_can_modify ?? true,
    };
    state.pulls.push(pull);
    return pull;
  }

  function createReviewComment(
    r: RepoRecord,
    prNumber: number,
    c: { id?: number; path: string; line: number | null; body: string; diff_hunk: string; user: EmuUser; pull_request_review_id?: number | null; start_line?: number | null; side?: 'LEFT' | 'RIGHT'; in_reply_to_id?: number | null },
  ): EmuReviewComment {
    const t = now();
    const comment: EmuReviewComment = {
      id: c.id ?? id('reviewComment'),
      owner: r.owner,
      repo: r.name,
      pullNumber: prNumber,
      pull_request_review_id: c.pull_request_review_id ?? null,
      path: c.path,
      line: c.line,
      start_line: c.start_line ?? null,
      side: c.side ?? 'RIGHT',
      diff_hunk: c.diff_hunk,
      body: c.body,
      user: c.user,
      commit_id: fakeSha(`${r.fullName}#${prNumber}`),
      in_reply_to_id: c.in_reply_to_id ?? null,
      created_at: t,
      updated_at: t,
    };
    state.reviewComments.push(comment);
    return comment;
  }

  // --- HTTP plumbing ------------------------------------------------------------------------------

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const query = Object.fromEntries(url.searchParams.entries());
    const rawPath = url.pathname.startsWith('/api/v3') ? url.pathname.slice('/api/v3'.length) || '/' : url.pathname;
    // Recorded and matched by failNext decoded (octokit sends `contents/.github%2Fautocoder.yml`).
    const path = safeDecode(rawPath);
    const rawBody = await readBody(req);
    let body: unknown = undefined;
    let parseError = false;
    if (rawBody.length) {
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = rawBody;
        parseError = true;
      }
    }
    const record: EmuRequest = { method, path, query, status: 0, body, auth: 'none', unmatched: false };
    state.requests.push(record);

    let reply: Reply;
    try {
      const failure = failures.find((f) => f.remaining > 0 && (f.method === '*' || f.method === method) && f.pattern.test(path));
      if (failure) {
        failure.remaining--;
        throw new HttpError(failure.status, { message: STATUS_CODES[failure.status] ?? 'Error', documentation_url: DOCS, status: String(failure.status) });
      }
      let route: Route | undefined;
      let params: string[] = [];
      if (method === 'POST' && url.pathname === '/api/graphql') route = graphqlRoute;
      else if (url.pathname.startsWith('/api/v3/')) {
        for (const candidate of routes) {
          if (candidate.method !== method && !(candidate.method === 'GET' && method === 'HEAD')) continue;
          const m = candidate.pattern.exec(rawPath);
          if (m) {
            route = candidate;
            params = m.slice(1).map(safeDecode);
            break;
          }
        }
      }
      if (!route) {
        record.unmatched = true;
        throw notFound();
      }
      if (req.headers.authorization) record.auth = 'invalid';
      const auth = authenticate(route, req.headers);
      record.auth = auth.kind;
      if (parseError) throw new HttpError(400, { message: 'Problems parsing JSON', documentation_url: DOCS, status: '400' });
      reply = await route.handler({ method, path: rawPath, query, headers: req.headers, body, params, auth });
      const after = failuresAfter.find((f) => f.remaining > 0 && (f.method === '*' || f.method === method) && f.pattern.test(path));
      if (after && reply.status < 400) {
        after.remaining--;
        throw new HttpError(after.status, { message: STATUS_CODES[after.status] ?? 'Error', documentation_url: DOCS, status: String(after.status) });
      }
    } catch (error) {
      if (error instanceof HttpError) reply = { status: error.status, body: error.body };
      else reply = { status: 500, body: { message: `github-emulator: ${error instanceof Error ? error.message : String(error)}` } };
    }
    record.status = reply.status;

    const headers: Record<string, string> = {
      'x-github-media-type': 'github.v3; format=json',
      'x-github-request-id': randomBytes(8).toString('hex').toUpperCase(),
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      'x-ratelimit-used': '1',
      'x-ratelimit-resource': 'core',
      ...(reply.headers ?? {}),
    };
    if (reply.status === 401 && reply.body && typeof reply.body === 'object') headers['www-authenticate'] = 'Bearer realm="GitHub"';
    let payload = '';
    if (reply.raw !== undefined) payload = reply.raw;
    else if (reply.status !== 204 && reply.body !== undefined) {
      payload = JSON.stringify(reply.body);
      headers['content-type'] = 'application/json; charset=utf-8';
    }
    res.writeHead(reply.status, { ...headers, 'content-length': String(Buffer.byteLength(payload)) });
    res.end(method === 'HEAD' ? undefined : payload);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ message: String(error) }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = `127.0.0.1:${port}`;
  webUrl = `http://${host}`;
  apiUrl = `${webUrl}/api/v3`;

  return {
    host,
    apiUrl,
    webUrl,
    appId,
    appSlug,
    botLogin,
    installationId: defaultInstallationId,
    state,
    addRepo(input) {
      const installationId = input.installationId ?? defaultInstallationId;
      const ownerType = input.ownerType ?? 'User';
      const owner = ensureUser(input.owner, ownerType);
      const inst = installation(installationId);
      inst.account ??= owner;
      const r: RepoRecord = {
        id: id('repo'),
        owner: input.owner,
        name: input.name,
        fullName: `${input.owner}/${input.name}`,
        cloneUrl: input.cloneUrl,
        defaultBranch: input.defaultBranch ?? 'main',
        private: input.private ?? false,
        ownerType,
        installationId,
        files: { ...(input.files ?? {}) },
        refs: {},
        nextNumber: 1,
        permissions: new Map(),
        labelIds: new Map(),
        pullFiles: new Map(),
      };
      repos.set(repoKey(input.owner, input.name), r);
      return r;
    },
    setFile(owner, repo, path, content, ref) {
      const r = mustRepo(owner, repo);
      const files = !ref || ref === r.defaultBranch ? r.files : (r.refs[ref] ??= {});
      if (content === null) delete files[path];
      else files[path] = content;
    },
    setPermission(owner, repo, login, permission) {
      const r = mustRepo(owner, repo);
      ensureUser(login);
      r.permissions.set(login.toLowerCase(), permission);
    },
    addIssue(owner, repo, input) {
      const r = mustRepo(owner, repo);
      const t = now();
      const issue: EmuIssue = {
        owner: r.owner,
        repo: r.name,
        number: allocateNumber(r, input.number),
        id: id('issue'),
        title: input.title,
        body: input.body ?? null,
        state: input.state ?? 'open',
        user: userFrom(input.user),
        labels: [...(input.labels ?? [])],
        locked: false,
        created_at: t,
        updated_at: t,
        closed_at: input.state === 'closed' ? t : null,
      };
      state.issues.push(issue);
      return issue;
    },
    addPull(owner, repo, input) {
      const r = mustRepo(owner, repo);
      const [headOwner, headRef] = input.head.includes(':') ? [input.head.split(':')[0], input.head.split(':').slice(1).join(':')] : [r.owner, input.head];
      return createPull(r, {
        number: input.number,
        title: input.title,
        body: input.body ?? null,
        headOwner,
        headRef,
        base: input.base ?? r.defaultBranch,
        user: input.user ? userFrom(input.user) : bot,
        draft: input.draft ?? false,
        state: input.state,
        labels: input.labels ? [...input.labels] : [],
      });
    },
    addReviewComment(owner, repo, prNumber, c) {
      const r = mustRepo(owner, repo);
      if (!state.pulls.some((p) => p.owner === r.owner && p.repo === r.name && p.number === prNumber)) {
        throw new Error(`github-emulator: no pull request ${owner}/${repo}#${prNumber}`);
      }
      return createReviewComment(r, prNumber, { ...c, user: userFrom(c.user) });
    },
    addReview(owner, repo, prNumber, v) {
      const r = mustRepo(owner, repo);
      if (!state.pulls.some((p) => p.owner === r.owner && p.repo === r.name && p.number === prNumber)) {
        throw new Error(`github-emulator: no pull request ${owner}/${repo}#${prNumber}`);
      }
      const review: EmuReview = {
        id: v.id ?? id('review'),
        owner: r.owner,
        repo: r.name,
        pullNumber: prNumber,
        body: v.body ?? '',
        state: v.state ?? 'CHANGES_REQUESTED',
        user: userFrom(v.user),
        commit_id: fakeSha(`${r.fullName}#${prNumber}`),
        submitted_at: now(),
      };
      state.reviews.push(review);
      return review;
    },
    setPullFiles(owner, repo, prNumber, files) {
      mustRepo(owner, repo).pullFiles.set(prNumber, files);
    },
    getRepo: (owner, repo) => repos.get(repoKey(owner, repo)),
    getIssue: (owner, repo, number) => {
      const r = repos.get(repoKey(owner, repo));
      return r ? findItem(r, number) : undefined;
    },
    commentsOn: (owner, repo, number) =>
      state.comments.filter((c) => c.owner.toLowerCase() === owner.toLowerCase() && c.repo.toLowerCase() === repo.toLowerCase() && c.issueNumber === number).sort((a, b) => a.id - b.id),
    editComment(owner, repo, commentId, edit) {
      const r = mustRepo(owner, repo);
      const c = state.comments.find((x) => x.owner === r.owner && x.repo === r.name && x.id === commentId);
      if (!c) throw new Error(`github-emulator: no comment ${commentId} in ${owner}/${repo}`);
      const from = c.body;
      c.body = edit(from);
      c.updated_at = now();
      return { from, comment: c };
    },
    isValidInstallationToken: (token) => tokenValid(state.tokens.find((t) => t.token === token)),
    expireTokens() {
      for (const t of state.tokens) t.expired = true;
    },
    failNext(method, pathPattern, status, times = 1) {
      failures.push({ method: method.toUpperCase(), pattern: pathPattern, status, remaining: times });
    },
    failAfter(method, pathPattern, status, times = 1) {
      failuresAfter.push({ method: method.toUpperCase(), pattern: pathPattern, status, remaining: times });
    },
    setTokenTtl(ms) {
      tokenTtlMs = ms;
    },
    unexpectedRequests: () => state.requests.filter((r) => r.unmatched),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
