import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { resolveInside } from './paths.js';
import { splitLines } from './read-file.js';
import type { ToolDefinition } from './types.js';

const schema = z.object({
  path: z.string().describe('file path relative to the repository root'),
  content: z.string().describe('the complete new content of the file'),
});

/** Every line break of the text is CRLF. */
function allCrlf(text: string): boolean {
  return text.includes('\r\n') && !/(^|[^\r])\n/.test(text);
}

export const writeFileTool: ToolDefinition<typeof schema> = {
  name: 'write_file',
  description: 'Create or overwrite a file with the complete content (parent directories are created). Prefer edit_file to change an existing file.',
  schema,
  async run(args, context) {
    const { abs, rel } = await resolveInside(context.root, args.path, { forWrite: true, writePolicy: context.writePolicy });
    const stat = await fs.stat(abs).catch(() => undefined);
    if (stat?.isDirectory()) return { ok: false, output: `'${args.path}' is a directory` };

    let content = args.content;
    if (stat) {
      const before = await fs.readFile(abs, 'utf8');
      // A CRLF file rewritten by a model that writes "\n" should not become a whole-file diff.
      if (allCrlf(before) && !content.includes('\r')) content = content.replace(/\n/g, '\r\n');
      if (before === content) return { ok: true, output: `'${rel}' already has this content; nothing changed` };
    } else {
      await fs.mkdir(path.dirname(abs), { recursive: true });
    }
    await fs.writeFile(abs, content);
    context.onFileChanged?.(rel, stat ? 'modified' : 'added');
    const lines = splitLines(content).length;
    return { ok: true, output: `${stat ? 'overwrote' : 'created'} '${rel}' (${lines} line${lines === 1 ? '' : 's'})` };
  },
};
