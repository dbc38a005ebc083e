import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { freePort } from '../helpers/ports.js';

export { freePort };

export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface AppProcess {
  url: string;
  webhookUrl: string;
  child: ChildProcess;
  /** Everything the process printed (JSON log lines). */
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts the app the way a user does (`npm start`), and waits until it answers `/healthz`. */
export async function startApp(env: NodeJS.ProcessEnv): Promise<AppProcess> {
  const port = await freePort();
  const child = spawn('npm', ['start', '--silent'], {
    cwd: resolve('.'),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), HOST: '127.0.0.1', NO_SMEE_SETUP: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  let exited = false;
  child.on('exit', () => (exited = true));
  await waitFor(async () => {
    if (exited) throw new Error(`the app exited before it was ready:\n${output}`);
    try {
      return (await fetch(`${url}/healthz`)).ok;
    } catch {
      return false;
    }
  }, 'the app to answer /healthz', 60_000);
  return {
    url,
    webhookUrl: `${url}/api/github/webhooks`,
    child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (exited) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      // The whole group: npm and the node process it started.
      try {
        process.kill(-child.pid!, signal);
      } catch {
        return;
      }
      await gone;
    },
  };
}
