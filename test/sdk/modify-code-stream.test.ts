import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runEventSchema } from '../../src/engine/events.js';
import { modifyCodeStream, type RunEvent } from '../../src/sdk/index.js';
import { makeTempDir } from '../helpers/temp-repo.js';
import { KEY, MODEL, ROOT, buggyRepo, dataDir, fixingModel, isAlive, modelEnv, scriptedLlm, sleepingModel, waitForPid } from './fixtures.js';

/** `autocoder run --output stream-json` as a child process: its events, one per line. */
function cliStreamJson(prompt: string, cwd: string, env: NodeJS.ProcessEnv): Promise<RunEvent[]> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/autocoder.js'), 'run', '-o', 'stream-json', prompt], {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.on('error', fail);
    child.on('close', () => done(stdout.trim().split('\n').map((line) => runEventSchema.parse(JSON.parse(line)))));
  });
}

/** What two runs of the same script share: everything but ids, times, durations and paths. */
function shape(event: RunEvent): unknown {
  const { taskId: _t, time: _time, ...rest } = event as RunEvent & Record<string, unknown>;
  for (const key of ['durationMs', 'sessionId', 'cwd']) if (key in rest) (rest as Record<string, unknown>)[key] = '*';
  return rest;
}

describe('modifyCodeStream', () => {
  it('yields every typed engine event, the same as --output stream-json prints', async () => {
    const repo = await buggyRepo();
    const llm = await scriptedLlm(fixingModel());
    const events: RunEvent[] = [];
    for await (const event of modifyCodeStream('add() subtracts; fix it', {
      cwd: repo.root,
      model: MODEL,
      apiKey: KEY,
      baseURL: llm.baseURL,
      dataDir: await dataDir(),
    })) {
      events.push(event);
    }
    for (const event of events) expect(runEventSchema.parse(JSON.parse(JSON.stringify(event)))).toEqual(event);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(new Set(events.map((e) => e.taskId)).size).toBe(1);
    expect(events[0]).toMatchObject({ type: 'started', prompt: 'add() subtracts; fix it', model: MODEL, resumed: false });
    expect(events.filter((e) => e.type === 'file_changed')).toEqual([expect.objectContaining({ path: 'src/math.js', change: 'modified' })]);
    expect(events.at(-1)).toMatchObject({ type: 'finished', reason: 'completed', steps: 5 });

    // The CLI on a fresh copy of the same repository with the same script prints the same events.
    const other = await buggyRepo();
    const cliLlm = await scriptedLlm(fixingModel());
    const printed = await cliStreamJson('add() subtracts; fix it', other.root, modelEnv(cliLlm, await dataDir()));
    expect(printed.map(shape)).toEqual(events.map(shape));
  });

  it('ends with a cancelled finished event when the signal fires', async () => {
    const repo = await buggyRepo();
    const pidFile = join(await makeTempDir('autocoder-pid-'), 'pid');
    const llm = await scriptedLlm(sleepingModel(pidFile));
    const controller = new AbortController();
    const types: string[] = [];
    let pid = 0;
    let last: RunEvent | undefined;
    for await (const event of modifyCodeStream('sleep', { cwd: repo.root, apiKey: KEY, baseURL: llm.baseURL, dataDir: await dataDir(), signal: controller.signal })) {
      types.push(event.type);
      last = event;
      if (event.type === 'tool_call') {
        pid = await waitForPid(pidFile);
        controller.abort();
      }
    }
    expect(isAlive(pid)).toBe(false);
    expect(types).toEqual(['started', 'step', 'usage', 'tool_call', 'tool_result', 'finished']);
    expect(last).toMatchObject({ type: 'finished', reason: 'cancelled' });
  });
});
