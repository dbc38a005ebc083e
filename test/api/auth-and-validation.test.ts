import { describe, expect, it } from 'vitest';
import { startHarness, TOKEN, useHarness } from './harness.js';
import { MATH_FILES, scriptedModel } from './models.js';

const stage = useHarness({ model: scriptedModel }, MATH_FILES);

async function expectError(res: Response, status: number, code: string): Promise<string> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = await res.json();
  expect(body).toEqual({ error: { code, message: expect.any(String) } });
  return body.error.message;
}

const post = (body: string, headers: Record<string, string> = {}) => stage.h.api('/api/tasks', { method: 'POST', body, headers });

describe('auth', () => {
  it.each([
    ['no header', {}],
    ['a wrong token', { authorization: 'Bearer not-the-token' }],
    ['the right token as Basic', { authorization: `Basic ${TOKEN}` }],
    ['a token that only starts right', { authorization: `Bearer ${TOKEN}x` }],
  ])('answers 401 with WWW-Authenticate to %s', async (_what, headers) => {
    for (const path of ['/api/tasks', '/api/tasks/nope', '/api/openapi.json', '/api/events', '/api/unknown', '/metrics']) {
      const res = await stage.h.api(path, { auth: false, headers });
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      await expectError(res, 401, 'unauthorized');
    }
  });

  it('lets the right token in, and never asks one for /healthz', async () => {
    expect((await stage.h.api('/api/tasks')).status).toBe(200);
    expect((await stage.h.api('/api/tasks', { auth: false, headers: { authorization: `bearer   ${TOKEN}` } })).status).toBe(200);
    expect((await stage.h.api('/healthz', { auth: false })).status).toBe(200);
  });

  it('answers 404 for an /api route that does not exist, and 405 for a wrong method', async () => {
    expect(await expectError(await stage.h.api('/api/nothing'), 404, 'not_found')).toMatch(/GET \/api\/nothing/);
    const res = await stage.h.api('/api/tasks', { method: 'DELETE' });
    expect(res.headers.get('allow')).toBe('GET, POST');
    await expectError(res, 405, 'method_not_allowed');
  });
});

describe('request validation', () => {
  it('malformed JSON: 400 with the parser reason', async () => {
    const message = await expectError(await post('{"repo": "/tmp", "prompt": '), 400, 'invalid_json');
    expect(message).toMatch(/not valid JSON: .*JSON/);
  });

  it('unknown fields: 400 naming them', async () => {
    const message = await expectError(await post(JSON.stringify({ repo: stage.repo.root, prompt: 'x', colour: 'red', size: 2 })), 400, 'invalid_request');
    expect(message).toContain('"colour"');
    expect(message).toContain('"size"');
  });

  it('wrong types and missing fields: 400 naming the field', async () => {
    expect(await expectError(await post(JSON.stringify({ repo: stage.repo.root, prompt: 'x', maxSteps: 'ten' })), 400, 'invalid_request')).toMatch(/^maxSteps: /);
    expect(await expectError(await post(JSON.stringify({ repo: stage.repo.root, prompt: 'x', maxSteps: 0 })), 400, 'invalid_request')).toMatch(/^maxSteps: /);
    expect(await expectError(await post(JSON.stringify({ repo: stage.repo.root })), 400, 'invalid_request')).toMatch(/^prompt: /);
    expect(await expectError(await post(JSON.stringify({ repo: stage.repo.root, prompt: '  \n' })), 400, 'invalid_request')).toMatch(/prompt: the prompt is empty/);
    expect(await expectError(await post(JSON.stringify([1, 2])), 400, 'invalid_request')).toMatch(/^body: /);
    expect(await expectError(await post(JSON.stringify({ repo: stage.repo.root, prompt: 'x', pushBranch: 'a..b' })), 400, 'invalid_request')).toMatch(/^pushBranch: not a valid git branch name/);
    expect(await expectError(await post(JSON.stringify({ repo: 'relative/path', prompt: 'x' })), 400, 'invalid_request')).toMatch(/^repo: /);
  });

  it('a local path that is not a git repository: 400', async () => {
    expect(await expectError(await post(JSON.stringify({ repo: '/definitely/not/here', prompt: 'x' })), 400, 'invalid_request')).toMatch(/not a git repository/);
  });

  it('a body over 1 MB: 413', async () => {
    const huge = JSON.stringify({ repo: stage.repo.root, prompt: 'x'.repeat(1024 * 1024 + 10) });
    await expectError(await post(huge), 413, 'payload_too_large');
    // Sent in chunks without a length: counted as it arrives.
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(100_000)));
        controller.close();
      },
    });
    const res = await stage.h.api('/api/tasks', { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    await expectError(res, 413, 'payload_too_large');
    // The server still answers afterwards.
    expect((await stage.h.api('/api/tasks')).status).toBe(200);
  });

  it('bad list filters: 400 naming them', async () => {
    expect(await expectError(await stage.h.api('/api/tasks?limit=500'), 400, 'invalid_request')).toMatch(/^limit: /);
    expect(await expectError(await stage.h.api('/api/tasks?state=sleeping'), 400, 'invalid_request')).toMatch(/^state: /);
    expect(await expectError(await stage.h.api('/api/tasks?colour=red'), 400, 'invalid_request')).toContain('"colour"');
  });

  it('unknown task id: 404 on every task route', async () => {
    for (const [method, path] of [['GET', '/api/tasks/api_nope'], ['GET', '/api/tasks/api_nope/diff'], ['GET', '/api/tasks/api_nope/events'], ['POST', '/api/tasks/api_nope/cancel']]) {
      expect(await expectError(await stage.h.api(path, { method }), 404, 'not_found')).toContain('api_nope');
    }
  });
});

describe('with AUTOCODER_API_TOKEN unset', () => {
  it('answers 404 on /api/*, still serves /healthz and /metrics without a token', async () => {
    const off = await startHarness({ token: null, model: scriptedModel });
    try {
      for (const path of ['/api/tasks', '/api/openapi.json', '/api/events']) {
        const message = await expectError(await off.api(path), 404, 'api_disabled');
        expect(message).toContain('AUTOCODER_API_TOKEN');
      }
      await expectError(await off.api('/api/tasks', { method: 'POST', body: '{}' }), 404, 'api_disabled');
      expect((await off.api('/healthz')).status).toBe(200);
      expect((await off.api('/metrics')).status).toBe(200);
    } finally {
      await off.close();
    }
  });
});
