import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { probeBwrap } from '../../src/engine/sandbox/index.js';

const execFileAsync = promisify(execFile);

const probe = await probeBwrap();
/** bwrap is installed and really makes a sandbox on this machine (user namespaces allowed). */
export const hasBwrap = probe.ok;
export const bwrapMissingReason = probe.ok ? '' : probe.reason;

/** A string no other process on the machine has in its command line: `sleep 30.<digits>`. */
export function marker(): string {
  return `30.${parseInt(randomBytes(5).toString('hex'), 16).toString().padStart(13, '0')}`;
}

/** Host pids of live (not zombie) processes whose command line contains `needle`, seen from the host's /proc. */
export async function hostPidsWith(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmdline = await fs.readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.split('\0').includes(needle)) continue;
    const stat = await fs.readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    if (stat === '' || /^\d+ \(.*\) Z/.test(stat)) continue;
    pids.push(Number(name));
  }
  return pids;
}

/** Waits until no live process has `needle` in its command line; returns the ones still there after `ms`. */
export async function waitGone(needle: string, ms = 3_000): Promise<number[]> {
  const until = Date.now() + ms;
  for (;;) {
    const left = await hostPidsWith(needle);
    if (left.length === 0 || Date.now() > until) return left;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Secrets as the app has them: in its environment from its very start. */
export const APP_SECRETS: Record<string, string> = {
  OPENAI_API_KEY: 'sk-proj-SANDBOXTESTabcdefghijklmnop0123',
  WEBHOOK_SECRET: 'webhook-secret-SANDBOXTEST-42',
  PRIVATE_KEY: '-----BEGIN RSA PRIVATE KEY-----SANDBOXTEST-----END RSA PRIVATE KEY-----',
  AUTOCODER_API_TOKEN: 'api-token-SANDBOXTEST-7',
};

export interface FakeAppResult {
  pid: number;
  scrub?: { ok: boolean; scrubbed?: string[]; reason?: string };
  sandbox: string;
  output: string;
  /** What the app itself still reads from process.env after the scrub. */
  openaiKeyInApp: string | undefined;
}

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'fake-app.ts');

/**
 * Starts a small program that stands for the app: secrets in its initial environment, optionally
 * scrubbing them from its environ block, then running one `run_command` (through the real tool)
 * that prints its parent's and the app's `/proc/<pid>/environ`.
 */
export async function runFakeApp(options: { sandbox: 'none' | 'bwrap'; scrub: boolean; cwd: string }): Promise<FakeAppResult> {
  const { stdout } = await execFileAsync(
    process.execPath,
    ['--import', 'tsx', FIXTURE, options.sandbox, options.scrub ? 'scrub' : 'keep', options.cwd],
    { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...APP_SECRETS }, timeout: 30_000, maxBuffer: 4 * 1024 * 1024 },
  );
  return JSON.parse(stdout) as FakeAppResult;
}

export function secretsIn(text: string): string[] {
  return Object.entries(APP_SECRETS)
    .filter(([, value]) => text.includes(value) || text.includes(value.slice(0, 20)))
    .map(([name]) => name);
}
