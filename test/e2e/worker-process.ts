import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { waitFor } from './app-process.js';

export interface WorkerProcess {
  /** The name the worker gives itself in a task's data (`host:pid`). */
  id: string;
  pid: number;
  child: ChildProcess;
  output: () => string;
  /** Sends the signal and waits until the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `node bin/autocoder.js worker` as an operator does, and waits until it takes runs. */
export async function startWorkerProcess(env: NodeJS.ProcessEnv): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['bin/autocoder.js', 'worker'], {
    cwd: resolve('.'),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  let exited = false;
  child.on('exit', () => (exited = true));
  const started = await waitFor(() => {
    if (exited) throw new Error(`the worker exited before it was ready:\n${output}`);
    const line = output.split('\n').find((l) => l.includes('worker started'));
    return line ? (JSON.parse(line) as { worker: string }) : undefined;
  }, 'the worker to start', 60_000);
  return {
    id: started.worker,
    pid: child.pid!,
    child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (exited) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill(signal);
      await gone;
    },
  };
}
