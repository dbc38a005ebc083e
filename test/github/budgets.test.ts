/** The budget rules as pure functions: which token budget binds, what a budget end says, the UTC day, the daily reply. */
import { describe, expect, it } from 'vitest';
import { budgetSummary, costOf, spentBudget } from '../../src/engine/budget.js';
import { formatUsd } from '../../src/engine/describe.js';
import { dailyOverrun, describeBudgetEnd, planRunBudgets, renderDailyBudgetReply, utcDay } from '../../src/github/budgets.js';

const usage = (totalTokens: number, costUsd?: number) => ({ promptTokens: totalTokens - 10, completionTokens: 10, totalTokens, ...(costUsd !== undefined ? { costUsd } : {}) });
const prices = { inputPerMTok: 2, outputPerMTok: 8 };

describe('a run’s budgets', () => {
  it('the repository’s maxTokens, capped by the operator’s; the operator’s alone; none at all', () => {
    expect(planRunBudgets({ maxTokens: 50_000 }, 80_000, undefined)).toMatchObject({ maxTokens: 50_000, dailyBound: false });
    expect(planRunBudgets({ maxTokens: 50_000 }, 20_000, undefined)).toMatchObject({ maxTokens: 20_000, dailyBound: false });
    expect(planRunBudgets({ maxTokens: 50_000 }, undefined, undefined)).toMatchObject({ maxTokens: 50_000 });
    expect(planRunBudgets({}, undefined, undefined)).toMatchObject({ maxTokens: undefined, maxCostUsd: undefined });
  });

  it('what is left of the day binds when it is less; a spent day leaves 0', () => {
    expect(planRunBudgets({ dailyTokens: 10_000 }, 5_000, { tokens: 7_000 })).toMatchObject({ maxTokens: 3_000, dailyBound: true, runMaxTokens: 5_000 });
    expect(planRunBudgets({ dailyTokens: 10_000 }, 5_000, { tokens: 1_000 })).toMatchObject({ maxTokens: 5_000, dailyBound: false });
    expect(planRunBudgets({ dailyTokens: 10_000 }, undefined, { tokens: 12_000 })).toMatchObject({ maxTokens: 0, dailyBound: true });
    // Without today's count (a worker that cannot ask the store), the daily budget is the intake's alone.
    expect(planRunBudgets({ dailyTokens: 10_000 }, 5_000, undefined)).toMatchObject({ maxTokens: 5_000, dailyBound: false });
  });

  it('a cost budget only with prices', () => {
    expect(planRunBudgets({ maxCostUsd: 2, prices }, undefined, undefined)).toMatchObject({ maxCostUsd: 2, prices });
    expect(planRunBudgets({ maxCostUsd: 2 }, undefined, undefined).maxCostUsd).toBeUndefined();
  });

  it('prices and spends: tokens first, then cost', () => {
    expect(costOf({ promptTokens: 1_000_000, completionTokens: 500_000 }, prices)).toBe(6);
    expect(spentBudget(usage(100), { maxTokens: 100 })).toBe('max_tokens');
    expect(spentBudget(usage(99, 5), { maxTokens: 100, maxCostUsd: 5 })).toBe('max_cost');
    expect(spentBudget(usage(99, 4.99), { maxTokens: 100, maxCostUsd: 5 })).toBeUndefined();
    expect(formatUsd(0.0052)).toBe('$0.0052');
    expect(formatUsd(12.345)).toBe('$12.35');
    expect(formatUsd(0)).toBe('$0');
    expect(formatUsd(0.00000004)).toBe('<$0.0001');
  });
});

describe('what a budget end says', () => {
  const figures = { steps: 40, maxSteps: 40, maxMinutes: 30, usage: usage(12_400, 0.1234) };

  it('names each budget with its figure, and whether the work was pushed', () => {
    expect(describeBudgetEnd('max_steps', figures, true)).toBe('The step budget ended the run: it used all 40 of its steps before it was finished; what it did so far is here.');
    expect(describeBudgetEnd('max_time', figures, true)).toBe(
      'The time budget ended the run: it used all of its time budget of 30 minutes before it was finished; what it did so far is here.',
    );
    const plan = planRunBudgets({ maxTokens: 10_000, maxCostUsd: 0.1, prices }, undefined, undefined);
    expect(describeBudgetEnd('max_tokens', { ...figures, plan }, true)).toBe(
      'The token budget ended the run: it used 12,400 tokens of its 10,000-token budget before it was finished; what it did so far is here.',
    );
    expect(describeBudgetEnd('max_cost', { ...figures, plan }, false)).toBe(
      'The cost budget ended the run: it used $0.12 of its $0.1 cost budget before it was finished, and it had changed nothing, so nothing was pushed.',
    );
    const daily = planRunBudgets({ dailyTokens: 50_000 }, 20_000, { tokens: 40_000 });
    expect(describeBudgetEnd('max_tokens', { ...figures, plan: daily }, true)).toBe(
      "The daily token budget ended the run: it used the rest of this repository's daily budget of 50,000 tokens (12,400 tokens in this run; it resets at midnight UTC) before it was finished; what it did so far is here.",
    );
    expect(describeBudgetEnd('completed', figures, true)).toBeUndefined();
    expect(describeBudgetEnd('failed', figures, true)).toBeUndefined();
  });

  it('the engine’s own summary of a budget stop', () => {
    expect(budgetSummary('max_tokens', { steps: 3, usage: usage(3_000), budgets: { maxTokens: 2_500 } })).toBe(
      'Stopped after using 3,000 tokens of its 2,500-token budget, before the work was finished.',
    );
    expect(budgetSummary('max_time', { steps: 3, usage: usage(1), budgets: { maxMs: 90_000 } })).toBe(
      'Stopped after using all of its time budget of 1m 30s, before the work was finished.',
    );
  });
});

describe('the daily budgets', () => {
  it('the UTC day, whatever the local time', () => {
    expect(utcDay(new Date('2026-12-01T23:59:59.999Z'))).toEqual({ start: '2026-12-01T00:00:00.000Z', end: '2026-12-02T00:00:00.000Z' });
    expect(utcDay(new Date('2026-12-31T00:00:00.000Z')).end).toBe('2027-01-01T00:00:00.000Z');
  });

  it('runs first, then tokens; under both, none', () => {
    const day = { resetsAt: '2026-12-02T00:00:00.000Z' };
    expect(dailyOverrun({ dailyRuns: 3, dailyTokens: 100 }, { runs: 3, tokens: 500, ...day })).toMatchObject({ budget: 'runs', limit: 3, used: 3 });
    expect(dailyOverrun({ dailyRuns: 3, dailyTokens: 100 }, { runs: 2, tokens: 100, ...day })).toMatchObject({ budget: 'tokens', limit: 100, used: 100 });
    expect(dailyOverrun({ dailyRuns: 3, dailyTokens: 100 }, { runs: 2, tokens: 99, ...day })).toBeUndefined();
    expect(dailyOverrun({}, { runs: 1_000, tokens: 1e9, ...day })).toBeUndefined();
    expect(renderDailyBudgetReply({ budget: 'runs', limit: 1, used: 1, resetsAt: day.resetsAt }, 'acme/widgets')).toBe(
      '⏸️ autocoder did not start: acme/widgets has reached its daily budget of 1 run (1 started today). ' +
        'The budget resets at 00:00 UTC on 2026-12-02; add the label again or comment `/autocoder` after that.',
    );
  });
});
