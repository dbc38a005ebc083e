import { describe, expect, it } from 'vitest';
import {
  createWritePolicy,
  parseRepoConfig,
  parseRepoConfigYaml,
  renderConfigError,
  suggestKey,
} from '../../src/github/repo-config.js';

const defaults = { model: 'gpt-4o-mini' };

function errorsOf(raw: unknown): string[] {
  const result = parseRepoConfig(raw, defaults);
  if (result.ok) throw new Error('expected errors');
  return result.errors;
}

describe('parseRepoConfig', () => {
  it('fills every default for a missing or empty file', () => {
    for (const raw of [null, undefined, {}]) {
      expect(parseRepoConfig(raw, defaults)).toEqual({
        ok: true,
        config: { label: 'autocoder', model: 'gpt-4o-mini', maxSteps: 40, maxMinutes: 30, draft: true, blockedPaths: [], attempts: 1, keepAttemptsDays: 7 },
      });
    }
  });

  it('accepts a full valid file', () => {
    const raw = {
      label: 'ai',
      model: 'deepseek-chat',
      maxSteps: 25,
      maxMinutes: 7.5,
      testCommand: 'npm test',
      setupCommand: 'npm ci',
      instructions: 'Use tabs.',
      draft: false,
      allowedPaths: ['src/**', '.github/workflows/ci.yml'],
      blockedPaths: ['secrets/**'],
      attempts: 3,
      keepAttemptsDays: 0.5,
    };
    expect(parseRepoConfig(raw, defaults)).toEqual({ ok: true, config: raw });
  });

  it('accepts a single glob where a list is expected', () => {
    const result = parseRepoConfig({ allowedPaths: 'src/**' }, defaults);
    expect(result.ok && result.config.allowedPaths).toEqual(['src/**']);
  });

  it.each([
    [{ maxSteps: 'ten' }, '`maxSteps`: expected a positive integer, got "ten"'],
    [{ maxSteps: 0 }, '`maxSteps`: expected a positive integer, got 0'],
    [{ maxSteps: 2.5 }, '`maxSteps`: expected a positive integer, got 2.5'],
    [{ maxMinutes: -1 }, '`maxMinutes`: expected a positive number of minutes, got -1'],
    [{ draft: 'yes' }, '`draft`: expected true or false, got "yes"'],
    [{ label: '' }, '`label`: expected a label name (text, 1 to 50 characters), got ""'],
    [{ model: 42 }, '`model`: expected a model name (text), got 42'],
    [{ testCommand: ['npm', 'test'] }, '`testCommand`: expected a shell command (text), got ["npm","test"]'],
    [{ setupCommand: '  ' }, '`setupCommand`: expected a shell command (text), got "  "'],
    [{ instructions: { a: 1 } }, '`instructions`: expected text, got {"a":1}'],
    [{ allowedPaths: ['src/**', 3, 4] }, '`allowedPaths`: expected a list of globs (text), got ["src/**",3,4]'],
    [{ blockedPaths: 5 }, '`blockedPaths`: expected a list of globs (text), got 5'],
    [{ attempts: 6 }, '`attempts`: expected a whole number from 1 to 5, got 6'],
    [{ keepAttemptsDays: -1 }, '`keepAttemptsDays`: expected a number of days from 0 to 365, got -1'],
    [{ keepAttemptsDays: 'a week' }, '`keepAttemptsDays`: expected a number of days from 0 to 365, got "a week"'],
  ])('names the key that is wrong: %j', (raw, message) => {
    expect(errorsOf(raw)).toEqual([message]);
  });

  it('reports every wrong key at once', () => {
    expect(errorsOf({ maxSteps: 'ten', draft: 1 })).toHaveLength(2);
  });

  it('rejects unknown keys and suggests the key that was meant', () => {
    expect(errorsOf({ testcommand: 'npm test' })).toEqual(['unknown key `testcommand` (did you mean `testCommand`?)']);
    expect(errorsOf({ max_steps: 3 })).toEqual(['unknown key `max_steps` (did you mean `maxSteps`?)']);
    expect(errorsOf({ lable: 'x' })).toEqual(['unknown key `lable` (did you mean `label`?)']);
    const [unrelated] = errorsOf({ colour: 'red' });
    expect(unrelated).toMatch(/^unknown key `colour` \(the keys are `label`, `model`/);
  });

  it('rejects a file that is not a mapping', () => {
    expect(errorsOf(['a'])[0]).toContain('mapping');
    expect(errorsOf('label: x')[0]).toContain('mapping');
  });

  it('suggests nothing for a key far from every known one', () => {
    expect(suggestKey('zzzzzz')).toBeUndefined();
    expect(suggestKey('MAXMINUTES')).toBe('maxMinutes');
  });
});

describe('parseRepoConfigYaml', () => {
  it('parses YAML text', () => {
    const result = parseRepoConfigYaml('label: bot\nmaxSteps: 12\n', defaults);
    expect(result).toMatchObject({ ok: true, config: { label: 'bot', maxSteps: 12 } });
  });

  it('reports YAML syntax errors', () => {
    const result = parseRepoConfigYaml('label: [unclosed\n', defaults);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors[0]).toMatch(/not valid YAML/);
  });

  it('treats YAML `yes` as text, which is not a boolean', () => {
    expect(parseRepoConfigYaml('draft: yes', defaults)).toEqual({ ok: false, errors: ['`draft`: expected true or false, got "yes"'] });
  });
});

describe('renderConfigError', () => {
  it('lists the errors and names the file', () => {
    const body = renderConfigError(['`maxSteps`: expected a positive integer, got "ten"'], '.github/autocoder.yml');
    expect(body).toContain('<!-- autocoder:config-error -->');
    expect(body).toContain('`.github/autocoder.yml`');
    expect(body).toContain('- `maxSteps`: expected a positive integer, got "ten"');
  });

  it('redacts credentials quoted from the file', () => {
    const [error] = errorsOf({ testCommand: 7, setupcommand: `curl -H "Authorization: Bearer ${'t'.repeat(30)}"` });
    const body = renderConfigError([error, `\`x\`: got "ghp_${'a'.repeat(36)}"`]);
    expect(body).not.toContain('ghp_aaaa');
  });
});

describe('createWritePolicy', () => {
  it('allows ordinary paths and blocks workflows by default', () => {
    const policy = createWritePolicy({ blockedPaths: [] });
    expect(policy('src/a.ts')).toBeUndefined();
    expect(policy('.github/dependabot.yml')).toBeUndefined();
    expect(policy('.github/workflows/ci.yml')).toMatch(/workflow/);
    expect(policy('./.github/workflows/deep/x.yaml')).toMatch(/workflow/);
  });

  it('allows a workflow when allowedPaths lists it', () => {
    const policy = createWritePolicy({ allowedPaths: ['src/**', '.github/workflows/ci.yml'], blockedPaths: [] });
    expect(policy('.github/workflows/ci.yml')).toBeUndefined();
    expect(policy('.github/workflows/release.yml')).toMatch(/workflow/);
    expect(createWritePolicy({ allowedPaths: ['.github/workflows/**'] })('.github/workflows/release.yml')).toBeUndefined();
  });

  it('does not open workflows through a catch-all pattern', () => {
    const policy = createWritePolicy({ allowedPaths: ['**'] });
    expect(policy('any/file.ts')).toBeUndefined();
    expect(policy('.github/workflows/ci.yml')).toMatch(/workflow/);
  });

  it('blocks what blockedPaths matches, before anything allowedPaths allows', () => {
    const policy = createWritePolicy({ allowedPaths: ['src/**'], blockedPaths: ['src/generated/**', '*.lock', 'secrets'] });
    expect(policy('src/generated/api.ts')).toMatch(/blockedPaths/);
    expect(policy('yarn.lock')).toMatch(/blockedPaths/);
    expect(policy('secrets/key.pem')).toMatch(/blockedPaths/);
    expect(policy('src/ok.ts')).toBeUndefined();
  });

  it('allows only what allowedPaths matches when it is given', () => {
    const policy = createWritePolicy({ allowedPaths: ['src/**', 'docs'], blockedPaths: [] });
    expect(policy('src/deep/a.ts')).toBeUndefined();
    expect(policy('docs/guide.md')).toBeUndefined();
    expect(policy('package.json')).toMatch(/allowedPaths/);
  });

  it('matches dot files with globs', () => {
    const policy = createWritePolicy({ blockedPaths: ['**/*.env', 'tmp/*'] });
    expect(policy('config/.env')).toMatch(/blockedPaths/);
    expect(policy('tmp/.cache')).toMatch(/blockedPaths/);
    expect(policy('config/env.ts')).toBeUndefined();
    expect(createWritePolicy({ blockedPaths: ['**/.env*'] })('config/.env.local')).toMatch(/blockedPaths/);
  });

  it('never allows a .git folder or a path outside the tree', () => {
    const policy = createWritePolicy({ allowedPaths: ['**'] });
    expect(policy('.git/hooks/pre-commit')).toMatch(/\.git/);
    expect(policy('vendor/lib/.git/config')).toMatch(/\.git/);
    expect(policy('../outside.txt')).toMatch(/outside/);
    expect(policy('src/../../x')).toMatch(/outside/);
  });
});
