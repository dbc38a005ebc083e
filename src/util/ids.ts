import { randomFillSync } from 'node:crypto';

const RANDOM_BYTES = 5;
// Random bytes drawn 4 KiB at a time: a `randomBytes` call per id (one per webhook delivery)
// cost as much as the rest of making the id.
const pool = Buffer.alloc(4096 - (4096 % RANDOM_BYTES));
let offset = pool.length;

/** A short, sortable, unique id with a prefix, e.g. `run_m3k9x2a1b4c5d6e7`. */
export function newId(prefix: string): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const random = pool.toString('hex', offset, offset + RANDOM_BYTES);
  offset += RANDOM_BYTES;
  return `${prefix}_${Date.now().toString(36)}${random}`;
}
