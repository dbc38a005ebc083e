import { describeRun, formatDuration, formatNumber, formatUsd, oneLine } from '../engine/describe.js';
import type { FileChange, RunEvent, Usage } from '../engine/events.js';
import { describeAttemptTests, type AttemptOutcome } from '../engine/attempts.js';
import type { Redactor } from '../util/redact.js';
import { truncateEnd, truncateMiddle } from '../util/text.js';
import { neutraliseMarkdown } from './sanitize.js';

/**
 * Pure rendering of what autocoder publishes on GitHub: `input -> string`, no I/O. Every input
 * carries the redactor, and every output passes through it, so a secret never reaches GitHub
 * whichever way it got into a summary, a log or a test's output.
 */

/** GitHub refuses bodies over 65,536 characters; keep a margin. */
export const MAX_BODY_CHARS = 65_000;
export const DEFAULT_LOG_CHARS = 40_000;
const MAX_TEST_OUTPUT_CHARS = 8_000;
const MAX_FILES_LISTED = 100;

// ---------------------------------------------------------------------------------------------
// Markers: hidden state in bodies, read back by the "ensure" operations.

/** `<!-- autocoder:pr issue=12 -->`. Values are URI-encoded so none can end the comment. */
export function renderMarker(kind: string, attributes: Record<string, string | number>): string {
  const attrs = Object.entries(attributes).map(([k, v]) => ` ${k}=${encodeURIComponent(String(v))}`);
  return `<!-- autocoder:${kind}${attrs.join('')} -->`;
}

/** The attributes of the first `kind` marker in a body, or undefined when it has none. */
export function parseMarker(body: string | null | undefined, kind: string): Record<string, string> | undefined {
  if (!body) return undefined;
  const escapedKind = kind.replace(/[^a-z0-9-]/gi, '');
  const match = new RegExp(`<!--\\s*autocoder:${escapedKind}((?:\\s+[\\w-]+=[^\\s>]*)*)\\s*-->`).exec(body);
  if (!match) return undefined;
  const attributes: Record<string, string> = {};
  for (const [, key, value] of match[1].matchAll(/([\w-]+)=([^\s>]*)/g)) {
    try {
      attributes[key] = decodeURIComponent(value);
    } catch {
      attributes[key] = value;
    }
  }
  return attributes;
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

/** `850ms`, `42s`, `2m 5s`, `1h 3m`. */
export { formatDuration };

const number = formatNumber;

/** An inline code span that holds any text, backticks included. */
function code(text: string): string {
  const flat = text.replace(/[\r\n]+/g, ' ');
  const longest = Math.max(0, ...[...flat.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = '`'.repeat(longest + 1);
  const pad = longest > 0 || flat.startsWith(' ') ? ' ' : '';
  return `${ticks}${pad}${flat}${pad}${ticks}`;
}

/** A fenced block that its content cannot close early. */
function fenced(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/^ {0,3}(`{3,})/gm)].map((m) => m[1].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}text\n${text.replace(/\n+$/, '')}\n${fence}`;
}

function details(summary: string, content: string): string {
  return `<details><summary>${summary}</summary>\n\n${fenced(content)}\n\n</details>`;
}

/** Keeps the first and last lines, cutting the middle with a marker, within `maxChars`. */
export function cutLines(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const lines = text.split('\n');
  const marker = (n: number) => `[... ${n} lines cut ...]`;
  const budget = maxChars - marker(lines.length).length - 2;
  if (budget <= 0) return truncateMiddle(text, maxChars);
  const head: string[] = [];
  const tail: string[] = [];
  let used = 0;
  let i = 0;
  let j = lines.length - 1;
  // Alternate, so a cut log shows how the run began and how it ended.
  while (i <= j) {
    const takeHead = head.length <= tail.length;
    const line = takeHead ? lines[i] : lines[j];
    if (used + line.length + 1 > budget) break;
    used += line.length + 1;
    if (takeHead) head.push(lines[i++]);
    else tail.unshift(lines[j--]);
  }
  if (head.length + tail.length === 0) return truncateMiddle(text, maxChars);
  const cut = lines.length - head.length - tail.length;
  return [...head, marker(cut), ...tail].join('\n');
}

/** A cut through a code block would turn the rest of the body into code: close it. */
function closeFences(markdown: string): string {
  let open: string | undefined;
  for (const line of markdown.split('\n')) {
    const match = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (!match) continue;
    if (!open) open = match[1];
    else if (match[1][0] === open[0] && match[1].length >= open.length) open = undefined;
  }
  return open ? `${markdown}\n${open}` : markdown;
}

/** Keeps the end (where a test run says what failed), with a marker for what was cut. */
function keepEnd(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const cut = text.length - maxChars;
  return `[... ${number(cut)} characters cut ...]\n${text.slice(cut)}`;
}

/** The final guard: redacted, and never over GitHub's limit whatever the inputs were. */
function finish(text: string, redact: Redactor, maxChars: number): string {
  const out = redact(text);
  return out.length <= maxChars ? out : `${out.slice(0, maxChars - 40)}\n\n[... body cut at the size limit ...]`;
}

// ---------------------------------------------------------------------------------------------
// The run log.

export interface RunLogOptions {
  maxChars?: number;
  redact: Redactor;
}

/**
 * The run for people, as plain text (it is shown in a code block): one line per tool call with
 * its outcome, shortened model text, retries, errors, and the end. Too long, it keeps the
 * beginning and the end.
 */
export function renderRunLog(events: readonly RunEvent[], options: RunLogOptions): string {
  const lines = describeRun(events);
  // Redact before cutting: a cut must not split a secret into pieces no rule recognises.
  return cutLines(options.redact(lines.join('\n')), options.maxChars ?? DEFAULT_LOG_CHARS);
}

// ---------------------------------------------------------------------------------------------
// The progress comment.

export type ProgressPhase = 'queued' | 'preparing' | 'working' | 'testing' | 'done' | 'failed' | 'cancelled' | 'no_changes';

export interface ProgressState {
  phase: ProgressPhase;
  runId: string;
  step?: number;
  maxSteps?: number;
  /** What the agent does now, e.g. `run_command \`npm test\``. */
  currentAction?: string;
  pullRequestUrl?: string;
  /** Why the run ended this way, in a sentence. */
  reason?: string;
  error?: string | { code: string; message: string };
  /** The rendered run log (`renderRunLog`). */
  log?: string;
  /** 1 = next to start. */
  queuePosition?: number;
  /** Best of N: how many attempts run at once (absent or 1: a plain run). */
  attempts?: number;
  redact: Redactor;
}

const ACTIVE: ReadonlySet<ProgressPhase> = new Set(['queued', 'preparing', 'working', 'testing']);

function link(url: string): string {
  return /^https?:\/\/[^\s<>()]+$/.test(url) ? url : code(url);
}

function headline(state: ProgressState): string {
  const many = state.attempts && state.attempts > 1 ? state.attempts : undefined;
  switch (state.phase) {
    case 'queued':
      return `⏳ **Queued**${state.queuePosition ? ` — position ${state.queuePosition} in the queue` : ''}`;
    case 'preparing':
      return many ? `📦 **Preparing** ${many} working trees, one per attempt…` : '📦 **Preparing** the working tree…';
    case 'working': {
      const step = state.step ? ` — step ${state.step}${state.maxSteps ? ` of ${state.maxSteps}` : ''}` : '';
      return `🛠️ **Working**${many ? ` on ${many} attempts at once` : ''}${step}`;
    }
    case 'testing':
      return many ? `🧪 **Running the tests** on each of the ${many} attempts…` : '🧪 **Running the tests**…';
    case 'done':
      return `✅ **Done**${state.pullRequestUrl ? ` — pull request: ${link(state.pullRequestUrl)}` : ''}`;
    case 'failed':
      return '❌ **The run failed**';
    case 'cancelled':
      return '🛑 **Cancelled**';
    case 'no_changes':
      return '➖ **Finished without changes**, so no pull request was opened';
  }
}

/**
 * The one comment a run keeps up to date on its issue or pull request. The marker at the top
 * lets the run find its comment again after a restart.
 */
export function renderProgressComment(state: ProgressState): string {
  const parts = [renderMarker('progress', { run: state.runId }), headline(state)];
  if (state.phase === 'working' && state.currentAction) parts.push(`Now: ${neutraliseMarkdown(oneLine(state.currentAction, 200))}`);
  if (state.reason) parts.push(neutraliseMarkdown(state.reason.trim()));
  if (state.error) {
    const error = typeof state.error === 'string' ? state.error : `${state.error.code}: ${state.error.message}`;
    parts.push(`> ${neutraliseMarkdown(oneLine(error, 1000))}`);
  }
  const hint = ACTIVE.has(state.phase)
    ? ' · comment `/autocoder cancel` to stop it'
    : state.phase === 'failed' || state.phase === 'cancelled'
      ? ' · comment `/autocoder retry` to run it again'
      : '';
  const footer = `<sub>run ${code(state.runId)}${hint}</sub>`;

  const without = [...parts, footer].join('\n\n');
  if (state.log?.trim()) {
    const redacted = state.redact(state.log);
    const budget = MAX_BODY_CHARS - without.length - 200;
    const log = details('Run log', budget > 500 ? cutLines(redacted, budget) : '[run log left out: too long]');
    return finish([...parts, log, footer].join('\n\n'), state.redact, MAX_BODY_CHARS);
  }
  return finish(without, state.redact, MAX_BODY_CHARS);
}

// ---------------------------------------------------------------------------------------------
// The pull-request body (CONTRACT §4.5).

export interface TestResult {
  command: string;
  /** Null when the command did not finish (time limit, killed). */
  exitCode: number | null;
  output: string;
}

export interface PullRequestBodyInput {
  summary: string;
  issueNumber: number;
  changedFiles: readonly FileChange[];
  test?: TestResult;
  model: string;
  usage: Usage;
  durationMs: number;
  /** The rendered run log (`renderRunLog`). */
  log: string;
  runId: string;
  /** Set when the run stopped early (budget, time): says so at the top. */
  incomplete?: string;
  /**
   * The run stopped early, so the pull request is a draft for that reason: the hidden marker says
   * so (`stopped=1`), and a later run that completes may take it out of draft (pull-request.ts).
   */
  stopped?: boolean;
  /** Best of N: every attempt, and which one this pull request holds. */
  attempts?: AttemptsTable;
  redact: Redactor;
}

export interface AttemptsTable {
  rows: Array<{
    outcome: AttemptOutcome;
    /** The branch the attempt is kept on; undefined when it is not kept (or is the one published). */
    branch?: string;
  }>;
  /** The attempt published and why (`explainChoice`). */
  published: { attempt: number; why: string };
  /** How long the other attempts' branches are kept (`keepAttemptsDays`). */
  keepDays: number;
}

/** Text for one table cell: a `|` would end the cell and a line break the table. */
function cell(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/\|/g, '\\|');
}

/** The attempts of a best-of-N run side by side, in attempt order, with which one was published and why. */
export function renderAttemptsTable(table: AttemptsTable): string {
  const days = table.keepDays === 1 ? '1 day' : `${number(table.keepDays)} days`;
  const lines = [
    `### Attempts (${table.rows.length})`,
    '',
    `Published: **attempt ${table.published.attempt}** — ${neutraliseMarkdown(table.published.why)}.`,
    '',
    '| attempt | model | tests | files changed | lines +/− | tokens | duration | branch |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const notes: string[] = [];
  for (const { outcome: o, branch } of [...table.rows].sort((a, b) => a.outcome.attempt - b.outcome.attempt)) {
    const published = o.attempt === table.published.attempt;
    const where = published ? 'this pull request' : branch ? code(branch) : o.filesChanged > 0 ? 'not kept' : '—';
    lines.push(
      `| ${published ? `**${o.attempt}** ✅` : o.attempt} | ${cell(code(o.model))} | ${cell(describeAttemptTests(o))} | ${o.filesChanged} | ` +
        `+${number(o.linesAdded)} / −${number(o.linesRemoved)} | ${number(o.usage.totalTokens)} | ${formatDuration(o.durationMs)} | ${cell(where)} |`,
    );
    if (o.error) notes.push(`- Attempt ${o.attempt}: ${neutraliseMarkdown(oneLine(o.error, 300))}`);
  }
  if (notes.length) lines.push('', ...notes);
  if (table.rows.some((r) => r.branch)) {
    lines.push('', `<sub>The other attempts stay on their branches for ${days}; a later run of autocoder here deletes them after that.</sub>`);
  }
  return lines.join('\n');
}

function renderFiles(files: readonly FileChange[]): string {
  if (files.length === 0) return '### Changed files\n\n_none_';
  const shown = files.slice(0, MAX_FILES_LISTED).map((f) => `- ${code(f.path)} (${f.change})`);
  if (files.length > shown.length) shown.push(`- … and ${files.length - shown.length} more`);
  return `### Changed files (${files.length})\n\n${shown.join('\n')}`;
}

function renderTest(test: TestResult, output: string): string {
  const verdict =
    test.exitCode === 0
      ? `✅ ${code(test.command)} passed`
      : test.exitCode === null
        ? `❌ ${code(test.command)} did not finish (time limit or killed)`
        : `❌ ${code(test.command)} failed (exit ${test.exitCode})`;
  return `### Tests\n\n${verdict}${output.trim() ? `\n\n${details('Test output', output)}` : ''}`;
}

export function renderPullRequestBody(input: PullRequestBodyInput): string {
  const { redact } = input;
  const summary = neutraliseMarkdown(redact(input.summary)).trim() || '_The agent wrote no summary._';
  const testOutput = input.test ? keepEnd(redact(input.test.output), MAX_TEST_OUTPUT_CHARS) : '';
  const log = redact(input.log);
  const u = input.usage;
  const footer =
    `<sub>Model ${code(input.model)} · ${number(u.totalTokens)} tokens (${number(u.promptTokens)} prompt, ` +
    `${number(u.completionTokens)} completion)${u.costUsd !== undefined ? ` · ${formatUsd(u.costUsd)}` : ''} · ${formatDuration(input.durationMs)} · run ${code(input.runId)}</sub>`;

  const build = (parts: { summary: string; testOutput: string; log: string }) => {
    const sections = [renderMarker('pr', { issue: input.issueNumber, ...(input.stopped ? { stopped: 1 } : {}) })];
    if (input.incomplete?.trim()) {
      const lines = neutraliseMarkdown(input.incomplete.trim()).split('\n');
      sections.push(`> [!WARNING]\n> **Incomplete:** ${lines.join('\n> ')}`);
    }
    sections.push(parts.summary, `Fixes #${input.issueNumber}`, renderFiles(input.changedFiles));
    if (input.test) sections.push(renderTest(input.test, parts.testOutput));
    if (input.attempts) sections.push(renderAttemptsTable(input.attempts));
    sections.push(footer, details('Run log', parts.log || '(empty)'));
    return sections.join('\n\n');
  };

  // Over the limit, cut the log first, then the test output, then the summary.
  let parts = { summary, testOutput, log };
  let body = build(parts);
  if (body.length > MAX_BODY_CHARS) {
    const logBudget = MAX_BODY_CHARS - build({ ...parts, log: '' }).length - 100;
    parts = { ...parts, log: logBudget > 500 ? cutLines(log, logBudget) : '[run log left out: the body is at the size limit]' };
    body = build(parts);
  }
  if (body.length > MAX_BODY_CHARS) {
    const testBudget = MAX_BODY_CHARS - build({ ...parts, testOutput: '' }).length - 200;
    parts = { ...parts, testOutput: keepEnd(testOutput, Math.max(0, testBudget)) };
    body = build(parts);
  }
  if (body.length > MAX_BODY_CHARS) {
    const summaryBudget = MAX_BODY_CHARS - build({ ...parts, summary: '' }).length - 100;
    parts = { ...parts, summary: closeFences(truncateEnd(summary, Math.max(0, summaryBudget))) };
    body = build(parts);
  }
  return finish(body, redact, MAX_BODY_CHARS);
}

// ---------------------------------------------------------------------------------------------
// The plan comment: `/autocoder plan` answers with one, and approving it runs what it says.

/** The task-list line a writer ticks to approve; GitHub turns `[ ]` into `[x]` in the body. */
const APPROVE_BOX = /^ {0,3}[-*+][ \t]+\[([ xX])\][ \t]+Approve this plan\b.*$/;
/** Where the plan ends and autocoder's own lines (box, hint, approval) begin. */
const PLAN_END = renderMarker('plan-end', {});
const PLAN_END_LINE = /^.*<!--\s*autocoder:plan-end\b.*$/m;
const APPROVED_LINE = /<!--\s*autocoder:plan-approved\b/;
const PLAN_HINT = 'Someone with write access may edit the plan above first, then tick the box or comment `/autocoder approve` to have autocoder carry it out.';

export interface PlanCommentInput {
  /** The plan as the agent wrote it (markdown). */
  plan: string;
  /** The run that wrote it. */
  runId: string;
  redact: Redactor;
}

/**
 * The plan, a hidden marker naming the run that wrote it, and an approval checkbox. The box and
 * the hint come after a second marker, so the plan a writer edited is told apart from them.
 */
export function renderPlanComment(input: PlanCommentInput): string {
  const head = `${renderMarker('plan', { run: input.runId })}\n### Plan`;
  const tail = [PLAN_END, '- [ ] Approve this plan', `<sub>${PLAN_HINT} Run ${code(input.runId)}.</sub>`].join('\n\n');
  const plan = neutraliseMarkdown(input.redact(input.plan)).trim() || '_The agent wrote no plan._';
  const budget = MAX_BODY_CHARS - head.length - tail.length - 100;
  return finish([head, closeFences(truncateEnd(plan, budget)), tail].join('\n\n'), input.redact, MAX_BODY_CHARS);
}

/** The lines of a plan comment after its plan, where the approval box belongs. */
function tailStart(lines: string[]): number {
  const end = lines.findIndex((line) => PLAN_END_LINE.test(line));
  return end === -1 ? 0 : end;
}

/** The approval box of a plan comment: ticked, not ticked, or none (edited away, or not a plan). */
export function planApprovalBox(body: string | null | undefined): 'ticked' | 'unticked' | undefined {
  const lines = (body ?? '').replace(/\r\n?/g, '\n').split('\n');
  // The last box after the plan: a plan may itself contain a line that looks like it.
  for (let i = lines.length - 1; i >= tailStart(lines); i--) {
    const match = APPROVE_BOX.exec(lines[i]);
    if (match) return match[1] === ' ' ? 'unticked' : 'ticked';
  }
  return undefined;
}

/** True when an edit ticked the approval box (`from` is the body before the edit). */
export function planBoxTicked(from: string | null | undefined, to: string | null | undefined): boolean {
  return planApprovalBox(from) === 'unticked' && planApprovalBox(to) === 'ticked';
}

/**
 * The plan a comment holds now, as a writer may have edited it: without the marker, the heading,
 * the box, the hint and the approval line. Not sanitised: the prompt does that, as for any text
 * from GitHub.
 */
export function planFromComment(body: string | null | undefined): string {
  let lines = (body ?? '').replace(/\r\n?/g, '\n').split('\n');
  const end = lines.findIndex((line) => PLAN_END_LINE.test(line));
  if (end !== -1) lines = lines.slice(0, end);
  lines = lines.filter(
    (line) => !/^\s*<!--\s*autocoder:[\w-]+[^>]*-->\s*$/.test(line) && !APPROVE_BOX.test(line) && !APPROVED_LINE.test(line) && !line.includes(PLAN_HINT),
  );
  const text = lines.join('\n').trim();
  return text.replace(/^#{1,6}[ \t]+Plan[ \t]*(?:\n|$)/, '').trim();
}

export interface PlanApproval {
  /** Who approved (a GitHub login). */
  by: string;
  /** The run that carries the plan out. */
  runId: string;
  redact: Redactor;
}

/**
 * The plan comment once approved: the body as it is (a writer's edits kept), the box ticked and
 * one line saying who approved it and which run carries it out; an earlier approval line goes.
 */
export function markPlanApproved(body: string, approval: PlanApproval): string {
  const lines: string[] = [];
  for (const line of body.replace(/\r\n?/g, '\n').split('\n')) {
    if (!APPROVED_LINE.test(line)) lines.push(line);
    else if (lines.at(-1) === '') lines.pop();
  }
  const note = `${renderMarker('plan-approved', { run: approval.runId })}✅ Approved by @${approval.by.replace(/[^\w-]/g, '')}: run ${code(approval.runId)} carries it out.`;
  let box = -1;
  for (let i = lines.length - 1; i >= tailStart(lines); i--) {
    if (APPROVE_BOX.test(lines[i])) {
      box = i;
      break;
    }
  }
  if (box === -1) {
    lines.push('', '- [x] Approve this plan', '', note);
  } else {
    lines[box] = lines[box].replace(/\[ \]/, '[x]');
    // A blank line first: a line right under a list item would join its text.
    lines.splice(box + 1, 0, '', note);
  }
  return finish(lines.join('\n'), approval.redact, MAX_BODY_CHARS);
}
