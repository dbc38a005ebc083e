/**
 * Redaction: the last step before anything is published (a comment, a pull-request body, a log,
 * a commit message). Known secret values are replaced wherever they appear, and so is anything
 * shaped like a credential, because a token we were never told about (one printed by a test
 * script, say) must not leak either.
 *
 * One linear pass over the text whatever the number of secrets: known values are found with a
 * rolling hash of their first characters (a regular expression with hundreds of literal
 * alternatives — a private key gives dozens of forms — tries every one of them at every
 * position, and every log line of the server went through it), credential shapes with one
 * regular expression. The result is what the combined expression `literals | patterns` gives:
 * the leftmost match wins, a known value before a pattern at the same place, the longest value
 * first.
 */

export const REDACTED = '[REDACTED]';

/** Shorter values are not treated as secrets: replacing `abc` everywhere would wreck the text. */
export const MIN_SECRET_LENGTH = 8;

/** `ci('basic')` -> `[Bb][Aa]...`: a case-insensitive piece inside an otherwise case-sensitive regex. */
function ci(word: string): string {
  return [...word].map((c) => (/[a-z]/i.test(c) ? `[${c.toUpperCase()}${c.toLowerCase()}]` : c)).join('');
}

/**
 * Credential shapes. Prefixes that carry meaning for a reader (`Bearer `, `Authorization: Basic `,
 * the user in a URL) sit in look-behinds, so they stay and only the secret part is replaced.
 */
const TOKEN_PATTERNS: string[] = [
  // PEM private keys, also a block cut off before its END line (a truncated log).
  '-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\\s\\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)',
  // GitHub: installation (ghs), personal (ghp), OAuth (gho), user-to-server (ghu), refresh (ghr),
  // fine-grained personal tokens (github_pat).
  '\\bgh[pousr]_[A-Za-z0-9]{20,}',
  '\\bgithub_pat_[A-Za-z0-9_]{20,}',
  // OpenAI-style keys, project keys (sk-proj-...) included; also Anthropic/OpenRouter (sk-ant-, sk-or-).
  '\\bsk-[A-Za-z0-9_-]{20,}',
  // HTTP authorization headers, as curl, git (http.extraHeader) or a stack trace prints them.
  `(?<=\\b${ci('bearer')}\\s+)[A-Za-z0-9._~+/=-]{8,}`,
  `(?<=\\b${ci('authorization')}["']?\\s*[:=]\\s*["']?(?:${ci('basic')}|${ci('token')})\\s+)[A-Za-z0-9._~+/=-]{4,}`,
  // Credentials in a URL: https://user:password@host.
  '(?<=\\b[a-z][a-z0-9+.-]*://[^\\s:/@]+:)[^\\s/@]+(?=@)',
];

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/**
 * The forms a secret takes in output: itself, JSON- and URL-escaped, its base64 (e.g. inside an
 * `Authorization: Basic` header git printed), the base64 of `x-access-token:<value>` (how a
 * GitHub installation token is sent over HTTP), and the alignment-independent cores of its
 * base64 when it sits inside a longer base64 string.
 */
export function secretForms(value: string): string[] {
  const forms = new Set<string>([value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]);
  for (const plain of [value, `x-access-token:${value}`]) {
    forms.add(base64(plain).replace(/=+$/, ''));
  }
  for (let shift = 1; shift <= 2; shift++) {
    // With `shift` bytes before it, the first 4 characters mix in the neighbour's bits and the
    // last incomplete group the following bytes': what lies between depends on the secret only.
    const encoded = base64('\0'.repeat(shift) + value).replace(/=+$/, '');
    const whole = Math.floor((shift + Buffer.byteLength(value)) / 3) * 4;
    const core = encoded.slice(4, whole);
    // A short core would match unrelated base64 by chance.
    if (core.length >= 12) forms.add(core);
  }
  return [...forms];
}

/** Every form of every secret long enough to be one, longest first. */
function literalForms(secrets: readonly string[]): string[] {
  const literals = new Set<string>();
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) continue;
    for (const form of secretForms(secret)) if (form.length > 0) literals.add(form);
  }
  return [...literals].sort((a, b) => b.length - a.length);
}

const patternsOnly = new RegExp(TOKEN_PATTERNS.join('|'), 'g');

const HASH_BASE = 31;
/** Characters the rolling hash covers: every form is at least this long (see secretForms). */
const MAX_WINDOW = MIN_SECRET_LENGTH;

/** Finds the leftmost occurrence of any of a set of strings, the longest one at that place. */
interface LiteralFinder {
  /** Start and length of the leftmost, longest occurrence at or after `from`, or undefined. */
  find(text: string, from: number): { start: number; length: number } | undefined;
}

function hashOf(text: string, start: number, window: number): number {
  let h = 0;
  for (let i = 0; i < window; i++) h = (Math.imul(h, HASH_BASE) + text.charCodeAt(start + i)) | 0;
  return h;
}

function literalFinder(forms: string[]): LiteralFinder | undefined {
  if (forms.length === 0) return undefined;
  const window = Math.min(MAX_WINDOW, ...forms.map((form) => form.length));
  // Forms by the hash of their first `window` characters; each list stays longest first.
  const buckets = new Map<number, string[]>();
  for (const form of forms) {
    const h = hashOf(form, 0, window);
    const bucket = buckets.get(h);
    if (bucket) bucket.push(form);
    else buckets.set(h, [form]);
  }
  let top = 1; // HASH_BASE ** (window - 1), wrapped like the hash
  for (let i = 1; i < window; i++) top = Math.imul(top, HASH_BASE);
  return {
    find(text, from) {
      const last = text.length - window;
      if (from > last) return undefined;
      let h = hashOf(text, from, window);
      for (let i = from; ; i++) {
        const bucket = buckets.get(h);
        if (bucket) {
          for (const form of bucket) if (text.startsWith(form, i)) return { start: i, length: form.length };
        }
        if (i >= last) return undefined;
        h = (Math.imul(h - Math.imul(text.charCodeAt(i), top), HASH_BASE) + text.charCodeAt(i + window)) | 0;
      }
    },
  };
}

function nextPattern(text: string, from: number): { start: number; length: number } | undefined {
  patternsOnly.lastIndex = from;
  const match = patternsOnly.exec(text);
  return match ? { start: match.index, length: match[0].length } : undefined;
}

/** `text` with every known form and every credential pattern replaced by REDACTED. */
function apply(finder: LiteralFinder | undefined, text: string): string {
  if (!text) return text;
  let out = '';
  let pos = 0;
  let literal = finder?.find(text, 0);
  let pattern = nextPattern(text, 0);
  while (literal || pattern) {
    // The leftmost match; at the same place a known value wins, as it came first in the alternation.
    const match = literal && (!pattern || literal.start <= pattern.start) ? literal : pattern!;
    out += text.slice(pos, match.start) + REDACTED;
    pos = match.start + Math.max(1, match.length);
    if (literal && literal.start < pos) literal = finder!.find(text, pos);
    if (pattern && pattern.start < pos) pattern = nextPattern(text, pos);
  }
  return pos === 0 ? text : out + text.slice(pos);
}

/** Replaces anything shaped like a credential (token prefixes, auth headers, PEM keys). */
export function redactPatterns(text: string): string {
  return apply(undefined, text);
}

export type Redactor = (text: string) => string;

/**
 * A redactor for these secret values (the installation token, the LLM key, the webhook secret,
 * the private key...) plus every credential pattern. Values shorter than 8 characters are
 * ignored; empty or missing values are fine to pass.
 */
export function createRedactor(secrets: ReadonlyArray<string | undefined | null>): Redactor {
  const values = secrets.filter((s): s is string => typeof s === 'string');
  // A PEM key may also be printed in part: each line of its body is a secret of its own.
  for (const value of [...values]) {
    if (!value.includes('PRIVATE KEY')) continue;
    for (const line of value.split(/\r?\n/)) if (line.length >= 16 && !line.startsWith('-----')) values.push(line);
  }
  const finder = literalFinder(literalForms(values));
  return (text) => apply(finder, text);
}

/**
 * Redacts every string inside a JSON-like value (objects, arrays), returning a copy. Values under
 * keys that name a credential (`token`, `apiKey`, `password`, `authorization`, ...) are replaced
 * whole, whatever they look like.
 */
export function redactDeep<T>(value: T, redact: Redactor = redactPatterns): T {
  const seen = new WeakMap<object, unknown>();
  const walk = (item: unknown, key?: string): unknown => {
    if (typeof item === 'string') {
      return key !== undefined && SECRET_KEY.test(key) && item.length > 0 ? REDACTED : redact(item);
    }
    if (item === null || typeof item !== 'object') return item;
    if (seen.has(item)) return seen.get(item);
    if (Array.isArray(item)) {
      const copy: unknown[] = [];
      seen.set(item, copy);
      for (const element of item) copy.push(walk(element));
      return copy;
    }
    if (item instanceof Date) return item;
    const copy: Record<string, unknown> = {};
    seen.set(item, copy);
    for (const [k, v] of Object.entries(item)) copy[k] = walk(v, k);
    return copy;
  };
  return walk(value) as T;
}

/** `token`, `accessToken`, `api_key`, `apiKey`, `password`, `privateKey`, `clientSecret`, `authorization`, `cookie`. */
const SECRET_KEY = /(?:token|secret|password|passwd|api[-_]?key|private[-_]?key|authorization|cookie)$/i;
