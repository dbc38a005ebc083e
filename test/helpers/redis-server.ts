/**
 * A real redis-server for tests, as a child process on a free loopback port, without persistence
 * (as .ci/run starts it). Suites that need one skip by name when the binary is missing:
 *
 *   describe.skipIf(!hasRedis)(`... ${redisSkipNote}`, () => { ... });
 *   const redis = await startRedis();   // redis.url, redis.kill(), redis.restart(), redis.stop()
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { delimiter, join } from 'node:path';
import { freePort } from './ports.js';

export const REDIS_SERVER = process.env.REDIS_SERVER_PATH ?? 'redis-server';

function onPath(binary: string): boolean {
  if (binary.includes('/')) return existsSync(binary);
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, binary)));
}

export const hasRedis = onPath(REDIS_SERVER);
export const redisSkipNote = hasRedis ? '' : `(skipped: ${REDIS_SERVER} is not installed — apt-get install -y redis-server, or set REDIS_SERVER_PATH)`;
// The default reporter only counts skipped tests; this says which, and why, in every run's output.
export function warnIfNoRedis(suite: string): void {
  if (!hasRedis) console.warn(`SKIPPED: ${suite} — ${REDIS_SERVER} is not installed (apt-get install -y redis-server, or set REDIS_SERVER_PATH)`);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

export interface RedisServer {
  url: string;
  port: number;
  /** SIGKILL: Redis is gone at once, its data with it (no persistence). */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';

  async function launch(): Promise<void> {
    output = '';
    const started = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.stdout!.on('data', (chunk) => (output += chunk));
    started.stderr!.on('data', (chunk) => (output += chunk));
    child = started;
    const deadline = Date.now() + 10_000;
    while (!(await accepts(port))) {
      if (started.exitCode !== null) throw new Error(`redis-server exited:\n${output}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}:\n${output}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async function end(signal: NodeJS.Signals): Promise<void> {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const gone = new Promise<void>((r) => running.once('exit', () => r()));
    running.kill(signal);
    await gone;
  }

  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: () => end('SIGKILL'),
    restart: launch,
    stop: () => end('SIGKILL'),
  };
}
