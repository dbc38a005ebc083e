import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createWebhookReceiver } from '../../src/github/webhook-receiver.js';
import { waitFor } from '../e2e/app-process.js';
import { hasRedis, redisSkipNote, startRedis, warnIfNoRedis } from '../helpers/redis-server.js';
import { sendWebhook } from '../helpers/webhooks.js';
import { startWebhookServer } from '../helpers/webhook-server.js';
import { startHarness, useHarness } from './harness.js';
import { MATH_FILES, scriptedModel } from './models.js';

const stage = useHarness({ model: scriptedModel }, MATH_FILES);
warnIfNoRedis('GET /healthz with REDIS_URL');

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict reader of the Prometheus text format: every sample line parses, and every metric is typed. */
function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const typed = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (typed) {
      types.set(typed[1], typed[2]);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$/.test(line)) continue;
    // Values as Prometheus reads them (Go's ParseFloat: NaN and Inf in any case; prom-client writes `Nan`).
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|nan|[+-]inf)$/i.exec(line);
    if (!sample) throw new Error(`not Prometheus text: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const m of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]] = m[2];
    samples.push({ name: sample[1], labels, value: Number(sample[3]) });
  }
  for (const sample of samples) {
    const family = sample.name.replace(/_(bucket|sum|count)$/, '');
    if (!types.has(sample.name) && !types.has(family)) throw new Error(`no TYPE for ${sample.name}`);
  }
  return { samples, types };
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);

describe('GET /metrics', () => {
  it('parses as Prometheus text and counts the finished runs, their durations and tokens', async () => {
    const before = parsePrometheus(await (await stage.h.api('/metrics')).text()).samples;
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await stage.h.submit({ repo: stage.repo.root, prompt: `q${i}`, model: 'quick' })).id);
    for (const id of ids) await stage.h.waitForState(id, ['finished']);
    const cancelled = await stage.h.submit({ repo: stage.repo.root, prompt: 'wait', model: 'hang' });
    await stage.h.waitForState(cancelled.id, ['running']);
    await stage.h.api(`/api/tasks/${cancelled.id}/cancel`, { method: 'POST' });
    await stage.h.waitForState(cancelled.id, ['finished']);

    const res = await stage.h.api('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const { samples, types } = parsePrometheus(await res.text());
    expect(types.get('autocoder_run_duration_seconds')).toBe('histogram');
    expect(types.get('autocoder_tokens_total')).toBe('counter');
    expect(types.get('autocoder_webhook_deliveries_total')).toBe('counter');
    expect(value(samples, 'autocoder_runs_total', { state: 'finished', end_reason: 'completed', source: 'api' })).toBe(
      value(before, 'autocoder_runs_total', { state: 'finished', end_reason: 'completed', source: 'api' }) + 3,
    );
    expect(value(samples, 'autocoder_runs_total', { state: 'finished', end_reason: 'cancelled', source: 'api' })).toBeGreaterThanOrEqual(1);
    // Observed as the tasks finished (slightly later than the store says: wait for it).
    expect(value(samples, 'autocoder_run_duration_seconds_count', { source: 'api', end_reason: 'completed' })).toBeGreaterThanOrEqual(3);
    expect(value(samples, 'autocoder_run_duration_seconds_count', { source: 'api', end_reason: 'cancelled' })).toBeGreaterThanOrEqual(1);
    expect(value(samples, 'autocoder_tokens_total', { kind: 'prompt' }) - value(before, 'autocoder_tokens_total', { kind: 'prompt' })).toBeGreaterThanOrEqual(30);
    expect(value(samples, 'autocoder_tokens_total', { kind: 'completion' }) - value(before, 'autocoder_tokens_total', { kind: 'completion' })).toBeGreaterThanOrEqual(15);
    expect(samples.some((s) => s.name === 'autocoder_queue_depth')).toBe(true);
    expect(samples.some((s) => s.name === 'autocoder_running_tasks')).toBe(true);
    expect(samples.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
  });

  it('counts webhook deliveries as the receiver answers them: accepted, failed handlers, bad signatures', async () => {
    const { createMetrics } = await import('../../src/api/metrics.js');
    const metrics = createMetrics(stage.h.core);
    const receive = createWebhookReceiver({
      secret: 'webhook-secret',
      log: pino({ level: 'silent' }),
      metrics,
      handlers: {
        'meta.deleted': async () => {
          throw new Error('a handler failed');
        },
      },
    });
    const server = await startWebhookServer(receive);
    try {
      expect((await sendWebhook({ url: server.url, secret: 'webhook-secret', event: 'ping', payload: { zen: 'hi', hook_id: 1 } })).status).toBe(200);
      expect((await sendWebhook({ url: server.url, secret: 'webhook-secret', event: 'meta', payload: { action: 'deleted', hook_id: 1 } })).status).toBe(500);
      expect((await sendWebhook({ url: server.url, secret: 'wrong', event: 'issues', payload: {} })).status).toBe(401);
    } finally {
      await server.close();
    }
    const { samples } = parsePrometheus(await metrics.registry.metrics());
    expect(value(samples, 'autocoder_webhook_deliveries_total', { event: 'ping', outcome: 'accepted' })).toBe(1);
    expect(value(samples, 'autocoder_webhook_deliveries_total', { event: 'meta', outcome: 'error' })).toBe(1);
    expect(value(samples, 'autocoder_webhook_deliveries_total', { event: 'issues', outcome: 'invalid_signature' })).toBe(1);
    metrics.stop();
  });
});

describe('GET /healthz', () => {
  it('reports the store, the free disk space and the queue without a token', async () => {
    const res = await stage.h.api('/healthz', { auth: false });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({
      ok: true,
      store: 'ok',
      disk: { path: stage.h.dataDir, freeBytes: expect.any(Number), minFreeBytes: expect.any(Number) },
      queue: { backend: 'embedded', depth: expect.any(Number), running: expect.any(Number), concurrency: 2 },
    });
    expect(body.disk.freeBytes).toBeGreaterThan(body.disk.minFreeBytes);
    // Without REDIS_URL there is no Redis to report on.
    expect(body.queue).not.toHaveProperty('redis');
  });

  it('answers 503 with the reason when the store does not answer', async () => {
    const broken = await startHarness({ model: scriptedModel });
    try {
      await broken.core.stop();
      const res = await broken.api('/healthz', { auth: false });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ ok: false, store: 'unreachable', reason: expect.stringContaining('store') });
    } finally {
      await broken.close();
    }
  });

  describe.skipIf(!hasRedis)(`with REDIS_URL ${redisSkipNote}`, () => {
    it('reports Redis, answers 503 naming REDIS_URL (not the URL) while it is gone, and ok again once it is back', async () => {
      const redis = await startRedis();
      const web = await startHarness({ model: scriptedModel, env: { REDIS_URL: redis.url } });
      try {
        const healthz = async () => {
          const res = await web.api('/healthz', { auth: false });
          return { status: res.status, text: await res.text() };
        };
        const up = await waitFor(async () => {
          const answer = await healthz();
          return answer.status === 200 && answer;
        }, 'Redis to answer');
        expect(JSON.parse(up.text)).toMatchObject({ ok: true, store: 'ok', queue: { backend: 'redis', redis: 'ok' } });
        expect(JSON.parse(up.text)).not.toHaveProperty('reason');

        await redis.kill();
        const down = await healthz();
        expect(down.status).toBe(503);
        const body = JSON.parse(down.text);
        expect(body).toMatchObject({ ok: false, store: 'ok', queue: { backend: 'redis', redis: 'unreachable' }, reason: expect.stringContaining('REDIS_URL') });
        // The URL may carry a password: neither it nor its address is said.
        expect(down.text).not.toContain('redis://');
        expect(down.text).not.toContain(String(redis.port));

        await redis.restart();
        const again = await waitFor(async () => {
          const answer = await healthz();
          return answer.status === 200 && answer;
        }, 'Redis to answer again');
        expect(JSON.parse(again.text)).toMatchObject({ ok: true, queue: { backend: 'redis', redis: 'ok' } });
      } finally {
        await web.close();
        await redis.stop();
      }
    });
  });
});

describe('GET /api/openapi.json', () => {
  it('is an OpenAPI 3.1 document with every route, whose references all resolve', async () => {
    const res = await stage.h.api('/api/openapi.json');
    expect(res.status).toBe(200);
    const doc = await res.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/api/events', '/api/openapi.json', '/api/tasks', '/api/tasks/{id}', '/api/tasks/{id}/cancel', '/api/tasks/{id}/diff', '/api/tasks/{id}/events', '/healthz', '/metrics',
    ]);
    expect(Object.keys(doc.paths['/api/tasks']).sort()).toEqual(['get', 'post']);
    expect(doc.paths['/healthz'].get.security).toEqual([]);
    expect(Object.keys(doc.components.schemas.Health.properties.queue.properties)).toEqual(expect.arrayContaining(['backend', 'redis']));
    expect(doc.paths['/api/tasks'].post.security).toEqual([{ bearer: [] }]);

    // The body schema is the validator's: strict, with the fields the route takes.
    const create = doc.components.schemas.CreateTask;
    expect(create.additionalProperties).toBe(false);
    expect(create.required.sort()).toEqual(['prompt', 'repo']);
    expect(Object.keys(create.properties).sort()).toEqual(['attempts', 'branch', 'maxCostUsd', 'maxMinutes', 'maxSteps', 'maxTokens', 'model', 'models', 'prompt', 'pushBranch', 'repo', 'session', 'testCommand']);
    expect(Object.keys(doc.components.schemas.TaskView.properties)).toEqual(expect.arrayContaining(['id', 'state', 'queuePosition', 'usage', 'sessionId']));
    expect(doc.paths['/api/tasks'].get.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['limit', 'repo', 'source', 'state']);

    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThan(5);
    for (const ref of refs) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(doc.components.schemas[ref.split('/').at(-1)!]).toBeDefined();
    }
  });
});
