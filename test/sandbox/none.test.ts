import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectSandbox, type CommandSandbox } from '../../src/engine/sandbox/index.js';
import { buildCommandEnv } from '../../src/engine/tools/command-env.js';
import { makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';
import { call, makeContext } from '../tools/tool-context.js';
import { APP_SECRETS, marker, waitGone } from './helpers.js';

/** Forced off, as on a machine without bwrap: what still holds. */
describe('run_command without bwrap (prefer: none)', () => {
  let repo: TempRepo;
  let sandbox: CommandSandbox;
  beforeAll(async () => {
    repo = await makeTempRepo({ 'a.txt': 'a\n' });
    sandbox = await detectSandbox({ prefer: 'none', limits: { maxFileBytes: 1024 * 1024 } });
  });
  afterAll(() => repo.cleanup());

  it('gives commands the allowlist only: no secret in env', async () => {
    const env = buildCommandEnv({ PATH: process.env.PATH, HOME: '/home/agent', ...APP_SECRETS, GITHUB_TOKEN: 'ghs_0123456789abcdefghijklmnopqrstuv' });
    const result = await call(makeContext(repo.root, { sandbox, commandEnv: env }), 'run_command', { command: 'env' });
    expect(result.ok).toBe(true);
    for (const value of [...Object.values(APP_SECRETS), 'ghs_']) expect(result.output).not.toContain(value);
    for (const name of [...Object.keys(APP_SECRETS), 'GITHUB_TOKEN']) expect(result.output).not.toContain(`${name}=`);
    expect(result.output).toContain('HOME=/home/agent');
  });

  it('keeps the file-size limit', async () => {
    const result = await call(makeContext(repo.root, { sandbox }), 'run_command', { command: 'head -c 3000000 /dev/zero > big.bin; echo "rc=$?"; wc -c < big.bin' });
    expect(result.output).toMatch(/rc=[1-9]/);
    expect(Number(result.output.trim().split('\n').pop())).toBeLessThanOrEqual(1024 * 1024);
  });

  it('kills the whole group at the time limit', async () => {
    const tag = marker();
    const result = await call(makeContext(repo.root, { sandbox, commandTimeoutMs: 1_500 }), 'run_command', {
      command: `for i in $(seq 1 50); do sleep ${tag} & done; (sleep ${tag} &) ; wait`,
    });
    expect(result.output).toMatch(/^killed: timed out after 1\.5s/);
    expect(await waitGone(tag)).toEqual([]);
  });
});
