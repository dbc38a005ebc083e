import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';

/**
 * `/proc/<pid>/environ` is not `process.env`: the kernel shows the block of `NAME=value` strings
 * the process was started with, read from its memory. `delete process.env.KEY` leaves that block
 * as it was, so any process of the same user (a command the agent runs, when there is no bwrap
 * to hide the app's /proc entry) could read the LLM key, the webhook secret or the private key
 * from there.
 *
 * So the values in that block are overwritten in place, through `/proc/self/mem` (which a process
 * may always write for itself), and then set again with `process.env[key] = value`, which makes
 * libc copy them to the heap: the app keeps its environment, the block shows `KEY=****`.
 * Node 20 has no `execve`, so re-executing with a clean environment would leave the original
 * process, with the original block, alive as the parent; this costs about a millisecond instead.
 *
 * It does not reach other processes: a parent that was started with the secrets (`npm start`,
 * a shell, tini) keeps them in its own block; start `node bin/autocoder.js` directly.
 */

/** Values kept readable: they say nothing secret and help whoever inspects the process. */
const KEEP = new Set([
  'PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'PWD', 'OLDPWD', 'SHLVL', 'HOSTNAME', 'TERM', 'LANG', 'LANGUAGE', 'TZ',
  'TMPDIR', 'NODE_ENV', '_',
]);

const FILLER = 0x2a; // '*'

export type ScrubResult =
  | { ok: true; scrubbed: string[] }
  | { ok: false; reason: string };

let last: ScrubResult | undefined;

function keep(name: string): boolean {
  return KEEP.has(name) || name.startsWith('LC_');
}

/** The address range of the initial environment: fields 50 and 51 of /proc/self/stat. */
function environRange(): { start: number; end: number } {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).trim().split(' ');
  const start = Number(fields[50 - 3]);
  const end = Number(fields[51 - 3]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start <= 0 || end < start) {
    throw new Error('no environment range in /proc/self/stat');
  }
  return { start, end };
}

/**
 * Overwrites the values of the process's initial environment block (all but a few harmless ones,
 * such as PATH and HOME) so that `/proc/<pid>/environ` no longer shows them; `process.env` is
 * unchanged. Linux only; elsewhere, or when /proc/self/mem cannot be written, it changes nothing
 * and says why. Safe to call more than once.
 */
export function scrubInitialEnviron(keepName: (name: string) => boolean = keep): ScrubResult {
  if (process.platform !== 'linux') return (last = { ok: false, reason: `not Linux (${process.platform})` });
  let fd: number | undefined;
  try {
    const { start, end } = environRange();
    if (end === start) return (last = { ok: true, scrubbed: [] });
    const block = Buffer.alloc(end - start);
    fd = openSync('/proc/self/mem', 'r+');
    readSync(fd, block, 0, block.length, start);

    const values = new Map<string, string>();
    const scrubbed: string[] = [];
    let changed = false;
    for (let offset = 0; offset < block.length; ) {
      let stop = block.indexOf(0, offset);
      if (stop < 0) stop = block.length;
      const equals = block.indexOf(0x3d, offset);
      if (equals > offset && equals < stop) {
        const name = block.toString('utf8', offset, equals);
        const value = process.env[name];
        if (!keepName(name) && value !== undefined) {
          values.set(name, value);
          scrubbed.push(name);
          for (let i = equals + 1; i < stop; i++) {
            if (block[i] !== FILLER) {
              block[i] = FILLER;
              changed = true;
            }
          }
        }
      }
      offset = stop + 1;
    }
    if (changed) {
      const written = writeSync(fd, block, 0, block.length, start);
      if (written !== block.length) throw new Error(`wrote ${written} of ${block.length} bytes`);
    }
    // The libc environment pointed into the block; point it at copies of the real values.
    for (const [name, value] of values) process.env[name] = value;
    return (last = { ok: true, scrubbed });
  } catch (error) {
    return (last = { ok: false, reason: (error as Error).message });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** What the last {@link scrubInitialEnviron} did in this process, for the start-up log. */
export function lastEnvironScrub(): ScrubResult | undefined {
  return last;
}
