import { describeAttemptTests } from './attempts.js';
import type { RunEvent } from './events.js';

/**
 * How a run reads for people. The CLI's text output, the run log in pull requests and comments,
 * and the dashboard all go through these rules, so a run looks the same everywhere.
 */

export function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function firstLine(text: string, max: number): string {
  return oneLine(text.split('\n').find((line) => line.trim()) ?? '', max);
}

/** `850ms`, `42s`, `2m 5s`, `1h 3m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export const formatNumber = (n: number): string => n.toLocaleString('en-US');

/** `$0.42`, `$0.0031`: enough digits that a small cost does not read as nothing. */
export function formatUsd(usd: number): string {
  if (!Number.isFinite(usd) || usd < 0) return '?';
  if (usd === 0) return '$0';
  if (usd >= 1) return `$${usd.toFixed(2)}`;
  if (usd < 0.0001) return '<$0.0001';
  return `$${Number(usd.toPrecision(2))}`;
}

function field(args: unknown, key: string): string | undefined {
  if (args && typeof args === 'object' && key in args) {
    const value = (args as Record<string, unknown>)[key];
    return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
  }
  return undefined;
}

/** A tool call in a few words: `read_file src/a.ts:10-40`, `run_command \`npm test\``. */
export function describeToolCall(name: string, args: unknown): string {
  if (typeof args === 'string') return `${name} (arguments that are not JSON)`;
  const path = field(args, 'path');
  switch (name) {
    case 'read_file': {
      const start = field(args, 'start_line');
      const end = field(args, 'end_line');
      const range = start || end ? `:${start ?? 1}-${end ?? ''}` : '';
      return `read_file ${path ?? '?'}${range}`;
    }
    case 'search_code':
      return `search_code "${oneLine(field(args, 'query') ?? '', 60)}"${path ? ` in ${path}` : ''}`;
    case 'run_command':
      return `run_command \`${oneLine(field(args, 'command') ?? '', 100)}\``;
    case 'list_files':
      return `list_files ${path ?? '.'}`;
    case 'finish':
      return 'finish';
    default:
      return path ? `${name} ${path}` : name;
  }
}

/** What became of a tool call, to follow its line: ` → exit 1`, ` → error: no match`, or nothing. */
export function describeToolOutcome(event: Extract<RunEvent, { type: 'tool_result' }>): string {
  if (event.name === 'run_command') {
    if (typeof event.exitCode === 'number') return ` → exit ${event.exitCode}`;
    return ` → ${event.ok ? 'done' : firstLine(event.output, 100) || 'no exit code'}`;
  }
  return event.ok ? '' : ` → error: ${firstLine(event.output, 100)}`;
}

/** `[attempt 2] ` for an event of attempt 2 of a best-of-N run; nothing for a run of one attempt. */
export function attemptPrefix(event: Pick<RunEvent, 'attempt'>): string {
  return event.attempt ? `[attempt ${event.attempt}] ` : '';
}

/**
 * One line for an event worth a line, or undefined. Tool results have no line of their own
 * (see `describeToolOutcome`); `step`, `usage`, `phase` and `file_changed` are shown elsewhere.
 * Events of a best-of-N run start with the attempt they belong to.
 */
export function describeEvent(event: RunEvent): string | undefined {
  const line = describeEventBody(event);
  return line === undefined ? undefined : attemptPrefix(event) + line;
}

function describeEventBody(event: RunEvent): string | undefined {
  switch (event.type) {
    case 'started':
      return (
        `▶ model ${event.model} · up to ${event.maxSteps} steps` +
        (event.maxTokens !== undefined ? ` · ${formatNumber(event.maxTokens)} tokens` : '') +
        (event.maxCostUsd !== undefined ? ` · ${formatUsd(event.maxCostUsd)}` : '') +
        (event.resumed ? ` · continuing session ${event.sessionId}` : '')
      );
    case 'model_text':
      return event.text.trim() ? `💬 ${oneLine(event.text, 200)}` : undefined;
    case 'tool_call':
      return `▸ ${describeToolCall(event.name, event.args)}`;
    case 'command':
      return `⚙ ${event.purpose} \`${oneLine(event.command, 100)}\` → ${event.timedOut ? 'timed out' : `exit ${event.exitCode ?? 'killed'}`} · ${formatDuration(event.durationMs)}`;
    case 'retry':
      return `↻ retry ${event.retry} in ${formatDuration(event.delayMs)}: ${oneLine(event.reason, 200)}`;
    case 'compacted':
      return `⋯ compacted ${event.messages} messages (${formatNumber(event.removedChars)} characters) to fit the context window`;
    case 'error':
      return `✖ ${event.code}: ${oneLine(event.message, 300)}`;
    case 'attempts':
      return describeAttempts(event);
    case 'finished': {
      const files = event.changedFiles.length;
      return (
        `■ ${event.reason} after ${event.steps} step${event.steps === 1 ? '' : 's'} · ${files} file${files === 1 ? '' : 's'} changed · ` +
        `${formatNumber(event.usage.totalTokens)} tokens${event.usage.costUsd !== undefined ? ` (${formatUsd(event.usage.costUsd)})` : ''} · ${formatDuration(event.durationMs)}`
      );
    }
    default:
      return undefined;
  }
}

/**
 * Best of N's comparison in one line: which attempt was kept, then each attempt's tests and
 * change, or why it has none: `⚖ attempt 2 kept of 3 · 1 (a) tests failed (exit 1), 1 file +1/−1 · …`.
 */
function describeAttempts(event: Extract<RunEvent, { type: 'attempts' }>): string {
  const head = event.chosen === null ? `none of ${event.outcomes.length} attempts kept` : `attempt ${event.chosen} kept of ${event.outcomes.length}`;
  const each = event.outcomes.map((o) => {
    const who = `${o.attempt} (${oneLine(o.model, 40)})`;
    if (o.filesChanged === 0 || o.reason === 'failed' || o.reason === 'cancelled') return `${who} ${o.error ? oneLine(o.error, 80) : o.reason}`;
    return `${who} tests ${describeAttemptTests(o)}, ${o.filesChanged} file${o.filesChanged === 1 ? '' : 's'} +${o.linesAdded}/−${o.linesRemoved}`;
  });
  return [`⚖ ${head}`, ...each].join(' · ');
}

/** A whole run as lines: each tool call on one line with its outcome. */
export function describeRun(events: readonly RunEvent[]): string[] {
  const lines: string[] = [];
  const callLine = new Map<string, number>();
  // Attempts run at once and their call ids may repeat: a call is known by its attempt too.
  const key = (event: { attempt?: number; callId: string }) => `${event.attempt ?? 0}:${event.callId}`;
  for (const event of events) {
    if (event.type === 'tool_result') {
      const at = callLine.get(key(event));
      const outcome = describeToolOutcome(event);
      if (at !== undefined) lines[at] += outcome;
      else if (outcome) lines.push(`${attemptPrefix(event)}▸ ${event.name}${outcome}`);
      continue;
    }
    const line = describeEvent(event);
    if (line === undefined) continue;
    if (event.type === 'tool_call') callLine.set(key(event), lines.length);
    lines.push(line);
  }
  return lines;
}
