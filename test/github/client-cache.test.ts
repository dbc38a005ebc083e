import { describe, expect, it } from 'vitest';
import { cachedClients } from '../../src/github/client-cache.js';

describe('cachedClients', () => {
  it('makes one client per installation, keeps it, forgets failures and the oldest beyond the bound', async () => {
    const made: number[] = [];
    let fail = true;
    const get = cachedClients(async (id: number) => {
      made.push(id);
      if (id === 9 && fail) throw new Error('no such installation');
      return { id, serial: made.length };
    }, 2);
    const a = await get(1);
    expect(await get(1)).toBe(a);
    await expect(get(9)).rejects.toThrow('no such installation');
    await new Promise((resolve) => setImmediate(resolve));
    fail = false;
    expect((await get(9)).id).toBe(9);
    expect(made).toEqual([1, 9, 9]);
    await get(2); // three installations, room for two: the oldest (1) goes
    expect(await get(1)).not.toBe(a);
    expect(made).toEqual([1, 9, 9, 2, 1]);
  });
});
