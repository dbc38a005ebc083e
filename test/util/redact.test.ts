import { describe, expect, it } from 'vitest';
import { createRedactor, REDACTED, redactDeep, redactPatterns, secretForms } from '../../src/util/redact.js';

const ghs = `ghs_${'a1B2c3D4e5'.repeat(4)}`.slice(0, 40);

describe('redactPatterns', () => {
  it.each([
    ['installation token', ghs],
    ['personal token', `ghp_${'x'.repeat(36)}`],
    ['oauth token', `gho_${'Y9'.repeat(18)}`],
    ['user-to-server token', `ghu_${'k'.repeat(36)}`],
    ['refresh token', `ghr_${'Q'.repeat(36)}`],
    ['fine-grained token', `github_pat_11ABCDEFG0_${'z'.repeat(59)}`],
    ['openai key', `sk-${'A'.repeat(48)}`],
    ['openai project key', `sk-proj-${'aB_-9'.repeat(20)}`],
  ])('replaces a %s', (_name, token) => {
    const out = redactPatterns(`before ${token} after`);
    expect(out).toBe(`before ${REDACTED} after`);
  });

  it('keeps the scheme of Bearer and Basic authorization headers', () => {
    expect(redactPatterns('Authorization: Bearer abc.def-ghi_jkl')).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(redactPatterns('curl -H "authorization: basic eC1hY2Nlc3MtdG9rZW46c2VjcmV0"')).toBe(
      `curl -H "authorization: basic ${REDACTED}"`,
    );
    expect(redactPatterns('http.extraheader=AUTHORIZATION: Basic Zm9vOmJhcg==')).toBe(`http.extraheader=AUTHORIZATION: Basic ${REDACTED}`);
    expect(redactPatterns('{"Authorization": "token abcdef123456"}')).toBe(`{"Authorization": "token ${REDACTED}"}`);
  });

  it('replaces a password in a URL and keeps the user and host', () => {
    expect(redactPatterns('fatal: https://x-access-token:s3cr3tvalue@git.example.com/o/r.git')).toBe(
      `fatal: https://x-access-token:${REDACTED}@git.example.com/o/r.git`,
    );
  });

  it('replaces a whole PEM private key block, also one cut off before its end', () => {
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----';
    expect(redactPatterns(`key:\n${pem}\ndone`)).toBe(`key:\n${REDACTED}\ndone`);
    expect(redactPatterns('x -----BEGIN PRIVATE KEY-----\nMIIEv')).toBe(`x ${REDACTED}`);
  });

  it('leaves ordinary text alone', () => {
    const text = 'task-runner ghs_short sk-short Bearer x https://example.com/a:b totalTokens=12';
    expect(redactPatterns(text)).toBe(text);
  });
});

describe('createRedactor', () => {
  const secret = 'my-llm-key-0123456789';
  const redact = createRedactor([secret, 'short', '', undefined]);

  it('replaces every known value, and ignores values shorter than 8 characters', () => {
    expect(redact(`a ${secret} b ${secret}`)).toBe(`a ${REDACTED} b ${REDACTED}`);
    expect(redact('short stays')).toBe('short stays');
  });

  it('replaces the base64 forms, with and without x-access-token', () => {
    const b64 = Buffer.from(secret).toString('base64');
    const basic = Buffer.from(`x-access-token:${secret}`).toString('base64');
    expect(redact(`x ${b64} y`)).not.toContain(b64.slice(0, 12));
    expect(redact(`Authorization: Basic ${basic}`)).not.toContain(basic.slice(4, 20));
    expect(redact(`https://x-access-token:${secret}@host`)).toBe(`https://x-access-token:${REDACTED}@host`);
  });

  it('replaces JSON- and URL-escaped forms of a value', () => {
    const odd = 'pa"ss/wo rd\\x';
    const r = createRedactor([odd]);
    expect(r(JSON.stringify({ odd }))).toBe(`{"odd":"${REDACTED}"}`);
    expect(r(`?p=${encodeURIComponent(odd)}&q=1`)).toBe(`?p=${REDACTED}&q=1`);
  });

  it('finds the base64 of a value inside a longer base64 string at any alignment', () => {
    for (const prefix of ['a', 'ab', 'abc']) {
      const encoded = Buffer.from(`${prefix}${secret}tail`).toString('base64');
      const out = redact(`blob ${encoded}`);
      expect(out).toContain(REDACTED);
    }
    expect(secretForms(secret).length).toBeGreaterThan(3);
  });

  it('still applies the patterns', () => {
    expect(redact(`token ${ghs}`)).toBe(`token ${REDACTED}`);
  });

  it('replaces a private key given as a secret, also printed with escaped newlines', () => {
    const key = `-----BEGIN RSA PRIVATE KEY-----\n${'A'.repeat(64)}\n${'B'.repeat(20)}\n-----END RSA PRIVATE KEY-----`;
    const r = createRedactor([key]);
    expect(r(JSON.stringify({ key }))).not.toContain('AAAAAAAAAAAAAAAA');
    expect(r(`line: ${'A'.repeat(64)}`)).toBe(`line: ${REDACTED}`);
  });

  it('treats secrets as literals, not regular expressions', () => {
    const r = createRedactor(['a.b*c+d?(e)']);
    expect(r('xx a.b*c+d?(e) aXbbbc')).toBe(`xx ${REDACTED} aXbbbc`);
  });

  it('is fast on a 1 MB input with several secrets', () => {
    const secrets = Array.from({ length: 20 }, (_, i) => `secret-value-${i}-${'q'.repeat(20)}`);
    const r = createRedactor(secrets);
    const chunk = 'ordinary log line with words, numbers 12345 and paths src/a.ts: ok\n';
    const text = `${chunk.repeat(Math.ceil(1_000_000 / chunk.length))}${secrets[7]} ${ghs}`;
    const start = performance.now();
    const out = r(text);
    const elapsed = performance.now() - start;
    expect(out.endsWith(`${REDACTED} ${REDACTED}`)).toBe(true);
    expect(elapsed).toBeLessThan(1500);
  });
});

describe('redactDeep', () => {
  it('redacts strings at any depth and values under secret-named keys, without touching the input', () => {
    const input = {
      message: `failed with ${ghs}`,
      nested: [{ apiKey: 'plain-looking' }, 3, null, true],
      headers: { authorization: 'whatever', accept: 'json' },
      usage: { totalTokens: 12, promptTokens: 10 },
      installationToken: 'abc',
    };
    const out = redactDeep(input);
    expect(out.message).toBe(`failed with ${REDACTED}`);
    expect(out.nested[0]).toEqual({ apiKey: REDACTED });
    expect(out.nested.slice(1)).toEqual([3, null, true]);
    expect(out.headers).toEqual({ authorization: REDACTED, accept: 'json' });
    expect(out.usage).toEqual({ totalTokens: 12, promptTokens: 10 });
    expect(out.installationToken).toBe(REDACTED);
    expect(input.message).toContain(ghs);
  });

  it('uses the given redactor and survives cycles', () => {
    const a: Record<string, unknown> = { text: 'my-secret-value here' };
    a.self = a;
    const out = redactDeep(a, createRedactor(['my-secret-value'])) as Record<string, unknown>;
    expect(out.text).toBe(`${REDACTED} here`);
    expect(out.self).toBe(out);
  });
});
