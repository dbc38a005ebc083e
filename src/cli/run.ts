import { parseArgs } from 'node:util';
import { describeEvent, describeToolOutcome } from '../engine/describe.js';
import { AutocoderError, toAutocoderError } from '../engine/errors.js';
import type { RunEvent } from '../engine/events.js';
import type { AppEnv } from '../config/env.js';
import { runLocal, DEFAULT_MAX_STEPS } from '../runtime/local-run.js';
import { sandboxRequest } from '../runtime/sandbox-paths.js';
import { createSessionStore, openDatabase } from '../store/sqlite.js';
import { MAX_ATTEMPTS } from '../engine/attempts.js';
import { renderAttemptsTable } from './attempts-table.js';

export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export const RUN_USAGE = `Usage: autocoder run [PROMPT] [options]

Runs the coding agent on a local repository. The prompt is read from standard input when none is given.

Options:
  --cwd DIR              the repository (default: the current folder)
  --model NAME           the model (default: AUTOCODER_MODEL)
  --session ID           continue the session with this id, or start one under it
  -c, --continue         continue the most recent session of this repository
  --max-steps N          most model turns (default: ${DEFAULT_MAX_STEPS})
  --max-minutes N        wall-clock budget (default: 30)
  --max-tokens N         most tokens the run may use (default: AUTOCODER_MAX_TOKENS, else no limit)
  --max-cost USD         most the run may cost (default: AUTOCODER_MAX_COST_USD; needs the
                         AUTOCODER_PRICE_PER_MTOK_INPUT and _OUTPUT prices)
  --attempts N           best of N (1-${MAX_ATTEMPTS}): N agents at once, each in its own worktree at HEAD;
                         the chosen change (tests passing, then the smallest) is applied here
  --models A,B           the attempts' models, round-robin (default: --model); alone, one attempt each
  --test-command CMD     the command that judges the attempts (with one attempt: run after it)
  -o, --output FORMAT    text (default), json (one result object) or stream-json (one event per line)
  -h, --help             show this help
`;

const OUTPUTS = ['text', 'json', 'stream-json'] as const;
type Output = (typeof OUTPUTS)[number];

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

function positiveNumber(value: string | undefined, flag: string, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new AutocoderError('config_invalid', `${flag} must be a positive ${integer ? 'whole ' : ''}number, got "${value}"`);
  }
  return n;
}

function outcomeLine(event: Extract<RunEvent, { type: 'tool_result' }>): string | undefined {
  const outcome = describeToolOutcome(event);
  return outcome ? `  ${outcome.trim()}` : undefined;
}

/** Shows progress on a terminal: one line per tool call and a step counter that is redrawn in place. */
function createTextRenderer(io: CliIo, maxSteps: number) {
  const live = Boolean(io.stderr.isTTY);
  let status = '';
  const clear = () => {
    if (live && status) io.stderr.write('\r\x1b[2K');
  };
  const draw = () => {
    if (live && status) io.stderr.write(status);
  };
  return {
    onEvent(event: RunEvent) {
      if (event.type === 'step') {
        clear();
        status = `[${event.attempt ? `attempt ${event.attempt} · ` : ''}step ${event.step}/${maxSteps}] thinking…`;
        draw();
        return;
      }
      if (event.type === 'finished') {
        clear();
        status = '';
      }
      // A failure is said once, at the end, as one line; a tool's outcome follows its call.
      const line =
        event.type === 'error' ? undefined : event.type === 'tool_result' ? outcomeLine(event) : describeEvent(event);
      if (!line) return;
      clear();
      io.stderr.write(`${line}\n`);
      draw();
    },
  };
}

/** `autocoder run`: returns the exit code (0 when the run completed). */
export async function runCommand(argv: string[], io: CliIo, env: AppEnv): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        cwd: { type: 'string' },
        model: { type: 'string' },
        session: { type: 'string' },
        continue: { type: 'boolean', short: 'c' },
        'max-steps': { type: 'string' },
        'max-minutes': { type: 'string' },
        'max-tokens': { type: 'string' },
        'max-cost': { type: 'string' },
        attempts: { type: 'string' },
        models: { type: 'string' },
        'test-command': { type: 'string' },
        output: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    io.stderr.write(`autocoder: ${(error as Error).message}\n\n${RUN_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(RUN_USAGE);
    return 0;
  }
  const output = (values.output ?? 'text') as Output;
  if (!OUTPUTS.includes(output)) {
    io.stderr.write(`autocoder: --output must be one of ${OUTPUTS.join(', ')}, got "${values.output}"\n`);
    return 2;
  }

  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let db;
  try {
    const maxSteps = positiveNumber(values['max-steps'], '--max-steps', true);
    const maxMinutes = positiveNumber(values['max-minutes'], '--max-minutes', false);
    const maxTokens = positiveNumber(values['max-tokens'], '--max-tokens', true) ?? env.maxTokens;
    const maxCostUsd = positiveNumber(values['max-cost'], '--max-cost', false) ?? env.maxCostUsd;
    const attempts = positiveNumber(values.attempts, '--attempts', true);
    if (attempts !== undefined && attempts > MAX_ATTEMPTS) {
      throw new AutocoderError('config_invalid', `--attempts must be a whole number from 1 to ${MAX_ATTEMPTS}, got "${values.attempts}"`);
    }
    const models = values.models?.split(',').map((name) => name.trim());
    if (models && models.some((name) => !name)) {
      throw new AutocoderError('config_invalid', `--models must be model names separated by commas, got "${values.models}"`);
    }
    const testCommand = values['test-command'];
    if (testCommand !== undefined && !testCommand.trim()) throw new AutocoderError('config_invalid', '--test-command is empty');
    let prompt = positionals.join(' ');
    if (!prompt.trim()) {
      if (io.stdin.isTTY) {
        throw new AutocoderError('config_invalid', 'no prompt: give it as an argument (autocoder run "fix the tests") or on standard input');
      }
      prompt = await readAll(io.stdin);
    }
    db = openDatabase(env.dataDir);
    const text = output === 'text' ? createTextRenderer(io, maxSteps ?? DEFAULT_MAX_STEPS) : undefined;
    const result = await runLocal({
      prompt: prompt.trim(),
      cwd: values.cwd ?? io.cwd,
      model: values.model ?? env.model,
      session: values.session,
      continueLatest: values.continue,
      maxSteps,
      maxMinutes,
      maxTokens,
      maxCostUsd,
      prices: env.prices,
      signal: controller.signal,
      sessions: createSessionStore(db),
      apiKey: env.openaiApiKey,
      baseURL: env.openaiBaseUrl,
      attempts,
      models,
      testCommand,
      // The attempts' worktrees go under the data dir, which the commands' sandbox hides.
      dataDir: env.dataDir,
      commandSourceEnv: io.env,
      sandbox: sandboxRequest(env, { cwd: io.cwd }),
      onEvent: (event) => {
        if (output === 'stream-json') io.stdout.write(`${JSON.stringify(event)}\n`);
        text?.onEvent(event);
      },
    });
    if (output === 'json') {
      io.stdout.write(
        `${JSON.stringify({
          taskId: result.taskId,
          sessionId: result.sessionId,
          reason: result.reason,
          summary: result.summary,
          changedFiles: result.changedFiles,
          usage: result.usage,
          steps: result.steps,
          durationMs: result.durationMs,
          ...(result.test ? { test: { command: result.test.command, exitCode: result.test.exitCode } } : {}),
          ...(result.attempts ? { attempts: result.attempts, chosenAttempt: result.chosenAttempt ?? null } : {}),
          ...(result.error ? { error: { code: result.error.code, message: result.error.message } } : {}),
        })}\n`,
      );
    } else if (output === 'text') {
      if (result.attempts) io.stdout.write(`\n${renderAttemptsTable(result.attempts, result.chosenAttempt ?? null)}\n`);
      if (result.summary && !result.error) io.stdout.write(`${result.summary}\n`);
    }
    if (result.error) io.stderr.write(`autocoder: ${result.error.message}\n`);
    if (result.reason !== 'completed') return 1;
    // The run completed, but its change does not pass the command that judges it: a script can tell.
    if (result.test && result.test.exitCode !== 0) {
      const how = result.test.exitCode === null ? 'it did not finish' : `exit ${result.test.exitCode}`;
      io.stderr.write(`autocoder: the change does not pass \`${result.test.command}\` (${how})\n`);
      return 3;
    }
    return 0;
  } catch (thrown) {
    const error = toAutocoderError(thrown);
    io.stderr.write(`autocoder: ${error.message}\n`);
    return error.code === 'config_invalid' ? 2 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    db?.close();
  }
}
