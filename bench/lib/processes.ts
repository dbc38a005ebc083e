/**
 * Child processes the benchmarks start: the app as a user starts it (`node bin/autocoder.js
 * serve`), the bare Probot baseline, and small measuring scripts. Their output goes to a file,
 * never to a pipe: a pipe that the benchmark reads late would block the process writing its logs,
 * and that would be measured as the process being slow.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort, waitFor } from '../../test/e2e/app-process.js';

export { freePort, waitFor };

export interface Child {
  url: string;
  port: number;
  pid: number;
  exited(): boolean;
  /** Everything it printed so far. */
  output(): string;
  /** Resident memory of the process now, from /proc (0 when unknown). */
  rssBytes(): number;
  /** CPU time (user + system) the process has used so far, from /proc, in ms (0 when unknown). */
  cpuMs(): number;
  stop(): Promise<void>;
}

function startChild(command: string, args: string[], env: NodeJS.ProcessEnv, logFile: string, port: number): { child: ChildProcess; handle: Child } {
  // Output to a file (see above); the group of its own, so that stop() ends what it started too.
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, { cwd: resolve('.'), env, stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  let exited = false;
  const gone = new Promise<void>((done) => child.once('exit', () => {
    exited = true;
    done();
  }));
  const handle: Child = {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    exited: () => exited,
    output: () => readFileSync(logFile, 'utf8'),
    rssBytes() {
      try {
        const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
        return kb ? Number(kb) * 1024 : 0;
      } catch {
        return 0;
      }
    },
    cpuMs() {
      try {
        // Fields 14 and 15 (utime, stime) after the command name, which may hold spaces.
        const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
        return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
      } catch {
        return 0;
      }
    },
    async stop() {
      if (exited) return;
      try {
        process.kill(-child.pid!, 'SIGTERM'); // the group: the process and what it started
      } catch {
        return;
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // gone already
        }
      }, 10_000);
      await gone;
      clearTimeout(timer);
    },
  };
  return { child, handle };
}

/** USER_HZ: the unit of /proc's CPU times; 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

const baseEnv = () => ({ PATH: process.env.PATH, HOME: process.env.HOME, LANG: process.env.LANG ?? 'C.UTF-8' });

/**
 * For looking into a figure: Node flags for the app's process, e.g.
 * `BENCH_APP_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench -- intake`, and
 * `BENCH_APP_ENTRY=path/to/bin.mjs` to measure a modified build instead of bin/autocoder.js.
 */
const APP_NODE_ARGS = (process.env.BENCH_APP_NODE_ARGS ?? '').split(' ').filter(Boolean);
/** The same for the bare Probot baseline: `BENCH_BARE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof-bare"`. */
const BARE_NODE_ARGS = (process.env.BENCH_BARE_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** The app, as `npm start` runs it once built, waiting until `/healthz` answers. */
export async function startAppProcess(env: NodeJS.ProcessEnv, logDir: string): Promise<Child> {
  const port = await freePort();
  const { handle } = startChild(process.execPath, [...APP_NODE_ARGS, process.env.BENCH_APP_ENTRY ?? 'bin/autocoder.js', 'serve'], { ...baseEnv(), PORT: String(port), HOST: '127.0.0.1', NO_SMEE_SETUP: 'true', ...env }, join(logDir, `app-${port}.log`), port);
  await waitFor(async () => {
    if (handle.exited()) throw new Error(`the app exited before it was ready:\n${handle.output()}`);
    try {
      return (await fetch(`${handle.url}/healthz`)).ok;
    } catch {
      return false;
    }
  }, 'the app to answer /healthz', 60_000);
  return handle;
}

/** The bare Probot baseline (fixtures/bare-probot.mjs), waiting until it listens. */
export async function startBareProbot(env: NodeJS.ProcessEnv, logDir: string): Promise<Child> {
  const port = await freePort();
  const { handle } = startChild(process.execPath, [...BARE_NODE_ARGS, 'bench/fixtures/bare-probot.mjs'], { ...baseEnv(), PORT: String(port), ...env }, join(logDir, `bare-${port}.log`), port);
  await waitFor(() => {
    if (handle.exited()) throw new Error(`the bare Probot app exited:\n${handle.output()}`);
    return handle.output().includes('listening');
  }, 'the bare Probot app to listen', 30_000);
  return handle;
}
