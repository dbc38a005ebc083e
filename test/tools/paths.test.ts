import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AutocoderError } from '../../src/engine/errors.js';
import { resolveInside } from '../../src/engine/tools/paths.js';
import { makeTempDir, makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';

describe('resolveInside', () => {
  let repo: TempRepo;
  let outside: string;
  beforeEach(async () => {
    repo = await makeTempRepo({ 'src/a.ts': 'a\n', 'docs/readme.md': 'r\n' });
    outside = await makeTempDir('autocoder-outside-');
    await fs.symlink(outside, path.join(repo.root, 'escape'));
    await fs.symlink('src', path.join(repo.root, 'src-link'));
    await fs.symlink('.git', path.join(repo.root, 'git-link'));
    await fs.symlink(path.join(outside, 'not-yet'), path.join(repo.root, 'dangling'));
  });
  afterEach(async () => {
    await repo.cleanup();
    await fs.rm(outside, { recursive: true, force: true });
  });

  const refused = async (rel: string, forWrite = false, code = 'path_outside') => {
    const error = await resolveInside(repo.root, rel, { forWrite }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AutocoderError);
    expect((error as AutocoderError).code).toBe(code);
    return (error as AutocoderError).message;
  };

  it('resolves normal paths to a normalized relative form', async () => {
    expect(await resolveInside(repo.root, 'src/a.ts')).toEqual({ abs: path.join(repo.root, 'src/a.ts'), rel: 'src/a.ts' });
    expect((await resolveInside(repo.root, './src/../docs//readme.md')).rel).toBe('docs/readme.md');
    expect((await resolveInside(repo.root, '')).rel).toBe('');
    expect((await resolveInside(repo.root, 'new/dir/file.ts', { forWrite: true })).rel).toBe('new/dir/file.ts');
    // A link that stays inside the tree is fine.
    expect((await resolveInside(repo.root, 'src-link/a.ts', { forWrite: true })).rel).toBe('src-link/a.ts');
  });

  it('refuses escapes with a message for the model', async () => {
    expect(await refused('../../etc/passwd')).toBe(
      "path '../../etc/passwd' is outside the working tree; use a path relative to the repository root",
    );
    await refused('/etc/passwd');
    await refused('src/../../x');
    await refused('a\0b');
  });

  it('refuses symbolic links leading out, for reading and writing, existing or not', async () => {
    await refused('escape');
    await refused('escape/secret.txt');
    await refused('escape/new/file.txt', true);
    await refused('dangling', true);
    await refused('dangling');
  });

  it('refuses writes into .git in any spelling, also through a link', async () => {
    await resolveInside(repo.root, '.git/config'); // reading is allowed
    await refused('.git/config', true, 'tool_failed');
    await refused('.git', true, 'tool_failed');
    await refused('.GIT/hooks/pre-commit', true, 'tool_failed');
    await refused('sub/.Git/x', true, 'tool_failed');
    await refused('git-link/config', true, 'tool_failed');
    await refused('', true, 'tool_failed');
  });

  it('consults the write policy for writes only', async () => {
    const writePolicy = (rel: string) => (rel.startsWith('.github/workflows/') ? 'workflows are blocked' : undefined);
    await expect(resolveInside(repo.root, '.github/workflows/ci.yml', { forWrite: true, writePolicy })).rejects.toThrow(
      "path '.github/workflows/ci.yml' may not be changed: workflows are blocked",
    );
    await expect(resolveInside(repo.root, '.github/workflows/ci.yml', { writePolicy })).resolves.toBeTruthy();
    // A link is no way around the policy: it applies to where the path really leads too.
    await fs.mkdir(path.join(repo.root, '.github/workflows'), { recursive: true });
    await fs.symlink('.github/workflows', path.join(repo.root, 'wf'));
    await expect(resolveInside(repo.root, 'wf/ci.yml', { forWrite: true, writePolicy })).rejects.toThrow('workflows are blocked');
  });
});
