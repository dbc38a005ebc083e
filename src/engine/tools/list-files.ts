import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { runProcess } from '../../util/process.js';
import { resolveInside } from './paths.js';
import type { ToolContext, ToolDefinition } from './types.js';

const MAX_ENTRIES = 2_000;
const WALK_MAX_FILES = 50_000;
const WALK_SKIP = new Set(['.git', 'node_modules']);

const schema = z.object({
  path: z.string().optional().describe('directory relative to the repository root; default: the root'),
});

/** Environment for the tools' own read-only git calls: the command allowlist, plus no pathspec magic. */
export function gitEnv(context: ToolContext): NodeJS.ProcessEnv {
  return { ...context.commandEnv, GIT_LITERAL_PATHSPECS: '1', GIT_OPTIONAL_LOCKS: '0' };
}

/**
 * Files under `rel` (root-relative, `/`-separated) without git: skips `.git` and `node_modules`
 * and never follows symbolic links, so a link cannot lead the walk out of the tree.
 */
export async function walkFiles(root: string, rel: string, maxFiles = WALK_MAX_FILES): Promise<string[]> {
  const found: string[] = [];
  const pending = [rel];
  while (pending.length > 0 && found.length < maxFiles) {
    const dir = pending.shift()!;
    const entries = await fs.readdir(path.join(root, dir), { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const child = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!WALK_SKIP.has(entry.name)) pending.push(child);
      } else {
        found.push(child);
        if (found.length >= maxFiles) break;
      }
    }
  }
  return found;
}

/** Tracked plus untracked-not-ignored files, minus tracked files deleted from the working tree. */
async function gitFiles(context: ToolContext, rel: string): Promise<string[] | undefined> {
  const pathspec = rel || '.';
  const options = { cwd: context.root, env: gitEnv(context), timeoutMs: 60_000, maxOutputBytes: 64 * 1024 * 1024, signal: context.signal };
  const listed = await runProcess('git', ['ls-files', '-co', '--exclude-standard', '-z', '--', pathspec], options).catch(() => undefined);
  if (!listed || listed.exitCode !== 0) return undefined;
  const deleted = await runProcess('git', ['ls-files', '-d', '-z', '--', pathspec], options).catch(() => undefined);
  const gone = new Set(deleted?.exitCode === 0 ? deleted.stdout.split('\0') : []);
  const files = new Set(listed.stdout.split('\0').filter((file) => file && !gone.has(file)));
  return [...files].sort();
}

/** When the listing is cut: how many files each directory just below `rel` holds, to narrow by. */
function directoryCounts(files: string[], rel: string): string {
  const counts = new Map<string, number>();
  const prefix = rel ? `${rel}/` : '';
  for (const file of files) {
    const rest = file.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash < 0) continue;
    const dir = prefix + rest.slice(0, slash + 1);
    counts.set(dir, (counts.get(dir) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, 30).map(([dir, n]) => `${dir} (${n})`).join(', ');
}

export const listFilesTool: ToolDefinition<typeof schema> = {
  name: 'list_files',
  description: 'List files (tracked and untracked, not ignored) under a directory, recursively.',
  schema,
  async run(args, context) {
    const { abs, rel } = await resolveInside(context.root, args.path ?? '');
    const stat = await fs.stat(abs).catch(() => undefined);
    if (!stat) return { ok: false, output: `path '${args.path}' does not exist` };
    if (!stat.isDirectory()) return { ok: true, output: rel };

    const files = (await gitFiles(context, rel)) ?? (await walkFiles(context.root, rel));
    if (files.length === 0) return { ok: true, output: `no files under '${rel || '.'}'` };
    if (files.length <= MAX_ENTRIES) return { ok: true, output: files.join('\n') };
    const more = files.length - MAX_ENTRIES;
    return {
      ok: true,
      output:
        `${files.slice(0, MAX_ENTRIES).join('\n')}\n` +
        `[... ${more} more files not shown (${files.length} in all). Files per directory: ${directoryCounts(files, rel)}; ` +
        'call list_files with a narrower path]',
    };
  },
};
