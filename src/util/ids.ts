import { randomBytes } from 'node:crypto';

/** A short, sortable, unique id with a prefix, e.g. `run_m3k9x2a1b4c5d6e7`. */
export function newId(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${randomBytes(5).toString('hex')}`;
}
