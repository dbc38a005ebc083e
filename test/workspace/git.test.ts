import { afterAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { GitError, git, gitEnv, redact, stripCredentials, withAuth } from '../../src/workspace/git.js';
import { makeTempDir } from '../helpers/temp-repo.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('gitEnv', () => {
  it('builds the environment from nothing and never prompts', () => {
    const env = gitEnv({}, { PATH: '/bin', HOME: '/h', LANG: 'en_US.UTF-8', GIT_DIR: '/evil', GITHUB_TOKEN: 'ghs_x', HTTPS_PROXY: 'http://p:1' });
    expect(env).toMatchObject({ PATH: '/bin', HOME: '/h', LANG: 'en_US.UTF-8', GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_ASKPASS: '' });
    expect(env.HTTPS_PROXY).toBe('http://p:1');
    expect(env.GIT_DIR).toBeUndefined();
    expect(env.GITHUB_TOKEN).toBeUndefined();
  });
});

describe('withAuth', () => {
  it('puts the token in a one-command extra header', () => {
    const env = withAuth('tok123');
    expect(env).toEqual({
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from('x-access-token:tok123').toString('base64')}`,
    });
  });

  it('can scope the header to the remote origin', () => {
    expect(withAuth('t', 'https://ghe.example.com:8443/o/r.git').GIT_CONFIG_KEY_0).toBe('http.https://ghe.example.com:8443/.extraHeader');
  });
});

describe('redact', () => {
  it('removes authorization values, token URLs and known secrets', () => {
    const text = [
      'Authorization: Basic eC1hY2Nlc3MtdG9rZW46c2VjcmV0',
      'https://x-access-token:ghs_abc@github.com/o/r.git',
      'https://user:pw@example.com/x',
      'the token is s3cr3t-value',
    ].join('\n');
    const out = redact(text, ['s3cr3t-value']);
    expect(out).not.toMatch(/eC1hY2Nlc3|ghs_abc|pw@|s3cr3t-value/);
    expect(out).toContain('Authorization: [REDACTED]');
  });

  it('strips credentials from URLs', () => {
    expect(stripCredentials('https://x-access-token:t@github.com/o/r.git')).toBe('https://github.com/o/r.git');
    expect(stripCredentials('git@github.com:o/r.git')).toBe('git@github.com:o/r.git');
  });
});

describe('git', () => {
  it('runs git and returns its output', async () => {
    const dir = await makeTempDir('autocoder-git-');
    dirs.push(dir);
    await git(['init', '-q', dir], { cwd: dir });
    const out = await git(['rev-parse', '--is-inside-work-tree'], { cwd: dir });
    expect(out.stdout.trim()).toBe('true');
  });

  it('throws git_failed with the command and stderr, without the auth header', async () => {
    const dir = await makeTempDir('autocoder-git-');
    dirs.push(dir);
    const error = await git(['ls-remote', 'http://127.0.0.1:1/none.git'], { cwd: dir, env: withAuth('tok-should-not-show') }).catch((e) => e);
    expect(error).toBeInstanceOf(GitError);
    expect(error.code).toBe('git_failed');
    expect(error.message).toContain('git ls-remote http://127.0.0.1:1/none.git failed');
    expect(error.message).not.toContain('tok-should-not-show');
    expect(error.retryable).toBe(true); // connection refused
    expect(error.message).not.toContain(Buffer.from('x-access-token:tok-should-not-show').toString('base64'));
  });

  it('accepts listed exit codes as answers', async () => {
    const dir = await makeTempDir('autocoder-git-');
    dirs.push(dir);
    const out = await git(['rev-parse', '--verify', '--quiet', 'nope'], { cwd: dir, okExitCodes: [1, 128] });
    expect(out.exitCode).not.toBe(0);
  });
});
