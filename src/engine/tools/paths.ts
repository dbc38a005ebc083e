import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AutocoderError } from '../errors.js';

export interface ResolvedPath {
  /** Absolute path inside the (real) root, lexically normalized. */
  abs: string;
  /** Path relative to the root, `/`-separated; `''` for the root itself. */
  rel: string;
}

export interface ResolveOptions {
  /** The path is about to be created or changed: `.git` and the write policy apply. */
  forWrite?: boolean;
  /** Returns a reason when the agent may not change this path (see `ToolContext.writePolicy`). */
  writePolicy?: (relPath: string) => string | undefined;
}

const MAX_LINK_HOPS = 40;

function outside(relPath: string): AutocoderError {
  return new AutocoderError(
    'path_outside',
    `path '${relPath}' is outside the working tree; use a path relative to the repository root`,
  );
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Real path of `p` even when its tail does not exist yet: the deepest existing ancestor is
 * resolved by the OS and the missing rest appended. A dangling symbolic link on the way is
 * followed by hand, because creating a file through it would land wherever it points.
 */
async function realpathLoose(p: string, hops = 0): Promise<string> {
  if (hops > MAX_LINK_HOPS) throw new AutocoderError('tool_failed', 'too many levels of symbolic links');
  try {
    return await fs.realpath(p);
  } catch (error) {
    const code = errorCode(error);
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
  }
  const parent = path.dirname(p);
  if (parent === p) return p;
  const realParent = await realpathLoose(parent, hops);
  const stat = await fs.lstat(p).catch(() => undefined);
  if (stat?.isSymbolicLink()) {
    const target = await fs.readlink(p);
    return realpathLoose(path.resolve(realParent, target), hops + 1);
  }
  return path.join(realParent, path.basename(p));
}

function hasGitSegment(rel: string): boolean {
  return rel.split('/').some((segment) => segment.toLowerCase() === '.git');
}

function toSlashes(rel: string): string {
  return rel.split(path.sep).join('/');
}

/**
 * Resolves a path the model gave against the working tree, refusing everything that could reach
 * outside it: absolute paths, `..` escapes, NUL bytes and symbolic links whose target leaves the
 * tree. With `forWrite`, `.git` and the repository's write policy are enforced on both the path as
 * written and the path it really reaches (a link into `.git/` must not be a way around the rule).
 */
export async function resolveInside(root: string, relPath: string, options: ResolveOptions = {}): Promise<ResolvedPath> {
  if (relPath.includes('\0')) {
    throw new AutocoderError('path_outside', 'path contains a NUL byte; use a plain relative path');
  }
  if (path.isAbsolute(relPath)) throw outside(relPath);
  const realRoot = await fs.realpath(root);
  const abs = path.resolve(realRoot, relPath);
  if (!isInside(realRoot, abs)) throw outside(relPath);
  const real = await realpathLoose(abs);
  if (!isInside(realRoot, real)) throw outside(relPath);

  const rel = toSlashes(path.relative(realRoot, abs));
  if (options.forWrite) {
    const realRel = toSlashes(path.relative(realRoot, real));
    if (rel === '' || realRel === '') {
      throw new AutocoderError('tool_failed', 'the path is the repository root itself; give the path of a file');
    }
    if (hasGitSegment(rel) || hasGitSegment(realRel)) {
      throw new AutocoderError('tool_failed', `path '${relPath}' is inside .git; files in .git may not be changed`);
    }
    for (const candidate of new Set([rel, realRel])) {
      const reason = options.writePolicy?.(candidate);
      if (reason) throw new AutocoderError('tool_failed', `path '${candidate}' may not be changed: ${reason}`);
    }
  }
  return { abs, rel };
}
