/** Keeps the latest full table in the README, between the Benchmarks section's markers. */
import { readFile, writeFile } from 'node:fs/promises';
import { machineLine, type MachineInfo } from './machine.js';
import { markdownTable, type Row } from './table.js';

export const START = '<!-- bench:start -->';
export const END = '<!-- bench:end -->';

export function renderSection(rows: Row[], machine: MachineInfo): string {
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.figure}: ${r.note}`);
  return [
    START,
    `Measured on ${machineLine(machine)} with \`npm run bench -- --readme\`.`,
    '',
    markdownTable(rows),
    '',
    ...(notes.length ? [...notes, ''] : []),
    END,
  ].join('\n');
}

/** Replaces what is between the markers; adds a Benchmarks section with them at the end when missing. */
export async function updateReadme(path: string, rows: Row[], machine: MachineInfo): Promise<void> {
  const text = await readFile(path, 'utf8');
  const section = renderSection(rows, machine);
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  let next: string;
  if (start >= 0 && end > start) {
    next = text.slice(0, start) + section + text.slice(end + END.length);
  } else {
    next = `${text.replace(/\s*$/, '')}\n\n## Benchmarks\n\n${section}\n`;
  }
  await writeFile(path, next);
}
