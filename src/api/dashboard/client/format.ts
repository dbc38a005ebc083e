/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { formatDuration, formatNumber, formatUsd } from '../../../engine/describe.js';
import { h, safeHref } from './dom.js';
import type { TaskView } from './types.js';

export type Tone = 'ok' | 'bad' | 'warn' | 'run' | 'idle';

/** What the badge says: the state, or for a finished run why it ended. */
export function stateLabel(task: TaskView): { label: string; tone: Tone } {
  switch (task.state) {
    case 'finished':
      switch (task.endReason) {
        case 'completed':
          return { label: 'completed', tone: 'ok' };
        case 'failed':
          return { label: 'failed', tone: 'bad' };
        case 'cancelled':
          return { label: 'cancelled', tone: 'idle' };
        case 'max_steps':
          return { label: 'step limit', tone: 'warn' };
        case 'max_time':
          return { label: 'time limit', tone: 'warn' };
        case 'max_tokens':
          return { label: 'token limit', tone: 'warn' };
        case 'max_cost':
          return { label: 'cost limit', tone: 'warn' };
        default:
          return { label: 'finished', tone: 'idle' };
      }
    case 'queued':
      return { label: task.queuePosition ? `queued · #${task.queuePosition}` : 'queued', tone: 'idle' };
    case 'running':
      return { label: 'running', tone: 'run' };
    case 'rejected':
      return { label: 'rejected', tone: 'bad' };
    case 'done':
      return { label: 'answered', tone: 'ok' };
    default:
      return { label: task.state, tone: 'idle' };
  }
}

export function badge(task: TaskView): HTMLElement {
  const { label, tone } = stateLabel(task);
  return h('span', { class: 'badge', 'data-tone': tone, 'data-state': task.state }, label);
}

/** From start to finish; for a run still going, the time so far. */
export function durationOf(task: TaskView, now = Date.now()): string {
  if (typeof task.durationMs === 'number') return formatDuration(task.durationMs);
  if (task.state === 'running' && task.startedAt) return formatDuration(now - Date.parse(task.startedAt));
  return '—';
}

export function tokensOf(task: TaskView): { text: string; title?: string } {
  if (!task.usage) return { text: '—' };
  const { promptTokens, completionTokens, totalTokens, costUsd } = task.usage;
  const cost = costUsd !== undefined ? ` · ${formatUsd(costUsd)}` : '';
  return { text: formatNumber(totalTokens) + cost, title: `${formatNumber(promptTokens)} prompt + ${formatNumber(completionTokens)} completion` };
}

export function titleOf(task: TaskView): string {
  return task.title?.trim() || (task.issueNumber ? `#${task.issueNumber}` : `Run ${task.id}`);
}

/** The GitHub web address the server told the page (GHE or github.com). */
const githubUrl = () => document.body.dataset.githubUrl || 'https://github.com';

const isOwnerName = (repo: string) => /^[\w.-]+\/[\w.-]+$/.test(repo);

/** A GitHub repository links to GitHub; an API task's repository is a path or URL, shown as text. */
export function repoCell(task: TaskView): Node | string {
  if (!task.repo) return '—';
  if (task.source === 'github' && isOwnerName(task.repo)) {
    return h('a', { href: `${githubUrl()}/${task.repo}`, rel: 'noreferrer' }, task.repo);
  }
  return task.repo;
}

/** The issue (GitHub turns `/issues/N` of a pull request into the pull request) and the pull request opened. */
export function issueLinks(task: TaskView): Node {
  const links: (Node | string)[] = [];
  if (task.issueNumber && task.repo && isOwnerName(task.repo)) {
    links.push(h('a', { href: `${githubUrl()}/${task.repo}/issues/${task.issueNumber}`, rel: 'noreferrer' }, `#${task.issueNumber}`));
  }
  const pr = safeHref(task.pullRequestUrl);
  if (pr) {
    const number = /\/pull\/(\d+)/.exec(pr)?.[1];
    if (links.length > 0) links.push(' → ');
    links.push(h('a', { href: pr, rel: 'noreferrer' }, number ? `PR #${number}` : 'pull request'));
  }
  // One element, so the links stay together in the phone layout's flex cells.
  return h('span', { class: 'nowrap' }, ...(links.length > 0 ? links : ['—']));
}

export function timeOf(iso: string | null | undefined): Node | string {
  if (!iso) return '—';
  const date = new Date(iso);
  return h('time', { datetime: iso, title: date.toISOString() }, date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }));
}
