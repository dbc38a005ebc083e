import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempRepo, writeFiles, type TempRepo } from '../helpers/temp-repo.js';
import { call, makeContext, type RecordingContext } from './tool-context.js';

let repo: TempRepo;
let context: RecordingContext;

beforeEach(async () => {
  repo = await makeTempRepo({
    'src/app.ts': 'export function add(a: number, b: number) {\n  return a + b;\n}\n',
    'src/util/fmt.ts': 'export const fmt = (n: number) => `${n}`;\n// TODO: add(1, 2)\n',
    '.gitignore': 'dist/\n',
    'dist/app.js': 'function add(a, b) { return a + b; }\n',
  });
  await writeFiles(repo.root, { 'notes.md': 'add more tests\n', 'blob.bin': Buffer.from('add\0add') });
  context = makeContext(repo.root);
});
afterEach(() => repo.cleanup());

describe('search_code', () => {
  it('finds regex matches with file and line, tracked and untracked, not ignored or binary', async () => {
    const result = await call(context, 'search_code', { query: 'add\\(\\w' });
    expect(result.ok).toBe(true);
    expect(result.output.split('\n').sort()).toEqual([
      'src/app.ts:1:export function add(a: number, b: number) {',
      'src/util/fmt.ts:2:// TODO: add(1, 2)',
    ]);
    const plain = await call(context, 'search_code', { query: 'add' });
    const files = plain.output.split('\n').map((line) => line.split(':')[0]);
    expect(files.sort()).toEqual(['notes.md', 'src/app.ts', 'src/util/fmt.ts']);
  });

  it('searches an invalid regex literally and says so', async () => {
    const result = await call(context, 'search_code', { query: 'add(1' });
    expect(result.output).toBe(
      '(the query is not a valid regular expression; it was searched for as literal text)\nsrc/util/fmt.ts:2:// TODO: add(1, 2)',
    );
  });

  it('limits the search to a path, and answers no matches', async () => {
    expect((await call(context, 'search_code', { query: 'add', path: 'src/util' })).output).toBe('src/util/fmt.ts:2:// TODO: add(1, 2)');
    expect(await call(context, 'search_code', { query: 'nothing-like-this' })).toEqual({ ok: true, output: 'no matches' });
    expect(await call(context, 'search_code', { query: 'x', path: 'nope' })).toMatchObject({ ok: false });
  });

  it('caps the matches with a marker', async () => {
    await writeFiles(repo.root, { 'big.txt': 'needle here\n'.repeat(5000) });
    const result = await call(context, 'search_code', { query: 'needle' });
    const lines = result.output.split('\n');
    expect(lines).toHaveLength(201);
    expect(lines[200]).toBe('[showing 200 of 5000 matches; narrow the query or the path]');
  });

  it('works outside a git repository', async () => {
    const plain = await makeTempRepo({ 'a.txt': 'alpha\nbeta\n', 'sub/b.txt': 'alphabet\n' }, { git: false });
    try {
      const result = await call(makeContext(plain.root), 'search_code', { query: '^alpha' });
      expect(result.output.split('\n').sort()).toEqual(['a.txt:1:alpha', 'sub/b.txt:1:alphabet']);
    } finally {
      await plain.cleanup();
    }
  });

  it('falls back to a plain walk without rg and git', async () => {
    const result = await call(makeContext(repo.root, { commandEnv: { PATH: '/nonexistent' } }), 'search_code', { query: 'return a' });
    // No .gitignore support here, but never .git itself.
    expect(result.output.split('\n')).toContain('src/app.ts:2:  return a + b;');
    expect(result.output).not.toContain('.git/');
  });
});
