import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunEventBody } from '../../src/engine/events.js';
import { runRepoCommand, setupFailure } from '../../src/engine/repo-command.js';
import { detectSandbox } from '../../src/engine/sandbox/index.js';
import type { CommandSandbox, WrapOptions } from '../../src/engine/sandbox/types.js';
import { makeTempDir } from '../helpers/temp-repo.js';

const env = { PATH: process.env.PATH };

/** The real unconfined sandbox, with what each command asked of it written down. */
async function recordingSandbox(): Promise<{ sandbox: CommandSandbox; asked: WrapOptions[] }> {
  const real = await detectSandbox({ prefer: 'none' });
  const asked: WrapOptions[] = [];
  return { asked, sandbox: { ...real, wrap: (command, options) => (asked.push(options), real.wrap(command, options)) } };
}

describe('the repository’s setup and test commands', () => {
  it('runs the test command in the folder, reports it as a command event, without the network', async () => {
    const root = await makeTempDir('autocoder-repo-command-');
    await writeFile(join(root, 'test.js'), "console.log('checked', process.cwd()); process.exit(2);\n");
    const { sandbox, asked } = await recordingSandbox();
    const events: RunEventBody[] = [];
    const run = await runRepoCommand({ purpose: 'test', command: 'node test.js', cwd: root, root, sandbox, env, emit: (e) => (events.push(e), e as never) });

    expect(run).toMatchObject({ command: 'node test.js', exitCode: 2, timedOut: false });
    expect(run.output).toContain(`checked ${root}`);
    expect(events).toEqual([{ type: 'command', purpose: 'test', ...run }]);
    expect(asked).toEqual([expect.objectContaining({ cwd: root, writablePaths: [root] })]);
    expect(asked[0].network).toBeUndefined();
  });

  it('gives the setup command the network, and says why a failed one stops the work', async () => {
    const root = await makeTempDir('autocoder-repo-command-');
    const { sandbox, asked } = await recordingSandbox();
    const events: RunEventBody[] = [];
    const emit = (e: RunEventBody) => (events.push(e), e as never);
    const failed = await runRepoCommand({ purpose: 'setup', command: 'exit 3', cwd: root, root, sandbox, env, emit });
    const passed = await runRepoCommand({ purpose: 'setup', command: 'true', cwd: root, root, sandbox, env, emit });

    expect(asked.map((o) => o.network)).toEqual([true, true]);
    expect(events.map((e) => e.type === 'command' && [e.purpose, e.exitCode])).toEqual([['setup', 3], ['setup', 0]]);
    expect(setupFailure(failed)).toBe('the setup command `exit 3` failed (exit 3)');
    expect(setupFailure(passed)).toBeUndefined();
    expect(setupFailure({ ...failed, exitCode: null, timedOut: true })).toBe('the setup command `exit 3` failed (exit killed)');
  });
});
