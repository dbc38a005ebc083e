import { describe, expect, it } from 'vitest';
import { newId } from '../../src/util/ids.js';

describe('newId', () => {
  it('gives the prefix, a time part and ten hex digits, never the same id twice across refills of its random pool', () => {
    const ids = Array.from({ length: 5_000 }, () => newId('run'));
    for (const id of ids) expect(id).toMatch(/^run_[0-9a-z]+[0-9a-f]{10}$/);
    expect(new Set(ids).size).toBe(ids.length);
    // The random parts differ too, not only the time parts.
    expect(new Set(ids.map((id) => id.slice(-10))).size).toBe(ids.length);
  });
});
