import { describe, expect, it } from 'vitest';
import type { AttemptOutcome } from '../../src/engine/attempts.js';
import { describeEvent, describeRun } from '../../src/engine/describe.js';
import type { RunEvent, RunEventBody } from '../../src/engine/events.js';
import { renderAttemptsTable, renderProgressComment, renderPullRequestBody, type AttemptsTable } from '../../src/github/render.js';
import { createRedactor } from '../../src/util/redact.js';

const SECRET = 'sk-live-secret-0123456789abcdef';
const redact = createRedactor([SECRET]);

function events(bodies: RunEventBody[]): RunEvent[] {
  return bodies.map((body, seq) => ({ ...body, taskId: 't1', seq, time: '2024-01-01T00:00:00.000Z' }) as RunEvent);
}

function outcome(k: number, patch: Partial<AttemptOutcome> = {}): AttemptOutcome {
  return {
    attempt: k,
    model: `model-${k}`,
    reason: 'completed',
    filesChanged: 1,
    linesAdded: 2,
    linesRemoved: 1,
    usage: { promptTokens: 1000, completionTokens: 234, totalTokens: 1234 },
    durationMs: 65_000,
    ...patch,
  };
}

const table: AttemptsTable = {
  rows: [
    { outcome: outcome(2, { testExitCode: 0 }) },
    { outcome: outcome(1, { testExitCode: 1, model: 'a|b' }), branch: 'autocoder/issue-7-attempt-1' },
    { outcome: outcome(3, { reason: 'failed', filesChanged: 0, linesAdded: 0, linesRemoved: 0, error: `model said ${SECRET} @octocat` }) },
  ],
  published: { attempt: 2, why: 'the only one whose tests passed' },
  keepDays: 7,
};

describe('renderAttemptsTable', () => {
  const text = renderAttemptsTable(table);
  const lines = text.split('\n');

  it('has one row per attempt in attempt order, with every column', () => {
    expect(lines[0]).toBe('### Attempts (3)');
    expect(text).toContain('Published: **attempt 2** — the only one whose tests passed.');
    expect(text).toContain('| attempt | model | tests | files changed | lines +/− | tokens | duration | branch |');
    const rows = lines.filter((l) => /^\| (\*\*)?\d/.test(l));
    expect(rows).toEqual([
      '| 1 | `a\\|b` | failed (exit 1) | 1 | +2 / −1 | 1,234 | 1m 5s | `autocoder/issue-7-attempt-1` |',
      '| **2** ✅ | `model-2` | passed | 1 | +2 / −1 | 1,234 | 1m 5s | this pull request |',
      '| 3 | `model-3` | — | 0 | +0 / −0 | 1,234 | 1m 5s | — |',
    ]);
  });

  it('says why an attempt failed, with mentions defused, and how long the branches stay', () => {
    expect(text).toContain('- Attempt 3: model said');
    expect(text).toContain('`@octocat`');
    expect(text).toContain('stay on their branches for 7 days');
  });

  it('an attempt that changed something but is not kept (keepAttemptsDays: 0) says so, and there is no note about branches', () => {
    const unkept = renderAttemptsTable({ ...table, rows: [{ outcome: outcome(1, { testExitCode: 1 }) }, { outcome: outcome(2, { testExitCode: 0 }) }], keepDays: 0 });
    expect(unkept).toContain('| 1 | `model-1` | failed (exit 1) | 1 | +2 / −1 | 1,234 | 1m 5s | not kept |');
    expect(unkept).not.toContain('stay on their branches');
  });
});

describe('the pull-request body with attempts', () => {
  const input = {
    summary: 'Fixed it.',
    issueNumber: 7,
    changedFiles: [{ path: 'src/a.ts', change: 'modified' as const }],
    test: { command: 'npm test', exitCode: 0, output: 'ok' },
    model: 'model-2',
    usage: { promptTokens: 3000, completionTokens: 702, totalTokens: 3702 },
    durationMs: 70_000,
    log: '[attempt 1] ▸ read_file a',
    runId: 'run_1',
    redact,
  };

  it('holds the table after the tests, and the secret in an error is redacted', () => {
    const body = renderPullRequestBody({ ...input, attempts: table });
    expect(body.indexOf('### Tests')).toBeLessThan(body.indexOf('### Attempts (3)'));
    expect(body).not.toContain(SECRET);
    expect(body).toContain('Fixes #7');
  });

  it('without attempts is what it always was', () => {
    expect(renderPullRequestBody(input)).not.toContain('Attempts');
  });
});

describe('the progress comment of a run of several attempts', () => {
  it('says how many attempts run at once', () => {
    expect(renderProgressComment({ phase: 'preparing', runId: 'r', attempts: 3, redact })).toContain('**Preparing** 3 working trees, one per attempt');
    const working = renderProgressComment({ phase: 'working', runId: 'r', attempts: 3, step: 4, maxSteps: 40, currentAction: '[attempt 2] read_file a.ts', redact });
    expect(working).toContain('🛠️ **Working** on 3 attempts at once — step 4 of 40');
    expect(working).toContain('Now: [attempt 2] read_file a.ts');
    expect(renderProgressComment({ phase: 'testing', runId: 'r', attempts: 3, redact })).toContain('on each of the 3 attempts');
  });

  it('a single attempt reads as before', () => {
    for (const attempts of [undefined, 1]) {
      expect(renderProgressComment({ phase: 'working', runId: 'r', attempts, step: 2, maxSteps: 40, redact })).toContain('🛠️ **Working** — step 2 of 40');
      expect(renderProgressComment({ phase: 'preparing', runId: 'r', attempts, redact })).toContain('📦 **Preparing** the working tree…');
    }
  });
});

describe('events of attempts in the run log', () => {
  it('each line names its attempt; the same call id in two attempts is two calls', () => {
    const run = events([
      { type: 'started', model: 'a', cwd: '/w1', prompt: 'p', sessionId: 's:attempt-1', maxSteps: 5, resumed: false, attempt: 1 },
      { type: 'started', model: 'b', cwd: '/w2', prompt: 'p', sessionId: 's:attempt-2', maxSteps: 5, resumed: false, attempt: 2 },
      { type: 'tool_call', step: 1, callId: 'c1', name: 'run_command', args: { command: 'ls' }, attempt: 1 },
      { type: 'tool_call', step: 1, callId: 'c1', name: 'run_command', args: { command: 'pwd' }, attempt: 2 },
      { type: 'tool_result', step: 1, callId: 'c1', name: 'run_command', ok: true, output: '', durationMs: 1, exitCode: 2, attempt: 2 },
      { type: 'tool_result', step: 1, callId: 'c1', name: 'run_command', ok: true, output: '', durationMs: 1, exitCode: 0, attempt: 1 },
      { type: 'retry', retry: 1, delayMs: 1000, reason: 'busy', attempt: 2 },
      { type: 'phase', phase: 'publishing' },
    ]);
    expect(describeRun(run)).toEqual([
      '[attempt 1] ▶ model a · up to 5 steps',
      '[attempt 2] ▶ model b · up to 5 steps',
      '[attempt 1] ▸ run_command `ls` → exit 0',
      '[attempt 2] ▸ run_command `pwd` → exit 2',
      '[attempt 2] ↻ retry 1 in 1s: busy',
    ]);
  });

  it('an event without an attempt has no prefix', () => {
    const [event] = events([{ type: 'error', code: 'internal', message: 'boom', retryable: false }]);
    expect(describeEvent(event)).toBe('✖ internal: boom');
  });

  it('the comparison of the attempts is one line: which was kept, then each one\'s tests and change or why it has none', () => {
    const [kept, none] = events([
      {
        type: 'attempts',
        outcomes: [
          outcome(1, { testExitCode: 1 }),
          outcome(2, { testExitCode: 0, filesChanged: 2, linesAdded: 5, linesRemoved: 0 }),
          outcome(3, { reason: 'failed', filesChanged: 0, linesAdded: 0, linesRemoved: 0, error: 'the model   is\nbroken' }),
          outcome(4),
        ],
        chosen: 2,
      },
      { type: 'attempts', outcomes: [outcome(1, { filesChanged: 0, linesAdded: 0, linesRemoved: 0, error: 'changed nothing' }), outcome(2, { reason: 'cancelled', filesChanged: 0 })], chosen: null },
    ]);
    expect(describeEvent(kept)).toBe(
      '⚖ attempt 2 kept of 4 · 1 (model-1) tests failed (exit 1), 1 file +2/−1 · 2 (model-2) tests passed, 2 files +5/−0 · ' +
        '3 (model-3) the model is broken · 4 (model-4) tests not run, 1 file +2/−1',
    );
    expect(describeEvent(none)).toBe('⚖ none of 2 attempts kept · 1 (model-1) changed nothing · 2 (model-2) cancelled');
    expect(describeRun([kept, none])).toHaveLength(2);
  });
});
