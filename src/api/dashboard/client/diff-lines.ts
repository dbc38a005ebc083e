/** What a line of a unified diff is, for colouring. */
export type DiffKind = 'file' | 'meta' | 'hunk' | 'add' | 'del' | 'context';

export interface DiffLine {
  kind: DiffKind;
  text: string;
}

/**
 * Classifies a `git diff` line by line. Which part of a file's diff a line is in matters: inside
 * a hunk, `--- x` is a removed line that starts with `--`, not a file header.
 */
export function classifyDiff(text: string): DiffLine[] {
  const lines = text.replace(/\n$/, '').split('\n');
  const out: DiffLine[] = [];
  let inHunk = false;
  for (const line of lines) {
    let kind: DiffKind;
    if (line.startsWith('diff ')) {
      inHunk = false;
      kind = 'file';
    } else if (line.startsWith('@@')) {
      inHunk = true;
      kind = 'hunk';
    } else if (!inHunk) {
      kind = 'meta';
    } else if (line.startsWith('+')) kind = 'add';
    else if (line.startsWith('-')) kind = 'del';
    else kind = 'context';
    out.push({ kind, text: line });
  }
  return text === '' ? [] : out;
}
