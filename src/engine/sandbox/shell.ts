import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

export interface Shell {
  /** Absolute path when found on the PATH, else the bare name. */
  path: string;
  bash: boolean;
}

export function findOnPath(name: string, searchPath: string | undefined): string | undefined {
  for (const dir of (searchPath ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** bash when there is one on the command's PATH; a minimal image may only have sh. */
export function resolveShell(searchPath: string | undefined): Shell {
  const bash = findOnPath('bash', searchPath);
  if (bash) return { path: bash, bash: true };
  return { path: findOnPath('sh', searchPath) ?? '/bin/sh', bash: false };
}


export interface PreludeOptions {
  maxProcesses?: number;
  maxFileBytes?: number;
  /** Shell commands run first (their failure does not stop the command). */
  setup?: string[];
}

/** `value` as one shell word. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * A shell script that lowers the limits and then becomes the command's shell: run as
 * `SHELL -c PRELUDE SHELL -c COMMAND`, `exec "$0" "$@"` is `exec SHELL -c COMMAND`, so the command
 * sees the same `$0` and line numbers as without it. A limit is only ever lowered (when the
 * current hard limit is already below, it stays). bash counts `-f` in KiB; POSIX shells (dash,
 * busybox) in 512-byte blocks and name the process limit `-p` (dash) or `-u`.
 */
export function limitsPrelude(shell: Shell, limits: PreludeOptions): string {
  const parts: string[] = [
    ...(limits.setup ?? []),
    // Sets soft and hard limit, unless the hard limit is already lower.
    'lim() { c=$(ulimit -H "$1" 2>/dev/null) || return 0; if [ "$c" = unlimited ] || [ "$c" -gt "$2" ]; then ulimit "$1" "$2" 2>/dev/null; fi; return 0; }',
  ];
  if (limits.maxFileBytes !== undefined) {
    const blocks = Math.max(1, Math.floor(limits.maxFileBytes / (shell.bash ? 1024 : 512)));
    parts.push(`lim -f ${blocks}`);
  }
  if (limits.maxProcesses !== undefined) {
    const n = Math.max(1, Math.floor(limits.maxProcesses));
    parts.push(shell.bash ? `lim -u ${n}` : `{ ulimit -H -p >/dev/null 2>&1 && lim -p ${n}; } || lim -u ${n}`);
  }
  parts.push('exec "$0" "$@"');
  return parts.join('; ');
}

/** argv that runs `command` in `shell` after the limits prelude. */
export function shellArgs(shell: Shell, command: string, limits: PreludeOptions): string[] {
  return ['-c', limitsPrelude(shell, limits), shell.path, '-c', command];
}
