import { describe, expect, it } from 'vitest';
import {
  chooseAttempt,
  compareAttempts,
  countDiffLines,
  createUsageTally,
  describeAttemptTests,
  explainChoice,
  modelForAttempt,
  rankAttempts,
  type AttemptOutcome,
} from '../../src/engine/attempts.js';

function attempt(k: number, patch: Partial<AttemptOutcome> = {}): AttemptOutcome {
  return {
    attempt: k,
    model: `model-${k}`,
    reason: 'completed',
    filesChanged: 1,
    linesAdded: 1,
    linesRemoved: 1,
    usage: { promptTokens: 100, completionTokens: 10, totalTokens: 110 },
    durationMs: 1000,
    ...patch,
  };
}
const tokens = (totalTokens: number) => ({ promptTokens: totalTokens, completionTokens: 0, totalTokens });

describe('chooseAttempt: tests first, then the smallest diff, then fewer tokens', () => {
  it('a change whose tests pass beats a smaller one whose tests fail, and one with no test run', () => {
    const outcomes = [attempt(1, { testExitCode: 1, linesAdded: 0 }), attempt(2, { testExitCode: 0, linesAdded: 40 }), attempt(3, { testExitCode: null })];
    expect(chooseAttempt(outcomes)?.attempt).toBe(2);
    expect(rankAttempts(outcomes).map((o) => o.attempt)).toEqual([2, 1, 3]);
  });

  it('without a test command, a change beats no change, and the smaller change wins', () => {
    const outcomes = [attempt(1, { filesChanged: 0, linesAdded: 0, linesRemoved: 0 }), attempt(2, { linesAdded: 9 }), attempt(3, { linesAdded: 3 })];
    expect(chooseAttempt(outcomes)?.attempt).toBe(3);
  });

  it('a failing test still beats no change at all; an attempt that failed or was cancelled never wins', () => {
    expect(chooseAttempt([attempt(1, { filesChanged: 0 }), attempt(2, { testExitCode: 2 })])?.attempt).toBe(2);
    expect(chooseAttempt([attempt(1, { reason: 'failed', testExitCode: 0 }), attempt(2, { reason: 'cancelled' })])).toBeUndefined();
    expect(chooseAttempt([attempt(1, { filesChanged: 0 }), attempt(2, { filesChanged: 0 })])).toBeUndefined();
    expect(chooseAttempt([])).toBeUndefined();
  });

  it('a run that hit its step budget with a passing change counts like a completed one', () => {
    expect(chooseAttempt([attempt(1, { testExitCode: 1 }), attempt(2, { reason: 'max_steps', testExitCode: 0 })])?.attempt).toBe(2);
  });

  it('ties: fewer files, then fewer tokens, then the earlier attempt', () => {
    expect(chooseAttempt([attempt(1, { filesChanged: 2 }), attempt(2, { filesChanged: 1 })])?.attempt).toBe(2);
    expect(chooseAttempt([attempt(1, { usage: tokens(500) }), attempt(2, { usage: tokens(200) })])?.attempt).toBe(2);
    expect(chooseAttempt([attempt(2), attempt(1)])?.attempt).toBe(1);
    expect(compareAttempts(attempt(1), attempt(1))).toBe(0);
  });

  it('rankAttempts leaves its input alone', () => {
    const outcomes = [attempt(1, { linesAdded: 5 }), attempt(2)];
    rankAttempts(outcomes);
    expect(outcomes.map((o) => o.attempt)).toEqual([1, 2]);
  });
});

describe('explainChoice', () => {
  it('names what decided', () => {
    const onlyPassing = [attempt(1, { testExitCode: 1 }), attempt(2, { testExitCode: 0 }), attempt(3, { testExitCode: 1 })];
    expect(explainChoice(onlyPassing, onlyPassing[1])).toBe('the only one whose tests passed');

    const twoPassing = [attempt(1, { testExitCode: 0, linesAdded: 10 }), attempt(2, { testExitCode: 0, linesAdded: 2 })];
    expect(explainChoice(twoPassing, twoPassing[1])).toBe('the smallest change (3 lines) of the 2 whose tests passed');

    const fewerFiles = [attempt(1, { filesChanged: 3 }), attempt(2, { filesChanged: 1 })];
    expect(explainChoice(fewerFiles, fewerFiles[1])).toBe('the change to the fewest files (1 file) of the 2 that changed anything (no test ran)');

    const fewerTokens = [attempt(1, { testExitCode: 0, usage: tokens(900) }), attempt(2, { testExitCode: 0, usage: tokens(100) })];
    expect(explainChoice(fewerTokens, fewerTokens[1])).toBe('as small a change as attempt 1, with fewer tokens used, of the 2 whose tests passed');

    const same = [attempt(1), attempt(2)];
    expect(explainChoice(same, same[0])).toBe('as small a change as attempt 2, and the earlier one, of the 2 that changed anything (no test ran)');

    const noneRight = [attempt(1, { testExitCode: 1 }), attempt(2, { filesChanged: 0 })];
    expect(explainChoice(noneRight, noneRight[0])).toBe('no attempt’s tests passed; the only one that changed anything');
  });

  it('agrees with chooseAttempt on what it explains', () => {
    const outcomes = [attempt(1, { testExitCode: 0, linesAdded: 4 }), attempt(2, { testExitCode: 0, linesAdded: 1 }), attempt(3, { testExitCode: 1, linesAdded: 0 })];
    const chosen = chooseAttempt(outcomes)!;
    expect(chosen.attempt).toBe(2);
    expect(explainChoice(outcomes, chosen)).toBe('the smallest change (2 lines) of the 2 whose tests passed');
  });
});

describe('modelForAttempt', () => {
  it('round-robin over --models, else the default model', () => {
    expect([1, 2, 3, 4].map((k) => modelForAttempt(k, ['a', 'b'], 'default'))).toEqual(['a', 'b', 'a', 'b']);
    expect(modelForAttempt(3, undefined, 'default')).toBe('default');
    expect(modelForAttempt(1, [], 'default')).toBe('default');
  });
});

describe('countDiffLines', () => {
  it('counts added and removed lines, not the file headers', () => {
    const patch = [
      'diff --git a/src/a.js b/src/a.js',
      '--- a/src/a.js',
      '+++ b/src/a.js',
      '@@ -1,3 +1,3 @@',
      ' keep',
      '-  return a - b;',
      '+  return a + b;',
      'diff --git a/NEW.md b/NEW.md',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/NEW.md',
      '@@ -0,0 +1,2 @@',
      '+one',
      '+two',
      '',
    ].join('\n');
    expect(countDiffLines(patch)).toEqual({ added: 3, removed: 1 });
    expect(countDiffLines('')).toEqual({ added: 0, removed: 0 });
  });
});

describe('describeAttemptTests', () => {
  it('says what became of the tests', () => {
    expect(describeAttemptTests(attempt(1, { testExitCode: 0 }))).toBe('passed');
    expect(describeAttemptTests(attempt(1, { testExitCode: 2 }))).toBe('failed (exit 2)');
    expect(describeAttemptTests(attempt(1, { testExitCode: null }))).toBe('failed (killed)');
    expect(describeAttemptTests(attempt(1))).toBe('not run');
    expect(describeAttemptTests(attempt(1, { filesChanged: 0 }))).toBe('—');
  });

  it('the live token count of several attempts is all of them together; of one attempt, its own', () => {
    const u = (totalTokens: number, costUsd?: number) => ({ promptTokens: totalTokens - 10, completionTokens: 10, totalTokens, ...(costUsd !== undefined ? { costUsd } : {}) });
    const single = createUsageTally();
    expect(single({ total: u(100) })).toEqual(u(100));
    expect(single({ total: u(250) })).toEqual(u(250));

    const several = createUsageTally();
    expect(several({ attempt: 1, total: u(100, 0.5) })).toEqual(u(100, 0.5));
    expect(several({ attempt: 2, total: u(40) })).toEqual({ promptTokens: 120, completionTokens: 20, totalTokens: 140, costUsd: 0.5 });
    // Each attempt's total replaces its last one: counted once.
    expect(several({ attempt: 1, total: u(300, 1) })).toEqual({ promptTokens: 320, completionTokens: 20, totalTokens: 340, costUsd: 1 });
  });
});
