import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { resolveInside } from './paths.js';
import { isBinary, numberLines, splitLines } from './read-file.js';
import type { ToolDefinition } from './types.js';

const MAX_LISTED_LINES = 20;
const MAX_SNIPPET_LINES = 30;

const schema = z.object({
  path: z.string().describe('file path relative to the repository root'),
  old_string: z.string().describe('exact text to replace, unique in the file; include enough surrounding lines'),
  new_string: z.string().describe('replacement text'),
});

/** Start offsets of every occurrence, overlapping ones included: they make the text ambiguous too. */
function occurrences(text: string, needle: string): number[] {
  const found: number[] = [];
  for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) found.push(i);
  return found;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function bigrams(text: string): Map<string, number> {
  const grams = new Map<string, number>();
  for (let i = 0; i < text.length - 1; i++) {
    const gram = text.slice(i, i + 2);
    grams.set(gram, (grams.get(gram) ?? 0) + 1);
  }
  return grams;
}

/** Dice coefficient over character bigrams: cheap, linear, and good at "almost the same line". */
function similarity(a: string, b: string): number {
  if (a === b) return 1;
  if (a.length < 2 || b.length < 2) return 0;
  const x = bigrams(a);
  let shared = 0;
  for (const [gram, n] of bigrams(b)) shared += Math.min(n, x.get(gram) ?? 0);
  return (2 * shared) / (a.length - 1 + b.length - 1);
}

const squash = (text: string) => text.replace(/\s+/g, ' ').trim();

/** The error for an old_string that is not in the file: where it probably is, and why it did not match. */
function notFound(rel: string, content: string, oldString: string): string {
  const lines = splitLines(content);
  const oldLines = splitLines(oldString);
  const anchor = oldLines.findIndex((line) => line.trim() !== '');
  const parts = [`old_string was not found in '${rel}'.`];

  if (anchor >= 0) {
    const target = oldLines[anchor].trim();
    const scored = lines
      .map((line, i) => ({ i, score: similarity(line.trim(), target) }))
      .filter((entry) => entry.score >= 0.4)
      .sort((a, b) => b.score - a.score);
    const span = Math.min(oldLines.length, MAX_SNIPPET_LINES);
    const regions: Array<[number, number]> = [];
    for (const { i } of scored) {
      if (regions.length === 2) break;
      const from = Math.max(0, i - anchor - 1);
      const to = Math.min(lines.length, from + span + 2);
      if (regions.some(([a, b]) => from < b && to > a)) continue;
      regions.push([from, to]);
    }
    if (regions.length > 0) {
      parts.push('The most similar lines in the file:');
      const shown = regions.sort((a, b) => a[0] - b[0]).map(([from, to]) => numberLines(lines.slice(from, to), from + 1));
      parts.push(shown.join('\n...\n'));
    } else {
      parts.push(`No line of the file (${lines.length} lines) resembles '${truncate(target)}'.`);
    }
  }

  if (oldLines.filter((line) => line.trim() !== '').every((line) => /^\s*\d+ \| /.test(line))) {
    parts.push('Hint: old_string contains the "N | " line-number prefixes of read_file; leave them out.');
  } else if (squash(content).includes(squash(oldString))) {
    const indent = /^\t/m.test(content) ? 'tabs' : 'spaces';
    parts.push(`Hint: the text is there but its whitespace differs; copy indentation and line breaks exactly (this file indents with ${indent}).`);
  } else {
    parts.push('Hint: old_string must match exactly, whitespace and indentation included; read_file the lines again and copy them.');
  }
  return parts.join('\n');
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}

export const editFileTool: ToolDefinition<typeof schema> = {
  name: 'edit_file',
  description: 'Replace exactly one occurrence of old_string with new_string in a file. Fails if old_string occurs zero or several times.',
  schema,
  async run(args, context) {
    if (args.old_string === '') {
      return { ok: false, output: 'old_string is empty; to create or overwrite a whole file use write_file' };
    }
    if (args.old_string === args.new_string) return { ok: false, output: 'old_string and new_string are the same; nothing to change' };
    const { abs, rel } = await resolveInside(context.root, args.path, { forWrite: true, writePolicy: context.writePolicy });
    const stat = await fs.stat(abs).catch(() => undefined);
    if (!stat) return { ok: false, output: `file '${args.path}' does not exist; use write_file to create it` };
    if (stat.isDirectory()) return { ok: false, output: `'${args.path}' is a directory, not a file` };
    const buffer = await fs.readFile(abs);
    if (isBinary(buffer)) return { ok: false, output: `'${rel}' is a binary file; it cannot be edited as text` };
    const content = buffer.toString('utf8');

    // Keep the file's line endings: the model writes "\n", a CRLF file stays CRLF.
    const crlf = content.includes('\r\n');
    const toCrlf = (text: string) => text.replace(/\r?\n/g, '\r\n');
    let oldString = args.old_string;
    let found = occurrences(content, oldString);
    if (found.length === 0 && crlf && oldString.includes('\n')) {
      oldString = toCrlf(oldString);
      found = occurrences(content, oldString);
    }
    // New lines follow the replaced text, or the file's majority when the replaced text has none.
    const lf = content.split('\n').length - 1;
    const crlfCount = content.split('\r\n').length - 1;
    const useCrlf = oldString.includes('\n') ? oldString.includes('\r\n') : crlfCount > lf - crlfCount;
    const newString = useCrlf ? toCrlf(args.new_string) : args.new_string;

    if (found.length === 0) return { ok: false, output: notFound(rel, content, args.old_string) };
    if (found.length > 1) {
      const at = found.slice(0, MAX_LISTED_LINES).map((offset) => lineOf(content, offset));
      const more = found.length > MAX_LISTED_LINES ? `, and ${found.length - MAX_LISTED_LINES} more` : '';
      return {
        ok: false,
        output: `old_string occurs ${found.length} times in '${rel}' (at lines ${at.join(', ')}${more}); include more surrounding lines in old_string so that it matches exactly one place`,
      };
    }

    const offset = found[0];
    const updated = content.slice(0, offset) + newString + content.slice(offset + oldString.length);
    await fs.writeFile(abs, updated);
    context.onFileChanged?.(rel, 'modified');

    const first = lineOf(content, offset);
    const newLines = splitLines(newString).length || 1;
    const lines = splitLines(updated);
    const from = Math.max(0, first - 3);
    const to = Math.min(lines.length, first - 1 + newLines + 2);
    const snippet = to - from <= MAX_SNIPPET_LINES ? `\n${numberLines(lines.slice(from, to), from + 1)}` : '';
    return { ok: true, output: `edited '${rel}' at line ${first}${snippet}` };
  },
};
