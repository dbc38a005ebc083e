/**
 * `npm run bench [-- NAME ...] [--readme]`: runs the benchmarks (all, or the ones named), prints
 * one table, writes `bench/results/latest.json`, and with `--readme` puts the table and the
 * machine into the README's Benchmarks section. Every figure is measured against a baseline taken
 * in the same run on the same machine; nothing here is a test, and nothing fails on a slow figure.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { concurrencyBench } from './concurrency.js';
import { harnessBench } from './harness.js';
import { intakeBench } from './intake.js';
import { labelToPrBench } from './label-to-pr.js';
import type { Benchmark, BenchContext } from './lib/bench.js';
import { machineInfo, machineLine } from './lib/machine.js';
import { updateReadme } from './lib/readme.js';
import { formatMs } from './lib/stats.js';
import { consoleTable, verdict, type Row } from './lib/table.js';
import { searchBench } from './search.js';
import { tokensBench } from './tokens.js';
import { workspaceBench } from './workspace.js';

/** In the order they run. */
// The cheap ones first; the workspace one before anything else writes many files (it makes the
// generated repository on the first run); the whole app last.
const BENCHMARKS: Benchmark[] = [tokensBench, workspaceBench, searchBench, harnessBench, concurrencyBench, intakeBench, labelToPrBench];

function usage(): string {
  const lines = BENCHMARKS.map((b) => `  ${b.name.padEnd(12)} ${b.description}`);
  return `usage: npm run bench [-- NAME ...] [--readme]\n\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage());
    return 0;
  }
  const readme = argv.includes('--readme');
  const names = argv.filter((a) => !a.startsWith('-'));
  const unknown = names.filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark: ${unknown.join(', ')}\n\n${usage()}`);
    return 2;
  }
  const selected = names.length > 0 ? BENCHMARKS.filter((b) => names.includes(b.name)) : BENCHMARKS;
  const ctx: BenchContext = { log: (line) => process.stderr.write(`${line}\n`) };
  const machine = machineInfo();
  ctx.log(`machine: ${machineLine(machine)}`);

  const rows: Row[] = [];
  const failures: { bench: string; error: string }[] = [];
  const timings: Record<string, number> = {};
  const started = Date.now();
  for (const bench of selected) {
    ctx.log(`\n== ${bench.name}: ${bench.description}`);
    const t0 = Date.now();
    try {
      const produced = await bench.run(ctx);
      rows.push(...produced);
      for (const row of produced) ctx.log(`  ${row.figure}: ${row.shown}${row.baseline ? ` vs ${row.baseline.shown}` : ''} → ${verdict(row)}`);
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      failures.push({ bench: bench.name, error: message });
      ctx.log(`  FAILED: ${message}`);
    }
    timings[bench.name] = Date.now() - t0;
    ctx.log(`  (${formatMs(timings[bench.name])})`);
  }

  const table = consoleTable(rows);
  process.stdout.write(`\n${table}\n`);
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.figure}: ${r.note}`);
  if (notes.length > 0) process.stdout.write(`\n${notes.join('\n')}\n`);
  process.stdout.write(`\n${machineLine(machine)}; suite took ${formatMs(Date.now() - started)}\n`);
  for (const failure of failures) process.stdout.write(`\n${failure.bench} FAILED:\n${failure.error}\n`);

  const dir = resolve('bench/results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'latest.json');
  await writeFile(file, `${JSON.stringify({ machine, benchmarks: selected.map((b) => b.name), timings, rows, failures }, null, 2)}\n`);
  process.stdout.write(`results: ${file}\n`);

  if (readme) {
    if (names.length > 0 || failures.length > 0) {
      process.stderr.write('--readme keeps only a full run that had no failures in the README; not updated\n');
    } else {
      await updateReadme(resolve('README.md'), rows, machine);
      process.stdout.write('README.md: Benchmarks section updated\n');
    }
  }
  return failures.length > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
