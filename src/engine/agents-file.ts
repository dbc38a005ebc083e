import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The instructions in AGENTS.md at the root of the working tree, when there is one. */
export async function readAgentsFile(root: string): Promise<string[]> {
  try {
    const text = (await readFile(join(root, 'AGENTS.md'), 'utf8')).trim();
    return text ? [`From AGENTS.md:\n${text}`] : [];
  } catch {
    return [];
  }
}
