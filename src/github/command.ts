import { removeHtmlComments, removeInvisible } from './sanitize.js';

/**
 * The `/autocoder` command in a comment. Strict on purpose: a command starts a run that pushes
 * code, so only a line a person would read as a command counts. Not one inside a code block or
 * code span (someone showing how to use it), a quote (someone replying to it), an HTML comment
 * (an issue template's hint), or indented by four spaces (markdown code).
 */
export type Command =
  | { kind: 'run'; instructions: string; attempts?: number; models?: string[] }
  | { kind: 'plan'; instructions: string }
  | { kind: 'status' }
  | { kind: 'cancel' }
  | { kind: 'retry' }
  | { kind: 'help' }
  /** Carry out the thread's latest plan comment, as a writer may have edited it. */
  | { kind: 'approve'; instructions: string }
  /** Go on from where the thread's last run stopped, on its branch, with its conversation. */
  | { kind: 'continue'; instructions: string }
  /** A lone word that looks like a mistyped subcommand: answer with help, start nothing. */
  | { kind: 'unknown'; word: string }
  /** `/autocoder` with options that are wrong (`--attempts ten`): answer with the message. */
  | { kind: 'invalid'; message: string };

export type CommandKind = Command['kind'];

export const SUBCOMMANDS = ['run', 'plan', 'status', 'cancel', 'retry', 'help', 'approve', 'continue'] as const;

/** Most attempts one request may ask for (as `attempts` in `.github/autocoder.yml`). */
export const MAX_ATTEMPTS = 5;

/**
 * Words a person may well mean as a command. Run as instructions, `/autocoder stop` would start
 * a run instead of stopping one, so they get the help text instead.
 */
const COMMAND_LIKE = new Set(['stop', 'abort', 'halt', 'kill', 'rerun', 'restart', 'again', 'state', 'progress', 'info', 'usage', 'commands', '?']);

const COMMAND_LINE = /^ {0,3}\/autocoder(?=\s|$)/i;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/** The inline code spans of a paragraph as `[start, end)` offsets; linear in its length. */
function codeSpans(paragraph: string): Array<[number, number]> {
  const runs = [...paragraph.matchAll(/`+/g)].map((m) => ({ at: m.index!, length: m[0].length }));
  // next[i]: the following run of the same length, which is the one that closes run i.
  const next = new Array<number>(runs.length).fill(-1);
  const seen = new Map<number, number>();
  for (let i = runs.length - 1; i >= 0; i--) {
    next[i] = seen.get(runs[i].length) ?? -1;
    seen.set(runs[i].length, i);
  }
  const spans: Array<[number, number]> = [];
  for (let i = 0; i < runs.length; i++) {
    const close = next[i];
    if (close === -1) continue; // An unmatched run is literal text.
    spans.push([runs[i].at, runs[close].at + runs[close].length]);
    i = close;
  }
  return spans;
}

/** The index of the first line that is a command, or -1. */
function findCommandLine(lines: string[]): number {
  let fence: string | undefined;
  let paragraph: { start: number; lines: string[]; quoted: boolean; candidates: number[] } | undefined;

  // The first candidate of the paragraph that is not inside a code span begun on an earlier line.
  const closeParagraph = (): number => {
    const current = paragraph;
    paragraph = undefined;
    if (!current || current.candidates.length === 0) return -1;
    const spans = codeSpans(current.lines.join('\n'));
    const offsets: number[] = [];
    let offset = 0;
    for (const line of current.lines) {
      offsets.push(offset);
      offset += line.length + 1;
    }
    for (const index of current.candidates) {
      const line = current.lines[index - current.start];
      const at = offsets[index - current.start] + line.search(/\S/);
      if (!spans.some(([s, e]) => at > s && at < e)) return index;
    }
    return -1;
  };

  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    const fenceMatch = FENCE.exec(line);
    if (fence) {
      const rest = fenceMatch ? line.slice(fenceMatch[0].length) : '';
      if (fenceMatch && fenceMatch[1][0] === fence[0] && fenceMatch[1].length >= fence.length && !rest.trim()) {
        fence = undefined;
      }
      continue;
    }
    if (fenceMatch && !(fenceMatch[1][0] === '`' && line.slice(fenceMatch[0].length).includes('`'))) {
      const found = closeParagraph();
      if (found !== -1) return found;
      fence = fenceMatch[1];
      continue;
    }
    if (!line.trim()) {
      const found = closeParagraph();
      if (found !== -1) return found;
      continue;
    }
    paragraph ??= { start: index, lines: [], quoted: false, candidates: [] };
    paragraph.lines.push(line);
    // A line right after a quoted line, with no blank line between, is part of the quote
    // (markdown's "lazy continuation"): it renders inside the quote.
    if (/^ {0,3}>/.test(line)) paragraph.quoted = true;
    else if (!paragraph.quoted && COMMAND_LINE.test(line)) paragraph.candidates.push(index);
  }
  return closeParagraph();
}

/** Edit distance with transpositions (`stauts` is one away from `status`). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

function looksLikeSubcommand(word: string): boolean {
  if (COMMAND_LIKE.has(word)) return true;
  return SUBCOMMANDS.some(
    (sub) => (word.length >= 3 && sub.startsWith(word)) || distance(word, sub) <= (word.length <= 4 ? 1 : 2),
  );
}

type RunOptions = { attempts?: number; models?: string[] };

/** Leading `--attempts N` and `--models a,b` (also `--opt=value`); `--` ends the options. */
function parseRunOptions(text: string): { options: RunOptions; rest: string } | { error: string } {
  const options: RunOptions = {};
  let rest = text;
  for (;;) {
    const end = /^--(?=\s|$)/.exec(rest);
    if (end) return { options, rest: rest.slice(2).trim() };
    const match = /^--([a-z][a-z-]*)(?:=(\S*)|[ \t]+(?!--)(\S+)|(?=\s|$))/i.exec(rest);
    if (!match) break;
    const name = match[1].toLowerCase();
    const value = match[2] ?? match[3];
    rest = rest.slice(match[0].length).replace(/^[ \t]+/, '');
    if (name === 'attempts') {
      const n = value !== undefined && /^\d+$/.test(value) ? Number(value) : NaN;
      if (!(n >= 1 && n <= MAX_ATTEMPTS)) {
        return { error: `\`--attempts\`: expected a whole number from 1 to ${MAX_ATTEMPTS}, got ${value === undefined ? 'nothing' : `"${value}"`}` };
      }
      options.attempts = n;
    } else if (name === 'models' || name === 'model') {
      const models = (value ?? '').split(',').map((m) => m.trim()).filter(Boolean);
      if (models.length === 0) return { error: `\`--${name}\`: expected model names separated by commas, got nothing` };
      options.models = models;
    } else {
      return { error: `unknown option \`--${name}\` (the options are \`--attempts N\` and \`--models a,b\`)` };
    }
  }
  return { options, rest };
}

/**
 * The first `/autocoder` command in a comment, or undefined when there is none. The text after
 * the command word on its line and every line after it are the instructions: a person who
 * writes a command and then explains in a few paragraphs means all of it.
 */
export function parseCommand(body: string): Command | undefined {
  const lines = removeHtmlComments(removeInvisible(body.replace(/\r\n?/g, '\n'))).split('\n');
  const index = findCommandLine(lines);
  if (index === -1) return undefined;
  const first = lines[index].replace(COMMAND_LINE, '').trim();
  const text = [first, ...lines.slice(index + 1)].join('\n').trim();

  const wordMatch = /^(\S+)/.exec(text);
  const word = wordMatch?.[1] ?? '';
  const sub = word.replace(/[.!?:,;]+$/, '').toLowerCase();
  const after = text.slice(word.length).trim();

  switch (sub) {
    case 'status':
    case 'cancel':
    case 'retry':
    case 'help':
      // Whatever follows is ignored: `/autocoder cancel this please` must cancel, not run.
      return { kind: sub };
    case 'plan':
    case 'approve':
    case 'continue':
      return { kind: sub, instructions: after };
    case 'run':
      return run(after);
    case '--help':
      return { kind: 'help' };
  }
  const lone = !/\s/.test(text);
  if (lone && /^[a-z?]+$/.test(word) && looksLikeSubcommand(word)) return { kind: 'unknown', word };
  return run(text);
}

function run(text: string): Command {
  const parsed = parseRunOptions(text);
  if ('error' in parsed) return { kind: 'invalid', message: parsed.error };
  return { kind: 'run', instructions: parsed.rest.trim(), ...parsed.options };
}

/** The reply to `/autocoder help` (and to a mistyped command), as markdown. */
export function helpText(label: string): string {
  const safeLabel = label.replace(/`/g, "'");
  return [
    '### autocoder commands',
    '',
    `Add the label \`${safeLabel}\` to an issue, or comment on it with a line that starts with one of these:`,
    '',
    '| command | does |',
    '| --- | --- |',
    '| `/autocoder` | work on this issue and open a pull request |',
    '| `/autocoder <instructions>` | the same, with your instructions (the rest of the comment counts too) |',
    '| `/autocoder plan [<instructions>]` | read the code and answer with a plan; nothing is pushed |',
    '| `/autocoder approve [<instructions>]` | carry out the latest plan as its comment reads now (ticking its box does the same) |',
    '| `/autocoder continue [<instructions>]` | go on with the last run where it stopped (out of steps or time, failed, cancelled), on the same branch and pull request |',
    '| `/autocoder status` | report the state of the current run |',
    '| `/autocoder cancel` | stop the running or queued run |',
    '| `/autocoder retry` | run the last request again |',
    '| `/autocoder help` | show this list |',
    '',
    'On a pull request autocoder opened, `/autocoder <feedback>` (also in a review or on a line of the diff) adds commits to the same pull request.',
    '',
    `Options for a run: \`--attempts N\` (1 to ${MAX_ATTEMPTS}) and \`--models a,b\`, e.g. \`/autocoder --attempts 2 fix the flaky test\`.`,
    '',
    'Only people with write access to the repository can start, cancel or retry runs. Settings live in `.github/autocoder.yml`.',
  ].join('\n');
}
