import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempRepo, writeFiles, type TempRepo } from '../helpers/temp-repo.js';
import { call, makeContext, type RecordingContext } from './tool-context.js';

let repo: TempRepo;
let context: RecordingContext;

const long = Array.from({ length: 1234 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';

beforeEach(async () => {
  repo = await makeTempRepo({
    'README.md': '# demo\n',
    'src/app.ts': 'export function add(a: number, b: number) {\n  return a + b;\n}\n',
    'src/long.txt': long,
    'src/dup.ts': 'const x = 1;\nconst y = 2;\nconst x = 1;\n',
    'win.txt': 'one\r\ntwo\r\nthree\r\n',
    '.gitignore': 'dist/\n',
    'dist/out.js': 'ignored\n',
  });
  await writeFiles(repo.root, { 'bin.dat': Buffer.from([1, 2, 0, 3]), 'notes/untracked.md': 'new\n' });
  context = makeContext(repo.root);
});
afterEach(() => repo.cleanup());

describe('list_files', () => {
  it('lists tracked and untracked files, not ignored ones, and not deleted ones', async () => {
    await fs.rm(path.join(repo.root, 'README.md'));
    const result = await call(context, 'list_files', {});
    expect(result.ok).toBe(true);
    const files = result.output.split('\n');
    expect(files).toContain('src/app.ts');
    expect(files).toContain('notes/untracked.md');
    expect(files).toContain('.gitignore');
    expect(files).not.toContain('dist/out.js');
    expect(files).not.toContain('README.md');
    expect(files.some((file) => file.startsWith('.git/'))).toBe(false);
  });

  it('lists under a path, root-relative', async () => {
    const result = await call(context, 'list_files', { path: 'src' });
    expect(result.output.split('\n')).toEqual(['src/app.ts', 'src/dup.ts', 'src/long.txt']);
    expect((await call(context, 'list_files', { path: 'nope' })).ok).toBe(false);
  });

  it('caps long listings and says how to narrow them', async () => {
    await writeFiles(repo.root, Object.fromEntries(Array.from({ length: 2100 }, (_, i) => [`many/f${i}.txt`, 'x'])));
    const result = await call(context, 'list_files', {});
    const lines = result.output.split('\n');
    expect(lines.length).toBe(2001);
    expect(lines[2000]).toMatch(/more files not shown .*many\/ \(2100\).*narrower path/);
  });

  it('walks the directory when it is not a git repository', async () => {
    const plain = await makeTempRepo({ 'a.txt': 'a', 'node_modules/x/index.js': 'x', 'sub/b.txt': 'b' }, { git: false });
    try {
      const result = await call(makeContext(plain.root), 'list_files', {});
      expect(result.output.split('\n')).toEqual(['a.txt', 'sub/b.txt']);
    } finally {
      await plain.cleanup();
    }
  });
});

describe('read_file', () => {
  it('shows a short file whole with line numbers', async () => {
    const result = await call(context, 'read_file', { path: 'src/app.ts' });
    expect(result).toEqual({ ok: true, output: '1 | export function add(a: number, b: number) {\n2 |   return a + b;\n3 | }' });
  });

  it('pages long files and says how to go on', async () => {
    const first = await call(context, 'read_file', { path: 'src/long.txt' });
    const lines = first.output.split('\n');
    expect(lines).toHaveLength(401);
    expect(lines[0]).toBe('  1 | line 1');
    expect(lines[400]).toBe('[lines 1-400 of 1234; call read_file with start_line=401 for more]');
    const last = await call(context, 'read_file', { path: 'src/long.txt', start_line: 1201 });
    expect(last.output.split('\n')[0]).toBe('1201 | line 1201');
    expect(last.output).toMatch(/\[lines 1201-1234 of 1234; end of file\]$/);
    const range = await call(context, 'read_file', { path: 'src/long.txt', start_line: 10, end_line: 12 });
    expect(range.output).toBe('10 | line 10\n11 | line 11\n12 | line 12\n[lines 10-12 of 1234; call read_file with start_line=13 for more]');
    expect((await call(context, 'read_file', { path: 'src/long.txt', start_line: 5000 })).output).toMatch(/past the end.*1234 lines/);
  });

  it('keeps a page within the byte budget', async () => {
    await writeFiles(repo.root, { 'wide.txt': `${'x'.repeat(1000)}\n`.repeat(300) });
    const result = await call(context, 'read_file', { path: 'wide.txt' });
    expect(result.output.length).toBeLessThan(45 * 1024);
    expect(result.output).toMatch(/call read_file with start_line=\d+ for more\]$/);
  });

  it('refuses binary files and directories with a hint', async () => {
    expect(await call(context, 'read_file', { path: 'bin.dat' })).toMatchObject({ ok: false, output: expect.stringMatching(/binary/) });
    expect(await call(context, 'read_file', { path: 'src' })).toMatchObject({ ok: false, output: expect.stringMatching(/directory; use list_files/) });
    expect(await call(context, 'read_file', { path: 'missing.ts' })).toMatchObject({ ok: false, output: expect.stringMatching(/does not exist/) });
  });
});

describe('edit_file', () => {
  it('replaces the one occurrence and reports the change', async () => {
    const result = await call(context, 'edit_file', { path: 'src/app.ts', old_string: 'return a + b;', new_string: 'return a + b + 0;' });
    expect(result.ok).toBe(true);
    expect(result.output).toMatch(/^edited 'src\/app.ts' at line 2\n/);
    expect(await fs.readFile(path.join(repo.root, 'src/app.ts'), 'utf8')).toContain('return a + b + 0;');
    expect(context.changes).toEqual([['src/app.ts', 'modified']]);
  });

  it('takes $ patterns in new_string literally', async () => {
    await call(context, 'edit_file', { path: 'src/app.ts', old_string: 'a + b', new_string: "$& $' $1" });
    expect(await fs.readFile(path.join(repo.root, 'src/app.ts'), 'utf8')).toContain("return $& $' $1;");
  });

  it('shows the closest lines when old_string is not found', async () => {
    const result = await call(context, 'edit_file', { path: 'src/app.ts', old_string: 'return a+b;', new_string: 'x' });
    expect(result.ok).toBe(false);
    expect(result.output).toContain("old_string was not found in 'src/app.ts'");
    expect(result.output).toContain('2 |   return a + b;');
    expect(result.output).toMatch(/whitespace/);
    expect(context.changes).toEqual([]);
  });

  it('spots read_file line-number prefixes in old_string', async () => {
    const result = await call(context, 'edit_file', { path: 'src/app.ts', old_string: '2 |   return a + b;', new_string: 'x' });
    expect(result.output).toMatch(/line-number prefixes/);
  });

  it('gives the count and lines of several matches', async () => {
    const result = await call(context, 'edit_file', { path: 'src/dup.ts', old_string: 'const x = 1;', new_string: 'const z = 1;' });
    expect(result).toEqual({
      ok: false,
      output: expect.stringContaining("old_string occurs 2 times in 'src/dup.ts' (at lines 1, 3); include more surrounding lines"),
    });
    expect(await fs.readFile(path.join(repo.root, 'src/dup.ts'), 'utf8')).toBe('const x = 1;\nconst y = 2;\nconst x = 1;\n');
  });

  it('refuses an empty old_string and keeps CRLF line endings', async () => {
    expect((await call(context, 'edit_file', { path: 'src/app.ts', old_string: '', new_string: 'x' })).output).toMatch(/use write_file/);
    const result = await call(context, 'edit_file', { path: 'win.txt', old_string: 'one\ntwo', new_string: 'one\n1.5\ntwo' });
    expect(result.ok).toBe(true);
    expect(await fs.readFile(path.join(repo.root, 'win.txt'), 'utf8')).toBe('one\r\n1.5\r\ntwo\r\nthree\r\n');
    await call(context, 'edit_file', { path: 'win.txt', old_string: 'three', new_string: 'three\nfour' });
    expect(await fs.readFile(path.join(repo.root, 'win.txt'), 'utf8')).toBe('one\r\n1.5\r\ntwo\r\nthree\r\nfour\r\n');
  });
});

describe('write_file', () => {
  it('creates files with their directories and overwrites', async () => {
    const created = await call(context, 'write_file', { path: 'src/new/deep/file.ts', content: 'a\nb\n' });
    expect(created).toEqual({ ok: true, output: "created 'src/new/deep/file.ts' (2 lines)" });
    const overwritten = await call(context, 'write_file', { path: 'README.md', content: '# new\n' });
    expect(overwritten.output).toBe("overwrote 'README.md' (1 line)");
    expect(await fs.readFile(path.join(repo.root, 'README.md'), 'utf8')).toBe('# new\n');
    expect(context.changes).toEqual([['src/new/deep/file.ts', 'added'], ['README.md', 'modified']]);
  });

  it('applies the write policy', async () => {
    const guarded = makeContext(repo.root, { writePolicy: (rel) => (rel.startsWith('.github/workflows/') ? 'blocked by blockedPaths' : undefined) });
    const result = await call(guarded, 'write_file', { path: '.github/workflows/ci.yml', content: 'on: push' });
    expect(result).toEqual({ ok: false, output: "path '.github/workflows/ci.yml' may not be changed: blocked by blockedPaths" });
    await expect(fs.stat(path.join(repo.root, '.github'))).rejects.toThrow();
  });
});

describe('finish', () => {
  it('ends with the summary', async () => {
    expect(await call(context, 'finish', { summary: 'Fixed it.' })).toEqual({ ok: true, output: 'finished', finish: { summary: 'Fixed it.' } });
  });
});
