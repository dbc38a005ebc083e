import { formatDuration, formatNumber, formatUsd } from './describe.js';
import type { EndReason, Usage } from './events.js';

/**
 * A run's budgets beyond steps and time: tokens and, when prices are known, money. Both are
 * checked against the usage the API reports after each model answer, so the answer that crosses
 * a budget is kept (its tool calls run) and the run stops before the next model call.
 */

/** What the provider charges, in USD per million tokens. */
export interface Prices {
  inputPerMTok: number;
  outputPerMTok: number;
}

/** The budgets of one run; an absent one does not limit. */
export interface RunBudgets {
  maxSteps: number;
  maxMs: number;
  maxTokens?: number;
  maxCostUsd?: number;
}

export type BudgetEndReason = Extract<EndReason, 'max_steps' | 'max_time' | 'max_tokens' | 'max_cost'>;
export const BUDGET_END_REASONS: readonly BudgetEndReason[] = ['max_steps', 'max_time', 'max_tokens', 'max_cost'];

export function isBudgetEnd(reason: EndReason): reason is BudgetEndReason {
  return (BUDGET_END_REASONS as readonly string[]).includes(reason);
}

/** The cost of some usage in USD. */
export function costOf(usage: Pick<Usage, 'promptTokens' | 'completionTokens'>, prices: Prices): number {
  return (usage.promptTokens * prices.inputPerMTok + usage.completionTokens * prices.outputPerMTok) / 1_000_000;
}

/** The token or cost budget the usage so far has reached, if any (tokens first: it is the plainer figure). */
export function spentBudget(usage: Usage, budgets: Pick<RunBudgets, 'maxTokens' | 'maxCostUsd'>): 'max_tokens' | 'max_cost' | undefined {
  if (budgets.maxTokens !== undefined && usage.totalTokens >= budgets.maxTokens) return 'max_tokens';
  if (budgets.maxCostUsd !== undefined && (usage.costUsd ?? 0) >= budgets.maxCostUsd) return 'max_cost';
  return undefined;
}

export const formatCost = formatUsd;

/** `30 minutes`, `1 minute`, else `2m 30s`. */
function minutes(ms: number): string {
  if (ms % 60_000 !== 0) return formatDuration(ms);
  const n = ms / 60_000;
  return `${formatNumber(n)} minute${n === 1 ? '' : 's'}`;
}

/** What the run used of a budget, in words: `12,400 tokens of its 10,000-token budget`. */
export function describeBudget(
  reason: BudgetEndReason,
  figures: { steps: number; usage: Usage; budgets: Partial<RunBudgets> },
): string {
  const { steps, usage, budgets } = figures;
  switch (reason) {
    case 'max_steps':
      return `all ${formatNumber(budgets.maxSteps ?? steps)} of its steps`;
    case 'max_time':
      return `all of its time budget of ${budgets.maxMs !== undefined ? minutes(budgets.maxMs) : '?'}`;
    case 'max_tokens':
      return `${formatNumber(usage.totalTokens)} tokens of its ${formatNumber(budgets.maxTokens ?? 0)}-token budget`;
    case 'max_cost':
      return `${formatCost(usage.costUsd ?? 0)} of its ${formatCost(budgets.maxCostUsd ?? 0)} cost budget`;
  }
}

/** The summary of a run a budget stopped (the agent wrote none of its own). */
export function budgetSummary(reason: BudgetEndReason, figures: Parameters<typeof describeBudget>[1]): string {
  return `Stopped after using ${describeBudget(reason, figures)}, before the work was finished.`;
}

/**
 * Best of N: the attempts of one run share its token and cost budgets evenly, so N attempts cost
 * what one run may (a token share is at least 1).
 */
export function shareBudgets<B extends { maxTokens?: number; maxCostUsd?: number }>(budgets: B, attempts: number): B {
  const n = Math.max(1, Math.floor(attempts));
  return {
    ...budgets,
    ...(budgets.maxTokens !== undefined ? { maxTokens: Math.max(1, Math.floor(budgets.maxTokens / n)) } : {}),
    ...(budgets.maxCostUsd !== undefined ? { maxCostUsd: budgets.maxCostUsd / n } : {}),
  };
}
