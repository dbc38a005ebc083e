/** What every benchmark file exports, and what it is given. */
import type { Row } from './table.js';

export interface BenchContext {
  /** Progress lines on stderr (the table goes to stdout). */
  log(line: string): void;
}

export interface Benchmark {
  /** The name used on the command line: `npm run bench -- intake search`. */
  name: string;
  /** One line for `--help`. */
  description: string;
  run(ctx: BenchContext): Promise<Row[]>;
}
