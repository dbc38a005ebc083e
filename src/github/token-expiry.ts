import { ProbotOctokit } from 'probot';

/** Probot's token cache (toad-cache's Lru), as @octokit/auth-app uses it. */
export interface TokenCache {
  get(key: string): unknown;
  set(key: string, value: string): unknown;
}

/** A token is not used in its last minutes: a write must not start with one that ends on the way. */
const REFRESH_MARGIN_MS = 5 * 60_000;
const WRAPPED = Symbol('autocoder.tokenExpiry');

/**
 * Whether a cached installation token should be minted again: it has less than five minutes left,
 * or less than half its life (for the short tokens some GitHub Enterprise set-ups and tests issue).
 */
export function tokenIsStale(createdAt: string | undefined, expiresAt: string | undefined, now = Date.now()): boolean {
  const expires = Date.parse(expiresAt ?? '');
  if (!Number.isFinite(expires)) return false;
  const created = Date.parse(createdAt ?? '');
  const lifetime = Number.isFinite(created) ? expires - created : Infinity;
  return expires - now < Math.min(REFRESH_MARGIN_MS, lifetime / 2);
}

/**
 * @octokit/auth-app keeps installation tokens in Probot's cache for 59 minutes whatever the
 * `expires_at` GitHub gave them, so a token that ends sooner (revoked, or issued short) would be
 * sent until the cache entry ages out, and every comment after a long step would get a 401. The
 * cached entry is `token|createdAt|expiresAt|...`; an entry near its end is treated as absent,
 * and auth-app mints a new token and caches that one.
 */
export function expiryAwareCache(inner: TokenCache): TokenCache {
  if ((inner as { [WRAPPED]?: boolean })[WRAPPED]) return inner;
  return {
    [WRAPPED]: true,
    async get(key: string) {
      const value = await inner.get(key);
      if (typeof value !== 'string') return value;
      const [, createdAt, expiresAt] = value.split('|');
      return tokenIsStale(createdAt, expiresAt) ? undefined : value;
    },
    set: (key: string, value: string) => inner.set(key, value),
  } as TokenCache;
}

type Options = { auth?: { cache?: TokenCache } & Record<string, unknown> } & Record<string, unknown>;

/** Probot's Octokit whose installation clients never send a token that is about to expire. */
export function expiryAwareOctokit(): typeof ProbotOctokit {
  return ProbotOctokit.defaults((options: Options) =>
    options.auth?.cache ? { ...options, auth: { ...options.auth, cache: expiryAwareCache(options.auth.cache) } } : options,
  ) as typeof ProbotOctokit;
}
