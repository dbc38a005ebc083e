import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';
import { call, makeContext, type RecordingContext } from './tool-context.js';

let repo: TempRepo;
let outside: string;
let context: RecordingContext;
const marker = `autocoder-probe-${process.pid}-${Date.now()}`;

// Nothing here may change the repository, so one is shared by all the tests.
beforeAll(async () => {
  repo = await makeTempRepo({ 'src/a.ts': 'export const a = 1;\n' });
  outside = await makeTempDir('autocoder-outside-');
  await fs.writeFile(path.join(outside, 'secret.txt'), `${marker} secret\n`);
  await fs.symlink(outside, path.join(repo.root, 'escape'));
  await fs.symlink(os.tmpdir(), path.join(repo.root, 'tmp'));
  await fs.symlink(path.join(outside, 'secret.txt'), path.join(repo.root, 'secret-link.txt'));
  await fs.symlink(path.join(outside, 'planted.txt'), path.join(repo.root, 'dangling.txt'));
  await fs.symlink('.git', path.join(repo.root, 'dotgit'));
  context = makeContext(repo.root);
});
afterAll(async () => {
  await repo.cleanup();
  await fs.rm(outside, { recursive: true, force: true });
});

const OUTSIDE = /outside the working tree; use a path relative to the repository root/;

describe('paths leading out of the working tree', () => {
  it.each([
    ['read_file', { path: '../../etc/passwd' }],
    ['read_file', { path: '/etc/passwd' }],
    ['read_file', { path: 'escape/secret.txt' }],
    ['read_file', { path: 'secret-link.txt' }],
    ['read_file', { path: 'tmp/@OUTSIDE@/secret.txt' }],
    ['list_files', { path: 'escape' }],
    ['list_files', { path: '..' }],
    ['search_code', { query: marker, path: 'escape' }],
    ['search_code', { query: marker, path: '/tmp' }],
    ['write_file', { path: 'escape/pwned.txt', content: 'x' }],
    ['write_file', { path: 'tmp/pwned.txt', content: 'x' }],
    ['write_file', { path: 'dangling.txt', content: 'x' }],
    ['write_file', { path: '../pwned.txt', content: 'x' }],
    ['edit_file', { path: 'secret-link.txt', old_string: 'secret', new_string: 'x' }],
  ])('%s %j is refused', async (name, args) => {
    const result = await call(context, name, JSON.stringify(args).replace('@OUTSIDE@', path.basename(outside)));
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(OUTSIDE);
    expect(result.output).not.toContain(marker);
    expect((await fs.readdir(outside)).sort()).toEqual(['secret.txt']);
    expect(await fs.readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe(`${marker} secret\n`);
    await expect(fs.stat(path.join(os.tmpdir(), 'pwned.txt'))).rejects.toThrow();
    expect(context.changes).toEqual([]);
  });

  it('a search of the whole tree does not follow links out of it', async () => {
    const result = await call(context, 'search_code', { query: marker });
    expect(result.output).not.toContain(`${marker} secret`);
    const listed = await call(context, 'list_files', {});
    expect(listed.output).not.toContain('secret.txt\n');
    expect(listed.output.split('\n')).not.toContain('escape/secret.txt');
  });

  it.each([
    ['write_file', { path: '.git/config', content: '[core]\n' }],
    ['write_file', { path: '.GIT/hooks/post-checkout', content: '#!/bin/sh\n' }],
    ['write_file', { path: 'dotgit/hooks/pre-commit', content: '#!/bin/sh\n' }],
    ['edit_file', { path: '.git/config', old_string: '[core]', new_string: '[core]\n\thooksPath = /tmp' }],
  ])('%s %j into .git is refused', async (name, args) => {
    const before = await fs.readFile(path.join(repo.root, '.git/config'), 'utf8');
    const result = await call(context, name, args);
    expect(result).toMatchObject({ ok: false, output: expect.stringMatching(/inside \.git; files in \.git may not be changed/) });
    expect(await fs.readFile(path.join(repo.root, '.git/config'), 'utf8')).toBe(before);
    await expect(fs.stat(path.join(repo.root, '.git/hooks/pre-commit'))).rejects.toThrow();
  });
});
