import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { resolveInside } from './paths.js';
import type { ToolDefinition } from './types.js';

const PAGE_LINES = 400;
const PAGE_BYTES = 40 * 1024;
const MAX_LINE_CHARS = 2_000;
/** Above this a file is not loaded at all; the model can still search it or use `sed -n`. */
const MAX_FILE_BYTES = 20 * 1024 * 1024;

const schema = z.object({
  path: z.string().describe('file path relative to the repository root'),
  start_line: z.number().int().min(1).optional().describe('first line to show (1-based)'),
  end_line: z.number().int().min(1).optional().describe('last line to show'),
});

/** Same test as git's: a NUL byte in the first 8000 bytes makes a file binary. */
export function isBinary(buffer: Buffer): boolean {
  return buffer.subarray(0, 8000).includes(0);
}

/** The file's lines without their terminators; a final newline does not start another line. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}

/** `  12 | text` lines, as read_file shows them (edit_file's hints use the same form). */
export function numberLines(lines: string[], firstLine: number, width = String(firstLine + lines.length - 1).length): string {
  return lines
    .map((line, i) => {
      const text = line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}[... ${line.length - MAX_LINE_CHARS} characters cut]` : line;
      return `${String(firstLine + i).padStart(width)} | ${text}`;
    })
    .join('\n');
}

export const readFileTool: ToolDefinition<typeof schema> = {
  name: 'read_file',
  description: `Read a text file with line numbers ("N | text"), at most ${PAGE_LINES} lines per call; page with start_line/end_line.`,
  schema,
  async run(args, context) {
    const { abs, rel } = await resolveInside(context.root, args.path);
    const stat = await fs.stat(abs).catch(() => undefined);
    if (!stat) return { ok: false, output: `file '${args.path}' does not exist; use list_files or search_code to find it` };
    if (stat.isDirectory()) return { ok: false, output: `'${args.path}' is a directory; use list_files to see its files` };
    if (stat.size > MAX_FILE_BYTES) {
      return { ok: false, output: `'${rel}' is too large to read (${stat.size} bytes); use search_code, or run_command with sed -n 'A,Bp'` };
    }
    const buffer = await fs.readFile(abs);
    if (isBinary(buffer)) return { ok: false, output: `'${rel}' is a binary file (${buffer.length} bytes); it cannot be shown as text` };

    const lines = splitLines(buffer.toString('utf8'));
    if (lines.length === 0) return { ok: true, output: `'${rel}' is empty` };
    const start = args.start_line ?? 1;
    if (start > lines.length) {
      return { ok: false, output: `start_line ${start} is past the end of '${rel}', which has ${lines.length} lines` };
    }
    if (args.end_line !== undefined && args.end_line < start) {
      return { ok: false, output: `end_line ${args.end_line} is before start_line ${start}` };
    }
    let end = Math.min(args.end_line ?? lines.length, start + PAGE_LINES - 1, lines.length);
    // Keep the page within the byte budget too (long lines), but always show at least one line.
    let bytes = 0;
    for (let i = start - 1; i < end; i++) {
      bytes += Math.min(lines[i].length, MAX_LINE_CHARS) + 8;
      if (bytes > PAGE_BYTES && i > start - 1) {
        end = i;
        break;
      }
    }

    const body = numberLines(lines.slice(start - 1, end), start, String(end).length);
    if (start === 1 && end === lines.length) return { ok: true, output: body };
    const footer =
      end < lines.length
        ? `[lines ${start}-${end} of ${lines.length}; call read_file with start_line=${end + 1} for more]`
        : `[lines ${start}-${end} of ${lines.length}; end of file]`;
    return { ok: true, output: `${body}\n${footer}` };
  },
};
