import { afterEach, describe, expect, it } from 'vitest';
import { runAgent } from '../../src/engine/agent.js';
import { createEmitter, type RunEvent } from '../../src/engine/events.js';
import { buildCommandEnv } from '../../src/engine/tools/command-env.js';
import { createOpenAiClient } from '../../src/llm/openai-client.js';
import { startScriptedLlm } from '../helpers/scripted-llm-server.js';
import { makeTempRepo } from '../helpers/temp-repo.js';
import { hasBwrap } from './helpers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const PROBE = 'touch /etc/agent-probe 2>/dev/null; echo "etc=$?"; echo "procs=$(ls /proc | grep -cE "^[0-9]+$")"';

async function agentRun(sandbox?: Parameters<typeof runAgent>[0]['sandbox']) {
  const llm = await startScriptedLlm([
    { toolCalls: [{ name: 'run_command', arguments: { command: PROBE } }] },
    { toolCalls: [{ name: 'finish', arguments: { summary: 'probed' } }] },
  ]);
  const repo = await makeTempRepo({ 'a.txt': 'a\n' });
  cleanups.push(() => llm.close(), () => repo.cleanup());
  const events: RunEvent[] = [];
  const result = await runAgent({
    llm: createOpenAiClient({ apiKey: 'sk-test-key-0123456789abcdefghij', baseURL: llm.baseURL, maxRetries: 0 }),
    model: 'scripted-model',
    cwd: repo.root,
    prompt: 'probe',
    sessionId: 'ses_sandbox',
    emit: createEmitter('run_sandbox', (event) => events.push(event)),
    maxSteps: 4,
    maxMs: 30_000,
    commandEnv: buildCommandEnv(process.env),
    sandbox,
  });
  const output = events.find((e): e is Extract<RunEvent, { type: 'tool_result' }> => e.type === 'tool_result')?.output ?? '';
  return { result, output };
}

describe('the agent chooses the sandbox for run_command', () => {
  it.skipIf(!hasBwrap)('uses bwrap by default when it works here (skipped: bwrap not usable here)', async () => {
    const { result, output } = await agentRun();
    expect(result.reason).toBe('completed');
    expect(output).toMatch(/etc=[1-9]/);
    expect(Number(output.match(/procs=(\d+)/)?.[1])).toBeLessThan(10);
  });

  it('runs without it when asked (prefer: none)', async () => {
    const { result, output } = await agentRun({ prefer: 'none' });
    expect(result.reason).toBe('completed');
    expect(Number(output.match(/procs=(\d+)/)?.[1])).toBeGreaterThan(10);
  });

  it('takes a sandbox as given; one that cannot wrap a command gives the model the error, and nothing runs', async () => {
    const { result, output } = await agentRun({
      kind: 'bwrap',
      describe: () => 'broken',
      wrap: async () => {
        throw new Error('no sandbox today');
      },
    });
    expect(result.reason).toBe('completed');
    expect(output).toContain('no sandbox today');
    expect(output).not.toContain('etc=');
  });
});
