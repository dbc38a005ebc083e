import { spawn } from 'node:child_process';

/** Options for {@link runProcess}. */
export interface RunProcessOptions {
  cwd: string;
  /** The complete environment of the child: nothing is inherited that is not listed here. */
  env: NodeJS.ProcessEnv;
  /** Kill the whole process group after this many milliseconds. */
  timeoutMs?: number;
  /** Bytes of output kept in memory (head and tail); the rest is counted and dropped. */
  maxOutputBytes?: number;
  signal?: AbortSignal;
  /** Text written to standard input; when absent standard input is closed (`ignore`). */
  input?: string;
}

export interface ProcessResult {
  /** Exit code; `null` when the process was killed by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr interleaved as they arrived. */
  output: string;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
  /** Bytes that were produced but not kept. */
  droppedBytes: number;
  durationMs: number;
}

const DEFAULT_MAX_OUTPUT = 1024 * 1024;
/** After the main process exits, give stragglers holding the pipes this long before the group is killed. */
const LINGER_MS = 200;

/**
 * Keeps the first and the last `limit / 2` bytes of a stream of chunks, counting what falls between.
 */
class HeadTailBuffer {
  private head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  dropped = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    const half = Math.floor(this.limit / 2);
    if (this.headBytes < half) {
      const take = Math.min(half - this.headBytes, chunk.length);
      this.head.push(chunk.subarray(0, take));
      this.headBytes += take;
      chunk = chunk.subarray(take);
      if (chunk.length === 0) return;
    }
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    while (this.tailBytes > half && this.tail.length > 0) {
      const excess = this.tailBytes - half;
      const first = this.tail[0];
      if (first.length <= excess) {
        this.tail.shift();
        this.tailBytes -= first.length;
        this.dropped += first.length;
      } else {
        this.tail[0] = first.subarray(excess);
        this.tailBytes -= excess;
        this.dropped += excess;
      }
    }
  }

  toString(): string {
    const head = Buffer.concat(this.head).toString('utf8');
    const tail = Buffer.concat(this.tail).toString('utf8');
    if (this.dropped === 0) return head + tail;
    return `${head}\n[... ${this.dropped} bytes of output omitted ...]\n${tail}`;
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/**
 * Runs a program in its own process group with a closed or given standard input, an explicit
 * environment, a time limit that kills the whole group, and output capped in memory.
 * This is the one way the project starts child processes.
 */
export function runProcess(command: string, args: string[], options: RunProcessOptions): Promise<ProcessResult> {
  const started = Date.now();
  const limit = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  const all = new HeadTailBuffer(limit);
  const out = new HeadTailBuffer(limit);
  const err = new HeadTailBuffer(limit);

  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      resolve({
        exitCode: null, signal: null, output: '', stdout: '', stderr: '', timedOut: false, aborted: true,
        droppedBytes: 0, durationMs: 0,
      });
      return;
    }
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let timedOut = false;
    let aborted = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;
    let lingerTimer: NodeJS.Timeout | undefined;

    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          killGroup(child.pid, 'SIGKILL');
        }, options.timeoutMs)
      : undefined;
    const onAbort = () => {
      aborted = true;
      killGroup(child.pid, 'SIGKILL');
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const finish = () => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      if (lingerTimer) clearTimeout(lingerTimer);
      options.signal?.removeEventListener('abort', onAbort);
      // Nothing the command started may outlive it.
      killGroup(child.pid, 'SIGKILL');
      resolve({
        exitCode: exit?.code ?? null,
        signal: exit?.signal ?? null,
        output: all.toString(),
        stdout: out.toString(),
        stderr: err.toString(),
        timedOut,
        aborted,
        droppedBytes: all.dropped,
        durationMs: Date.now() - started,
      });
    };

    child.stdout!.on('data', (chunk: Buffer) => {
      all.push(chunk);
      out.push(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      all.push(chunk);
      err.push(chunk);
    });
    if (options.input !== undefined) {
      child.stdin!.on('error', () => {
        // The child closed its input early; what it printed still counts.
      });
      child.stdin!.end(options.input);
    }
    child.on('error', (error) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // Background children may keep the pipes open; do not wait for them for long.
      lingerTimer = setTimeout(finish, LINGER_MS);
    });
    child.on('close', (code, signal) => {
      exit ??= { code, signal };
      finish();
    });
  });
}
