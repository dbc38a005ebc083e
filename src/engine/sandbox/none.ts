import { readdir, readFile } from 'node:fs/promises';
import { resolveShell, shellArgs } from './shell.js';
import type { CommandSandbox, SandboxLimits, WrapOptions, WrappedCommand } from './types.js';

/**
 * Tasks (processes and threads) that the real uid `uid` runs now: RLIMIT_NPROC counts them all,
 * so a limit that ignored them could stop a command (or a user's whole session) from forking at
 * once. Read from /proc; 0 when it cannot be read.
 */
export async function tasksOfUser(uid: number): Promise<number> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  let total = 0;
  await Promise.all(
    entries
      .filter((name) => /^\d+$/.test(name))
      .map(async (pid) => {
        const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
        const real = status.match(/^Uid:\s+(\d+)/m)?.[1];
        if (real === undefined || Number(real) !== uid) return;
        total += Number(status.match(/^Threads:\s+(\d+)/m)?.[1] ?? 1);
      }),
  );
  return total;
}

/**
 * No confinement beyond what every command gets: the environment allowlist, closed stdin, the
 * time limit that kills the whole process group and the output cap (all in runProcess), and a
 * file-size and process limit set by a shell prelude. The command can read what the app's user
 * can read and reach the network.
 */
export function createUnsandboxed(limits: SandboxLimits, reason: string): CommandSandbox {
  const uid = process.getuid?.();
  return {
    kind: 'none',
    describe: () => `none (${reason}): environment allowlist, time, output, file-size and process limits only`,
    async wrap(command: string, options: WrapOptions): Promise<WrappedCommand> {
      const shell = resolveShell(options.env.PATH);
      // The kernel does not apply RLIMIT_NPROC to root; elsewhere it counts the whole user.
      const maxProcesses = uid === undefined || uid === 0 ? undefined : (await tasksOfUser(uid)) + limits.maxProcesses;
      return {
        file: shell.path,
        args: shellArgs(shell, command, { maxFileBytes: limits.maxFileBytes, maxProcesses }),
        env: options.env,
      };
    },
  };
}
