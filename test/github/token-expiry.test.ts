import { describe, expect, it } from 'vitest';
import { expiryAwareCache, tokenIsStale, type TokenCache } from '../../src/github/token-expiry.js';

const at = (iso: string) => Date.parse(iso);

function mapCache(): TokenCache & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, get: (key) => map.get(key), set: (key, value) => void map.set(key, value) };
}

describe('installation tokens near their end', () => {
  it('keeps an hour-long token until five minutes before it expires', () => {
    const created = '2026-01-01T10:00:00Z';
    const expires = '2026-01-01T11:00:00Z';
    expect(tokenIsStale(created, expires, at('2026-01-01T10:54:59Z'))).toBe(false);
    expect(tokenIsStale(created, expires, at('2026-01-01T10:55:01Z'))).toBe(true);
  });

  it('keeps a short-lived token for half its life', () => {
    expect(tokenIsStale('2026-01-01T10:00:00.000Z', '2026-01-01T10:00:10.000Z', at('2026-01-01T10:00:04Z'))).toBe(false);
    expect(tokenIsStale('2026-01-01T10:00:00.000Z', '2026-01-01T10:00:10.000Z', at('2026-01-01T10:00:06Z'))).toBe(true);
  });

  it('keeps an entry whose expiry it cannot read', () => {
    expect(tokenIsStale(undefined, undefined)).toBe(false);
    expect(tokenIsStale('x', 'not a date')).toBe(false);
  });

  it("hides a cached entry near its end from auth-app, which then mints and caches a new one", async () => {
    const inner = mapCache();
    const cache = expiryAwareCache(inner);
    const soon = new Date(Date.now() + 60_000).toISOString();
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const now = new Date().toISOString();
    const anHourBefore = new Date(Date.now() - 3_540_000).toISOString();
    cache.set('1', `ghs_old|${anHourBefore}|${soon}|all|contents!`);
    expect(await cache.get('1')).toBeUndefined();
    cache.set('1', `ghs_new|${now}|${later}|all|contents!`);
    expect(await cache.get('1')).toBe(`ghs_new|${now}|${later}|all|contents!`);
    expect(inner.map.get('1')).toContain('ghs_new');
    // Wrapping twice (each installation client is built from the same options) changes nothing.
    expect(expiryAwareCache(cache)).toBe(cache);
  });
});
