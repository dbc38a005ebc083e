import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createWebhookReceiver, signatureMatches, type WebhookDelivery, type WebhookHandlers } from '../../src/github/webhook-receiver.js';
import { exampleFor, sendWebhook, signPayload } from '../helpers/webhooks.js';
import { startWebhookServer } from '../helpers/webhook-server.js';

const SECRET = 'receiver-test-secret';

/** Log lines as objects, to check what an operator reads. */
function capturingLog() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function serve(handlers: WebhookHandlers, extra: Partial<Parameters<typeof createWebhookReceiver>[0]> = {}) {
  const { log, lines } = capturingLog();
  const counted: string[] = [];
  const receive = createWebhookReceiver({ secret: SECRET, handlers, log, metrics: { webhookDelivery: (event, outcome) => counted.push(`${event} ${outcome}`) }, ...extra });
  const server = await startWebhookServer(receive);
  close = server.close;
  return { url: server.url, lines, counted };
}

describe('webhook receiver', () => {
  it('hands a signed delivery to the handler of its event and action, and answers 200 once the handler resolves', async () => {
    const seen: WebhookDelivery<{ action: string; issue: { number: number } }>[] = [];
    let resolveHandler!: () => void;
    const { url, counted } = await serve({
      'issues.labeled': async (delivery) => {
        seen.push(delivery as never);
        await new Promise<void>((resolve) => (resolveHandler = resolve));
      },
    });
    const payload = exampleFor('issues', 'labeled');
    let answered = false;
    const response = sendWebhook({ url, secret: SECRET, event: 'issues', payload, deliveryId: 'delivery-1' }).then((r) => ((answered = true), r));
    await expect.poll(() => seen.length).toBe(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(answered).toBe(false);
    resolveHandler();
    const res = await response;
    expect(res.status).toBe(200);
    expect(res.body).toBe('ok\n');
    expect(seen[0].id).toBe('delivery-1');
    expect(seen[0].name).toBe('issues');
    expect(seen[0].payload).toEqual(payload);
    expect(counted).toEqual(['issues accepted']);
  });

  it('answers 200 without calling anything for an event no handler takes (ping, another action)', async () => {
    const calls: string[] = [];
    const { url } = await serve({ 'issues.labeled': async () => void calls.push('labeled') });
    expect((await sendWebhook({ url, secret: SECRET, event: 'ping', payload: { zen: 'Keep it logically awesome.', hook_id: 1 } })).status).toBe(200);
    expect((await sendWebhook({ url, secret: SECRET, event: 'issues', payload: exampleFor('issues', 'opened') })).status).toBe(200);
    expect(calls).toEqual([]);
  });

  it('refuses a wrong signature with 401 and a log line, and never calls the handler', async () => {
    const calls: string[] = [];
    const { url, lines, counted } = await serve({ 'issues.labeled': async () => void calls.push('labeled') });
    const payload = exampleFor('issues', 'labeled');
    const forged = await sendWebhook({ url, secret: 'not-the-secret', event: 'issues', payload, deliveryId: 'forged' });
    expect(forged.status).toBe(401);
    expect(JSON.parse(forged.body)).toEqual({ error: 'signature does not match event payload and secret' });
    // Signed, then changed: the signature is over the exact bytes.
    const body = JSON.stringify(payload);
    const tampered = await sendWebhook({ url, secret: SECRET, event: 'issues', payload: body.replace('"labeled"', '"labeled" '), headers: { 'x-hub-signature-256': signPayload(SECRET, body) } });
    expect(tampered.status).toBe(401);
    expect(calls).toEqual([]);
    expect(counted).toEqual(['issues invalid_signature', 'issues invalid_signature']);
    expect(lines.some((l) => l.delivery === 'forged' && /signature does not match/.test(String(l.msg)))).toBe(true);
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });

  it('answers missing headers 400, another content type 415 and a body that is not a JSON object 400, as Probot does', async () => {
    const calls: string[] = [];
    const { url } = await serve({ issues: async () => void calls.push('issues') });
    const noDelivery = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'issues', 'x-hub-signature-256': signPayload(SECRET, '{}') }, body: '{}' });
    expect(noDelivery.status).toBe(400);
    expect(await noDelivery.json()).toEqual({ error: 'Required headers missing: x-github-delivery' });
    const form = await sendWebhook({ url, secret: SECRET, event: 'issues', payload: {}, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    for (const body of ['{"action": "labeled"', '"a string"', 'null']) {
      const res = await sendWebhook({ url, secret: SECRET, event: 'issues', payload: body });
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toEqual({ error: 'the payload is not a JSON object' });
    }
    expect(calls).toEqual([]);
  });

  it('answers 500 when the handler fails (GitHub can deliver it again), with the reason in the log only', async () => {
    const { url, lines, counted } = await serve({
      'issues.labeled': async () => {
        throw new Error('SQLITE_FULL: database or disk is full');
      },
    });
    const res = await sendWebhook({ url, secret: SECRET, event: 'issues', payload: exampleFor('issues', 'labeled'), deliveryId: 'fails' });
    expect(res.status).toBe(500);
    expect(res.body).not.toContain('SQLITE');
    expect(JSON.parse(res.body).error).toMatch(/deliver it again/);
    expect(counted).toEqual(['issues error']);
    expect(lines.find((l) => l.delivery === 'fails' && l.level === 50)).toMatchObject({ msg: 'webhook handler failed', err: { message: 'SQLITE_FULL: database or disk is full' } });
  });

  it('answers 503 with Retry-After while deliveries cannot be taken in, and stores nothing', async () => {
    let up = false;
    const calls: string[] = [];
    const { url } = await serve({ 'issues.labeled': async () => void calls.push('labeled') }, { accepting: () => up, refusal: 'the queue is down' });
    const payload = exampleFor('issues', 'labeled');
    const refused = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'issues', 'x-github-delivery': 'd-503', 'x-hub-signature-256': signPayload(SECRET, JSON.stringify(payload)) },
      body: JSON.stringify(payload),
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('30');
    expect(await refused.json()).toEqual({ error: 'the queue is down' });
    expect(calls).toEqual([]);
    up = true;
    expect((await sendWebhook({ url, secret: SECRET, event: 'issues', payload, deliveryId: 'd-503' })).status).toBe(200);
    expect(calls).toEqual(['labeled']);
  });

  it('still answers 413 for a body over the limit, before the receiver sees it', async () => {
    const calls: string[] = [];
    const { url } = await serve({ issues: async () => void calls.push('issues') });
    const res = await sendWebhook({ url, secret: SECRET, event: 'issues', payload: { action: 'labeled', blob: 'x'.repeat(100 * 1024) } });
    expect(res.status).toBe(413);
    expect(calls).toEqual([]);
  });
});

describe('the body limit in front of the receiver', () => {
  it('answers 500 when what takes the body fails unexpectedly, and goes on serving', async () => {
    let calls = 0;
    const server = await startWebhookServer(async () => {
      calls++;
      throw new Error('unexpected');
    });
    close = server.close;
    for (const n of [1, 2]) {
      const res = await sendWebhook({ url: server.url, secret: SECRET, event: 'ping', payload: { zen: 'hi', n } });
      expect(res.status).toBe(500);
      expect(JSON.parse(res.body).error).toMatch(/deliver it again/);
    }
    expect(calls).toBe(2);
  });
});

describe('signatureMatches', () => {
  it('takes only the exact sha256 HMAC of the exact body', () => {
    const body = '{"zen":"hi"}';
    expect(signatureMatches('s', body, signPayload('s', body))).toBe(true);
    expect(signatureMatches('s', body, signPayload('t', body))).toBe(false);
    expect(signatureMatches('s', `${body} `, signPayload('s', body))).toBe(false);
    expect(signatureMatches('s', body, signPayload('s', body).replace('sha256=', 'sha1='))).toBe(false);
    expect(signatureMatches('s', body, signPayload('s', body).slice(0, -1))).toBe(false);
    expect(signatureMatches('s', body, '')).toBe(false);
  });
});
