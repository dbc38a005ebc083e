/** One measured figure, and how the suite prints it (console table, Markdown for the README). */

export interface Row {
  /** Stable key, e.g. `intake.c64.p99`. */
  id: string;
  /** Which benchmark produced it (`intake`, `workspace`, ...). */
  bench: string;
  figure: string;
  /** The figure as measured, in `unit`. */
  value: number;
  /** How to print the value (already formatted). */
  shown: string;
  /** The baseline measured in the same run, when there is one. */
  baseline?: { label: string; shown: string; value: number };
  /** value / baseline (or whatever the target compares), when meaningful. */
  ratio?: number;
  /** How the ratio reads, e.g. `0.93×` or `12× faster`. */
  ratioShown?: string;
  /** The target in words, e.g. `p99 < 20 ms`; `reported` when there is none. */
  target: string;
  /** true/false against the target; undefined when the figure is only reported. */
  pass?: boolean;
  /** A short explanation kept in the JSON (and under the table). */
  note?: string;
  /** Anything else worth keeping for later reading (samples, breakdowns). */
  details?: unknown;
}

export function verdict(row: Row): string {
  return row.pass === undefined ? '—' : row.pass ? 'pass' : 'MISS';
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - text.length));
}

const HEADERS = ['figure', 'value', 'baseline', 'ratio', 'target', 'result'];

function cells(row: Row): string[] {
  const baseline = row.baseline ? `${row.baseline.shown} (${row.baseline.label})` : '—';
  return [row.figure, row.shown, baseline, row.ratioShown ?? '—', row.target, verdict(row)];
}

/** A plain-text table for the terminal. */
export function consoleTable(rows: Row[]): string {
  const all = [HEADERS, ...rows.map(cells)];
  const widths = HEADERS.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => pad(c, widths[i])).join('  ');
  return [line(HEADERS), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => line(cells(r)))].join('\n');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** A GitHub-flavoured Markdown table. */
export function markdownTable(rows: Row[]): string {
  const head = `| ${HEADERS.join(' | ')} |\n| ${HEADERS.map(() => '---').join(' | ')} |`;
  const body = rows.map((r) => `| ${cells(r).map(escapeCell).join(' | ')} |`).join('\n');
  return `${head}\n${body}`;
}

export function ratioText(ratio: number, digits = 2): string {
  return Number.isFinite(ratio) ? `${ratio.toFixed(digits)}×` : 'n/a';
}
