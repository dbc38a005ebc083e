import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildCommandEnv } from '../../src/engine/tools/command-env.js';
import { makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';
import { call, makeContext, type RecordingContext } from './tool-context.js';

let repo: TempRepo;
let context: RecordingContext;

beforeEach(async () => {
  repo = await makeTempRepo({ 'a.txt': 'hello\n' });
  context = makeContext(repo.root);
});
afterEach(() => repo.cleanup());

/** A zombie (killed, not yet reaped by a PID 1 that never reaps) counts as dead. */
async function alive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && !/^\d+ \(.*\) Z/.test(stat);
}

describe('run_command', () => {
  it('runs in the repository root and reports the exit code', async () => {
    expect(await call(context, 'run_command', { command: 'cat a.txt && pwd' })).toEqual({
      ok: true,
      output: `exit code 0\nhello\n${repo.root}\n`,
      exitCode: 0,
    });
    expect(await call(context, 'run_command', { command: 'echo oops >&2; exit 3' })).toEqual({
      ok: false,
      output: 'exit code 3\noops\n',
      exitCode: 3,
    });
    expect((await call(context, 'run_command', { command: 'true' })).output).toBe('exit code 0\n(no output)');
  });

  it('has a closed standard input', async () => {
    const started = Date.now();
    const result = await call(context, 'run_command', { command: 'cat; read x; echo "read:$?"' });
    expect(result.output).toBe('exit code 0\nread:1\n');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('kills a command that hangs, and what it started in the background', async () => {
    const quick = makeContext(repo.root, { commandTimeoutMs: 1_000 });
    const started = Date.now();
    const result = await call(quick, 'run_command', { command: 'sleep 60 & echo $! > bg.pid; wait' });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result).toMatchObject({ ok: false, exitCode: null });
    expect(result.output).toMatch(/^killed: timed out after 1s/);
    const pid = Number(await fs.readFile(path.join(repo.root, 'bg.pid'), 'utf8'));
    expect(pid).toBeGreaterThan(0);
    for (let i = 0; i < 20 && (await alive(pid)); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await alive(pid)).toBe(false);
    expect((await call(quick, 'run_command', { command: 'sleep 60' })).output).toMatch(/^killed: timed out after 1s/);
  });

  it('stops on cancel', async () => {
    const controller = new AbortController();
    const running = call(makeContext(repo.root, { signal: controller.signal }), 'run_command', { command: 'sleep 60' });
    setTimeout(() => controller.abort(), 200);
    expect(await running).toMatchObject({ ok: false, output: expect.stringMatching(/^cancelled/) });
  });

  it('bounds huge output in memory and cuts it with a marker', async () => {
    const before = process.memoryUsage().rss;
    const result = await call(context, 'run_command', { command: "head -c 50000000 /dev/zero | tr '\\0' a" });
    expect(result.ok).toBe(true);
    expect(result.output.length).toBeLessThan(31_000);
    expect(result.output).toMatch(/^exit code 0\naaaa/);
    expect(result.output).toMatch(/\[\.\.\. \d+ characters cut \.\.\.\]/);
    expect(result.output).toMatch(/aaaa$/);
    expect(process.memoryUsage().rss - before).toBeLessThan(300 * 1024 * 1024);
  });

  it('gives commands no secrets', async () => {
    const source = {
      PATH: process.env.PATH,
      HOME: '/home/agent',
      OPENAI_API_KEY: 'sk-proj-abcdefghijklmnopqrstuvwxyz',
      GITHUB_TOKEN: 'ghs_0123456789abcdefghijklmnopqrstuvwxyz',
      WEBHOOK_SECRET: 'webhook-secret-value',
      PRIVATE_KEY: '-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----',
      REDIS_URL: 'redis://:hunter2@redis:6379',
      APP_ID: '123456',
      MY_SETTING: 'ghs_abcdefghijklmnopqrstuvwxyz0123456789',
      SAFE_SETTING: 'visible-value',
    };
    const env = buildCommandEnv(source, ['MY_SETTING', 'SAFE_SETTING', 'GITHUB_TOKEN', 'WEBHOOK_SECRET']);
    const result = await call(makeContext(repo.root, { commandEnv: env }), 'run_command', { command: 'env' });
    expect(result.ok).toBe(true);
    for (const secret of ['sk-proj', 'ghs_', 'webhook-secret-value', 'BEGIN', 'hunter2', '123456', 'OPENAI', 'GITHUB_TOKEN', 'APP_ID']) {
      expect(result.output).not.toContain(secret);
    }
    expect(result.output).toContain('SAFE_SETTING=visible-value');
    expect(result.output).toContain('HOME=/home/agent');
    expect(result.output).toContain('CI=1');
  });
});
