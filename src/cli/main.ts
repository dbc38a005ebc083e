import { readFileSync } from 'node:fs';
import { EnvError, loadDotEnv, readEnv } from '../config/env.js';
import { scrubInitialEnviron } from '../runtime/scrub-env.js';
import { runCommand, type CliIo } from './run.js';

const USAGE = `Usage: autocoder <command> [options]

Commands:
  run [PROMPT]   run the coding agent on a local repository (see autocoder run --help)
  serve          start the GitHub App server (the same as npm start)
  worker         execute runs queued on Redis (REDIS_URL)
  help           show this help
  version        print the version
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The `autocoder` command. Returns the exit code; never throws for a user's mistake. */
export async function main(argv: string[], io: CliIo = {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
}): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    (command === undefined ? io.stderr : io.stdout).write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === 'version' || command === '--version' || command === '-v') {
    io.stdout.write(`${version()}\n`);
    return 0;
  }

  // Before anything runs a command: the secrets in this process's /proc/<pid>/environ.
  if (io.env === process.env) scrubInitialEnviron();
  loadDotEnv(io.cwd);
  let env;
  try {
    env = readEnv(io.env, io.cwd);
  } catch (error) {
    if (error instanceof EnvError) {
      io.stderr.write(`autocoder: ${error.message}\n`);
      return 2;
    }
    throw error;
  }

  switch (command) {
    case 'run':
      return runCommand(rest, io, env);
    case 'serve': {
      const { startServer } = await import('../runtime/server.js');
      return startServer(env);
    }
    case 'worker': {
      const { startWorker } = await import('../runtime/worker.js');
      return startWorker(env);
    }
    default:
      io.stderr.write(`autocoder: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}
