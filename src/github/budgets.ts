import type { AppEnv } from '../config/env.js';
import { describeBudget, isBudgetEnd, type Prices } from '../engine/budget.js';
import { formatNumber } from '../engine/describe.js';
import type { EndReason, Usage } from '../engine/events.js';
import type { TaskStore } from '../store/tasks.js';

/**
 * The operator's budgets for GitHub runs (from the environment) and what they mean for one run:
 * per run, tokens and cost; per repository per UTC day, runs and tokens. Pure apart from the
 * store query, so the rules are tested without GitHub.
 */
export interface BudgetSettings {
  /** Per run: the default, and the ceiling for a repository's `maxTokens`. */
  maxTokens?: number;
  maxCostUsd?: number;
  prices?: Prices;
  /** Per repository per UTC day. */
  dailyRuns?: number;
  dailyTokens?: number;
}

/** The settings from the validated environment (src/config/env.ts). */
export function budgetSettingsFrom(env: Pick<AppEnv, 'maxTokens' | 'maxCostUsd' | 'prices' | 'dailyRuns' | 'dailyTokens'>): BudgetSettings {
  return { maxTokens: env.maxTokens, maxCostUsd: env.maxCostUsd, prices: env.prices, dailyRuns: env.dailyRuns, dailyTokens: env.dailyTokens };
}

/** The UTC day `now` falls in, as ISO strings: [start, end). */
export function utcDay(now: Date): { start: string; end: string } {
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const end = new Date(start.getTime() + 24 * 3_600_000);
  return { start: start.toISOString(), end: end.toISOString() };
}

export interface DailyUsage {
  runs: number;
  tokens: number;
  /** When the day's count starts again (the next UTC midnight), ISO. */
  resetsAt: string;
}

/** What a repository has used today, other runs than `exceptTaskId`. */
export function dailyUsage(store: Pick<TaskStore, 'repoUsage'>, repo: string, now = new Date(), exceptTaskId?: string): DailyUsage {
  const day = utcDay(now);
  return { ...store.repoUsage(repo, day.start, day.end, exceptTaskId), resetsAt: day.end };
}

/** `dailyUsage` bound to a store and the clock, for the runner (which may run where the store is not). */
export type UsageToday = (repo: string, exceptTaskId?: string) => DailyUsage;
export const usageTodayFrom = (store: Pick<TaskStore, 'repoUsage'>): UsageToday => (repo, exceptTaskId) => dailyUsage(store, repo, new Date(), exceptTaskId);

export type DailyOverrun = { budget: 'runs' | 'tokens'; limit: number; used: number; resetsAt: string };

/** The daily budget a new run would go over, or undefined when it may start. */
export function dailyOverrun(settings: BudgetSettings, usage: DailyUsage): DailyOverrun | undefined {
  if (settings.dailyRuns !== undefined && usage.runs >= settings.dailyRuns) {
    return { budget: 'runs', limit: settings.dailyRuns, used: usage.runs, resetsAt: usage.resetsAt };
  }
  if (settings.dailyTokens !== undefined && usage.tokens >= settings.dailyTokens) {
    return { budget: 'tokens', limit: settings.dailyTokens, used: usage.tokens, resetsAt: usage.resetsAt };
  }
  return undefined;
}

/** `00:00 UTC on 2026-12-02`. */
function resetTime(iso: string): string {
  return `${iso.slice(11, 16)} UTC on ${iso.slice(0, 10)}`;
}

/** The one reply to a trigger that the daily budget turns away. */
export function renderDailyBudgetReply(over: DailyOverrun, repo: string): string {
  const what =
    over.budget === 'runs'
      ? `its daily budget of ${formatNumber(over.limit)} run${over.limit === 1 ? '' : 's'} (${formatNumber(over.used)} started today)`
      : `its daily budget of ${formatNumber(over.limit)} tokens (${formatNumber(over.used)} used today)`;
  return (
    `⏸️ autocoder did not start: ${repo} has reached ${what}. ` +
    `The budget resets at ${resetTime(over.resetsAt)}; add the label again or comment \`/autocoder\` after that.`
  );
}

/** The budgets of one run: which token budget is tighter, the run's or what is left of the day's. */
export interface RunBudgetPlan {
  maxTokens?: number;
  maxCostUsd?: number;
  prices?: Prices;
  /** The day's remaining tokens are the binding limit: a `max_tokens` end is the daily budget's. */
  dailyBound: boolean;
  /** The run's own token budget (repository or operator), for the message. */
  runMaxTokens?: number;
  dailyTokens?: number;
}

/** `usage`: today's, when known; without it the daily token budget is checked at intake only. */
export function planRunBudgets(settings: BudgetSettings, configMaxTokens: number | undefined, usage: Pick<DailyUsage, 'tokens'> | undefined): RunBudgetPlan {
  const runMaxTokens =
    configMaxTokens !== undefined && settings.maxTokens !== undefined
      ? Math.min(configMaxTokens, settings.maxTokens)
      : configMaxTokens ?? settings.maxTokens;
  const dayLeft = settings.dailyTokens !== undefined && usage ? Math.max(0, settings.dailyTokens - usage.tokens) : undefined;
  const dailyBound = dayLeft !== undefined && (runMaxTokens === undefined || dayLeft < runMaxTokens);
  return {
    maxTokens: dailyBound ? dayLeft : runMaxTokens,
    maxCostUsd: settings.prices ? settings.maxCostUsd : undefined,
    prices: settings.prices,
    dailyBound,
    runMaxTokens,
    dailyTokens: settings.dailyTokens,
  };
}

export interface BudgetEndFigures {
  steps: number;
  maxSteps: number;
  maxMinutes: number;
  usage: Usage;
  plan?: RunBudgetPlan;
}

/**
 * Which budget ended a run, with its figure, for the progress comment and the pull request; or
 * undefined when no budget did. `pushed` says what became of the work.
 */
export function describeBudgetEnd(reason: EndReason, figures: BudgetEndFigures, pushed: boolean): string | undefined {
  if (!isBudgetEnd(reason)) return undefined;
  const plan = figures.plan;
  let used: string;
  if (reason === 'max_tokens' && plan?.dailyBound) {
    used = `the rest of this repository's daily budget of ${formatNumber(plan.dailyTokens ?? 0)} tokens (${formatNumber(figures.usage.totalTokens)} tokens in this run; it resets at midnight UTC)`;
  } else {
    used = describeBudget(reason, {
      steps: figures.steps,
      usage: figures.usage,
      budgets: { maxSteps: figures.maxSteps, maxMs: figures.maxMinutes * 60_000, maxTokens: plan?.maxTokens, maxCostUsd: plan?.maxCostUsd },
    });
  }
  const name = { max_steps: 'step', max_time: 'time', max_tokens: plan?.dailyBound ? 'daily token' : 'token', max_cost: 'cost' }[reason];
  return pushed
    ? `The ${name} budget ended the run: it used ${used} before it was finished; what it did so far is here.`
    : `The ${name} budget ended the run: it used ${used} before it was finished, and it had changed nothing, so nothing was pushed.`;
}
