import { describe, expect, it } from 'vitest';
import { buildCommandEnv, looksSecretValue } from '../../src/engine/tools/command-env.js';

describe('buildCommandEnv', () => {
  const source = {
    PATH: '/opt/task-runner/bin:/usr/bin',
    HOME: '/home/app',
    USER: 'app',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    TERM: 'xterm-256color',
    TMPDIR: '/tmp',
    NODE_ENV: 'production',
    OPENAI_API_KEY: 'sk-abcdefghijklmnopqrstuvwxyz012345',
    GITHUB_TOKEN: 'ghs_abcdefghijklmnopqrstuvwxyz0123456789',
    WEBHOOK_SECRET: 'shh',
    PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----',
    REDIS_URL: 'redis://localhost:6379',
    APP_ID: '42',
  };

  it('keeps only the allowlist, with fixed non-interactive settings', () => {
    expect(buildCommandEnv(source)).toEqual({
      PATH: '/opt/task-runner/bin:/usr/bin',
      HOME: '/home/app',
      USER: 'app',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      TMPDIR: '/tmp',
      TERM: 'dumb',
      CI: '1',
      GIT_TERMINAL_PROMPT: '0',
      PAGER: 'cat',
      GIT_PAGER: 'cat',
      NO_COLOR: '1',
    });
  });

  it('adds extra names unless they or their values look secret', () => {
    const env = buildCommandEnv({ ...source, NPM_TOKEN: 'x', MY_URL: 'https://user:pw@host/x', HARMLESS: 'github_pat_abcdefghijklmnopqrstuv' }, [
      'NODE_ENV', 'NPM_TOKEN', 'GITHUB_TOKEN', 'OPENAI_API_KEY', 'AUTH_HEADER', 'MY_URL', 'HARMLESS', 'REDIS_URL', 'CI', 'NOT_SET',
    ]);
    expect(env.NODE_ENV).toBe('production');
    expect(env.REDIS_URL).toBe('redis://localhost:6379');
    expect(env.CI).toBe('1');
    for (const name of ['NPM_TOKEN', 'GITHUB_TOKEN', 'OPENAI_API_KEY', 'AUTH_HEADER', 'MY_URL', 'HARMLESS', 'NOT_SET', 'APP_ID', 'WEBHOOK_SECRET']) {
      expect(env).not.toHaveProperty(name);
    }
  });

  it('recognizes credential-looking values', () => {
    for (const value of ['ghp_abcdefghijklmnopqrstuvwxyz', 'x=gho_abcdefghijklmnopqrstuvwxyz', 'sk-proj-abcdefghijklmnopqrstuvwxyz', '-----BEGIN OPENSSH PRIVATE KEY-----']) {
      expect(looksSecretValue(value)).toBe(true);
    }
    for (const value of ['/opt/task-runner/bin', 'C.UTF-8', 'redis://localhost:6379', 'mask-abcdefghijklmnopqrstuvwxyz']) {
      expect(looksSecretValue(value)).toBe(false);
    }
  });
});
