import { AutocoderError } from './errors.js';
import type { EndReason, Usage } from './events.js';

/**
 * Best of N: several agents work on the same request at once, each in its own working tree; the
 * one published is chosen by the tests first, then by the smallest diff. One set of rules for the
 * GitHub App, the CLI, the SDK and the REST API.
 */
export interface AttemptOutcome {
  /** 1-based. */
  attempt: number;
  model: string;
  reason: EndReason;
  /** The test command's exit code (null: killed or timed out); undefined when no test ran. */
  testExitCode?: number | null;
  filesChanged: number;
  linesAdded: number;
  linesRemoved: number;
  usage: Usage;
  durationMs: number;
  /** Why the attempt has nothing to offer (it failed, or changed nothing). */
  error?: string;
}

/** Lower is better: a change whose tests pass, a change with no test run, a change whose tests fail, no change. */
function tier(outcome: AttemptOutcome): number {
  const changed = outcome.filesChanged > 0 && outcome.reason !== 'failed' && outcome.reason !== 'cancelled';
  if (!changed) return 3;
  if (outcome.testExitCode === undefined) return 1;
  return outcome.testExitCode === 0 ? 0 : 2;
}

/** Tests passing first, then the smallest diff (lines, then files), then fewer tokens, then the earlier attempt. */
export function compareAttempts(a: AttemptOutcome, b: AttemptOutcome): number {
  return (
    tier(a) - tier(b) ||
    a.linesAdded + a.linesRemoved - (b.linesAdded + b.linesRemoved) ||
    a.filesChanged - b.filesChanged ||
    a.usage.totalTokens - b.usage.totalTokens ||
    a.attempt - b.attempt
  );
}

/** The attempts best first (a new array). */
export function rankAttempts(outcomes: readonly AttemptOutcome[]): AttemptOutcome[] {
  return [...outcomes].sort(compareAttempts);
}

/** The attempt to publish, or undefined when none changed anything usable. */
export function chooseAttempt(outcomes: readonly AttemptOutcome[]): AttemptOutcome | undefined {
  const best = rankAttempts(outcomes)[0];
  return best && tier(best) < 3 ? best : undefined;
}

/** Attempt k (1-based) uses the k-th of `models`, round-robin, or the default model. */
export function modelForAttempt(attempt: number, models: readonly string[] | undefined, defaultModel: string): string {
  if (!models || models.length === 0) return defaultModel;
  return models[(attempt - 1) % models.length];
}

/** Every attempt's tokens added up: what a best-of-N request cost. */
export function addUsages(usages: readonly Usage[]): Usage {
  const sum: Usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
  for (const usage of usages) {
    sum.promptTokens += usage.promptTokens;
    sum.completionTokens += usage.completionTokens;
    sum.totalTokens += usage.totalTokens;
    if (usage.costUsd !== undefined) sum.costUsd = (sum.costUsd ?? 0) + usage.costUsd;
  }
  return sum;
}

/**
 * A run's live token count while each of its attempts reports its own running total (`usage`
 * events): all of them together; for a run of one attempt, its own.
 */
export function createUsageTally(): (event: { attempt?: number; total: Usage }) => Usage {
  const totals = new Map<number, Usage>();
  return (event) => {
    totals.set(event.attempt ?? 0, event.total);
    return totals.size > 1 ? addUsages([...totals.values()]) : event.total;
  };
}

/** Lines added and removed in a unified diff (`git diff` output). */
export function countDiffLines(patch: string): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const line of patch.split('\n')) {
    if (line.startsWith('+++') || line.startsWith('---')) continue;
    if (line.startsWith('+')) added++;
    else if (line.startsWith('-')) removed++;
  }
  return { added, removed };
}

/** What the table says about an attempt's tests. */
export function describeAttemptTests(outcome: AttemptOutcome): string {
  if (outcome.testExitCode === undefined) return outcome.filesChanged > 0 ? 'not run' : '—';
  if (outcome.testExitCode === 0) return 'passed';
  return outcome.testExitCode === null ? 'failed (killed)' : `failed (exit ${outcome.testExitCode})`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * Why `chosen` was published, in a phrase for the pull request: "the only one whose tests passed",
 * "the smallest change (3 lines) of the 2 whose tests passed". Names what decided, following the
 * order of `compareAttempts`.
 */
export function explainChoice(outcomes: readonly AttemptOutcome[], chosen: AttemptOutcome): string {
  const rank = tier(chosen);
  const peers = outcomes.filter((o) => o.attempt !== chosen.attempt && tier(o) === rank);
  const group =
    rank === 0 ? 'whose tests passed' : rank === 1 ? 'that changed anything (no test ran)' : 'that changed anything';
  const prefix = rank === 2 ? 'no attempt’s tests passed; ' : '';
  if (peers.length === 0) {
    if (outcomes.length === 1) return rank === 0 ? 'its tests passed' : 'the only attempt';
    return `${prefix}the only one ${group}`;
  }
  const of = `of the ${peers.length + 1} ${group}`;
  const lines = chosen.linesAdded + chosen.linesRemoved;
  const next = rankAttempts(peers)[0];
  const nextLines = next.linesAdded + next.linesRemoved;
  if (lines !== nextLines) return `${prefix}the smallest change (${plural(lines, 'line')}) ${of}`;
  if (chosen.filesChanged !== next.filesChanged) return `${prefix}the change to the fewest files (${plural(chosen.filesChanged, 'file')}) ${of}`;
  if (chosen.usage.totalTokens !== next.usage.totalTokens) return `${prefix}as small a change as attempt ${next.attempt}, with fewer tokens used, ${of}`;
  return `${prefix}as small a change as attempt ${next.attempt}, and the earlier one, ${of}`;
}

/** Attempts of one request at once: each is a whole agent run, so more would mostly burn tokens. */
export const MAX_ATTEMPTS = 5;

/** Checks the options of a best-of-N request; an error a user can read. */
export function validateAttempts(attempts: unknown, models: unknown, testCommand: unknown): void {
  if (attempts !== undefined && (typeof attempts !== 'number' || !Number.isInteger(attempts) || attempts < 1 || attempts > MAX_ATTEMPTS)) {
    throw new AutocoderError('config_invalid', `attempts must be a whole number from 1 to ${MAX_ATTEMPTS}, got ${JSON.stringify(attempts)}`);
  }
  if (models !== undefined && (!Array.isArray(models) || models.length === 0 || models.some((m) => typeof m !== 'string' || !m.trim()))) {
    throw new AutocoderError('config_invalid', `models must be a list of model names, got ${JSON.stringify(models)}`);
  }
  if (testCommand !== undefined && (typeof testCommand !== 'string' || !testCommand.trim())) {
    throw new AutocoderError('config_invalid', 'the test command is empty');
  }
}

/** How many attempts a request makes: as asked, else one per model listed, else one. */
export function attemptsOf(attempts: number | undefined, models: readonly string[] | undefined): number {
  const count = attempts ?? (models && models.length > 1 ? models.length : 1);
  if (count > MAX_ATTEMPTS) {
    throw new AutocoderError('config_invalid', `at most ${MAX_ATTEMPTS} attempts run at once, and ${models?.length} models were listed; give attempts explicitly`);
  }
  return count;
}
