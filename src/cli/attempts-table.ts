import { describeAttemptTests, type AttemptOutcome } from '../engine/attempts.js';
import { formatDuration, formatNumber } from '../engine/describe.js';

const HEADER = ['attempt', 'model', 'end', 'tests', 'files', 'lines', 'tokens', 'time'];

/**
 * The comparison of a best-of-N run for a terminal: one row per attempt, the chosen one marked,
 * and a last line that says what became of the working tree. Pure: outcomes in, text out.
 */
export function renderAttemptsTable(outcomes: readonly AttemptOutcome[], chosen: number | null): string {
  const rows = outcomes.map((o) => [
    `${o.attempt}${o.attempt === chosen ? ' ✓' : ''}`,
    o.model,
    o.reason,
    describeAttemptTests(o),
    String(o.filesChanged),
    `+${o.linesAdded} -${o.linesRemoved}`,
    formatNumber(o.usage.totalTokens),
    formatDuration(o.durationMs),
  ]);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((row) => [...row[i]].length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell + ' '.repeat(widths[i] - [...cell].length)).join('  ').trimEnd();
  const picked = outcomes.find((o) => o.attempt === chosen);
  const verdict = picked
    ? `Chosen: attempt ${picked.attempt} (${picked.model}); its change is in your working tree, the others were discarded.`
    : outcomes.some((o) => o.filesChanged > 0 && !o.error)
      ? 'No change was applied; your working tree is as it was.'
      : 'No attempt changed anything usable; your working tree is as it was.';
  const notes = outcomes.filter((o) => o.error && o.attempt !== chosen).map((o) => `  attempt ${o.attempt}: ${o.error}`);
  return [line(HEADER), ...rows.map(line), ...notes, verdict].join('\n') + '\n';
}
