import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { runProcess, type ProcessResult } from '../../util/process.js';
import { truncateEnd } from '../../util/text.js';
import { gitEnv, walkFiles } from './list-files.js';
import { isBinary } from './read-file.js';
import { resolveInside } from './paths.js';
import type { ToolContext, ToolDefinition } from './types.js';

const MAX_MATCHES = 200;
const MAX_BYTES = 30 * 1024;
const MAX_LINE_CHARS = 300;
/** Raw output kept from the search program: enough to count well past MAX_MATCHES. */
const RAW_OUTPUT_BYTES = 2 * 1024 * 1024;
const SEARCH_TIMEOUT_MS = 60_000;
const FALLBACK_MAX_FILE_BYTES = 1024 * 1024;

const schema = z.object({
  query: z.string().min(1).describe('regular expression (PCRE-like), or a literal string'),
  path: z.string().optional().describe('file or directory to search; default: the whole repository'),
});

interface SearchOutcome {
  /** `file:line:text` lines. */
  lines: string[];
  /** The program's output was cut, so there are more matches than `lines`. */
  cut: boolean;
  /** The query was not a valid regex and was searched for literally. */
  literal: boolean;
}

type Attempt = ProcessResult | 'missing';

function run(context: ToolContext, command: string, args: string[]): Promise<Attempt> {
  return runProcess(command, args, {
    cwd: context.root,
    env: gitEnv(context),
    timeoutMs: SEARCH_TIMEOUT_MS,
    maxOutputBytes: RAW_OUTPUT_BYTES,
    signal: context.signal,
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return 'missing' as const;
    throw error;
  });
}

const OMITTED = /\n\[\.\.\. \d+ bytes of output omitted \.\.\.\]\n/;

/** Lines of stdout; when runProcess cut it, only the head, without its last partial line. */
function outputLines(result: ProcessResult): { lines: string[]; cut: boolean } {
  let text = result.stdout;
  const marker = result.droppedBytes > 0 ? OMITTED.exec(text) : null;
  if (marker) {
    text = text.slice(0, marker.index);
    text = text.slice(0, text.lastIndexOf('\n') + 1);
  }
  return { lines: text.split('\n').filter((line) => line !== ''), cut: marker !== null || result.timedOut };
}

/** An error exit; a search cut short by the time limit still returns what it found. */
function failed(result: ProcessResult): boolean {
  return !result.timedOut && !result.aborted && result.exitCode !== 0 && result.exitCode !== 1;
}

async function ripgrep(context: ToolContext, query: string, rel: string): Promise<SearchOutcome | 'missing'> {
  const base = ['--no-config', '--line-number', '--no-heading', '--with-filename', '--color', 'never', '--hidden', '--glob', '!.git'];
  const target = rel ? ['--', rel] : [];
  let literal = false;
  let result = await run(context, 'rg', [...base, '-e', query, ...target]);
  if (result === 'missing') return 'missing';
  // rg exits 2 for a bad regex, and also when some file was unreadable yet others matched.
  if (failed(result) && result.stdout === '') {
    literal = true;
    const retry = await run(context, 'rg', [...base, '--fixed-strings', '-e', query, ...target]);
    if (retry === 'missing') return 'missing';
    result = retry;
  }
  if (failed(result) && result.stdout === '') throw new Error(`search failed: ${result.stderr.trim()}`);
  return { ...outputLines(result), literal };
}

async function gitGrep(context: ToolContext, query: string, rel: string): Promise<SearchOutcome | 'missing'> {
  const args = (mode: string[], noIndex: boolean) => [
    '-c', 'core.quotepath=false', 'grep', '-n', '-I', '--no-color',
    ...(noIndex ? ['--no-index', '--exclude-standard'] : ['--untracked']),
    ...mode, '-e', query, '--', rel || '.',
  ];
  let noIndex = false;
  let literal = false;
  let result = await run(context, 'git', args(['-P'], noIndex));
  if (result === 'missing') return 'missing';
  if (failed(result) && /not a git repository/i.test(result.stderr)) {
    noIndex = true;
    result = (await run(context, 'git', args(['-P'], noIndex))) as ProcessResult;
  }
  // An invalid regex, or a git built without PCRE: search the text literally.
  if (failed(result)) {
    literal = true;
    result = (await run(context, 'git', args(['-F'], noIndex))) as ProcessResult;
  }
  if (failed(result)) throw new Error(`search failed: ${result.stderr.trim()}`);
  return { ...outputLines(result), literal };
}

/** Without rg and git: a walk that reads each text file. */
async function plainSearch(context: ToolContext, query: string, abs: string, rel: string): Promise<SearchOutcome> {
  let test: (line: string) => boolean;
  let literal = false;
  try {
    const regex = new RegExp(query);
    test = (line) => regex.test(line);
  } catch {
    literal = true;
    test = (line) => line.includes(query);
  }
  const stat = await fs.stat(abs);
  const files = stat.isDirectory() ? await walkFiles(context.root, rel) : [rel];
  const lines: string[] = [];
  for (const file of files) {
    const full = path.join(context.root, file);
    const info = await fs.lstat(full).catch(() => undefined);
    if (!info?.isFile() || info.size > FALLBACK_MAX_FILE_BYTES) continue;
    const buffer = await fs.readFile(full);
    if (isBinary(buffer)) continue;
    buffer.toString('utf8').split('\n').forEach((line, i) => {
      if (test(line)) lines.push(`${file}:${i + 1}:${line.replace(/\r$/, '')}`);
    });
    if (lines.length > MAX_MATCHES * 10) return { lines, cut: true, literal };
  }
  return { lines, cut: false, literal };
}

function render(outcome: SearchOutcome): string {
  const note = outcome.literal ? '(the query is not a valid regular expression; it was searched for as literal text)\n' : '';
  if (outcome.lines.length === 0) return `${note}no matches`;
  const shown: string[] = [];
  let bytes = 0;
  for (const line of outcome.lines) {
    const cutLine = truncateEnd(line, MAX_LINE_CHARS);
    if (shown.length >= MAX_MATCHES || bytes + cutLine.length > MAX_BYTES) break;
    shown.push(cutLine);
    bytes += cutLine.length + 1;
  }
  let text = note + shown.join('\n');
  const rest = outcome.lines.length - shown.length;
  if (rest > 0 || outcome.cut) {
    const total = outcome.cut ? `more than ${outcome.lines.length}` : String(outcome.lines.length);
    text += `\n[showing ${shown.length} of ${total} matches; narrow the query or the path]`;
  }
  return text;
}

export const searchCodeTool: ToolDefinition<typeof schema> = {
  name: 'search_code',
  description:
    'Search file contents (case-sensitive regex; an invalid regex is searched literally). Returns file:line:text, ignoring gitignored and binary files.',
  schema,
  async run(args, context) {
    const { abs, rel } = await resolveInside(context.root, args.path ?? '');
    if (!(await fs.stat(abs).catch(() => undefined))) return { ok: false, output: `path '${args.path}' does not exist` };
    let result = await ripgrep(context, args.query, rel);
    if (result === 'missing') result = await gitGrep(context, args.query, rel);
    if (result === 'missing') result = await plainSearch(context, args.query, abs, rel);
    return { ok: true, output: render(result) };
  },
};
