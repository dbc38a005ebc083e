/**
 * The REST API end to end, as an operator meets it: `npm start` with AUTOCODER_API_TOKEN and no
 * GitHub App credentials, so Probot is in its setup mode, and the API is served all the same.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskView } from '../../src/api/task-view.js';
import { startApp, waitFor, type AppProcess } from '../e2e/app-process.js';
import { startScriptedLlm, type ScriptedLlm } from '../helpers/scripted-llm-server.js';
import { makeTempDir, makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';
import { readSse } from './harness.js';
import { MATH_FILES, scriptedModel } from './models.js';

const TOKEN = 'e2e-api-token-abcdefghijklmnop';
let app: AppProcess;
let llm: ScriptedLlm;
let repo: TempRepo;

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${app.url}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...init.headers } });

beforeAll(async () => {
  llm = await startScriptedLlm(scriptedModel);
  repo = await makeTempRepo(MATH_FILES);
  app = await startApp({
    AUTOCODER_API_TOKEN: TOKEN,
    OPENAI_API_KEY: 'sk-e2e-api-key-0123456789abcdef',
    OPENAI_BASE_URL: llm.baseURL,
    AUTOCODER_MODEL: 'fix',
    AUTOCODER_DATA_DIR: await makeTempDir('autocoder-api-e2e-'),
    LOG_LEVEL: 'info',
  });
}, 120_000);

afterAll(async () => {
  await app?.stop();
  await llm?.close();
  await repo?.cleanup();
});

describe('npm start in setup mode with AUTOCODER_API_TOKEN', () => {
  it('serves Probot setup pages and the API side by side', async () => {
    expect((await fetch(`${app.url}/probot`)).status).toBe(200);
    const health = await fetch(`${app.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, store: 'ok' });
    const denied = await fetch(`${app.url}/api/tasks`);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await fetch(`${app.url}/metrics`)).status).toBe(401);
    expect((await (await api('/api/openapi.json')).json()).openapi).toBe('3.1.0');
  });

  it('runs a task to the end, streams its events, pushes the result, and counts it', async () => {
    const res = await api('/api/tasks', { method: 'POST', body: JSON.stringify({ repo: repo.root, prompt: 'Fix add()', pushBranch: 'fix/add' }) });
    expect(res.status).toBe(202);
    const created = await res.json();
    const { messages } = await readSse(await api(created.eventsUrl));
    const types = messages.map((m) => m.event);
    expect(types).toContain('started');
    expect(types).toContain('finished');
    expect(messages.map((m) => Number(m.id))).toEqual(messages.map((_, i) => i));

    const view = (await (await api(created.url)).json()) as TaskView;
    expect(view).toMatchObject({ state: 'finished', endReason: 'completed', model: 'fix', summary: 'Fixed add(): it subtracted.', changedFiles: [{ path: 'src/math.js', change: 'modified' }] });
    expect(view.pushed?.sha).toBe((await repo.git('rev-parse', 'fix/add')).trim());
    expect(await (await api(`${created.url}/diff`)).text()).toContain('+  return a + b;');

    const metrics = await waitFor(async () => {
      const text = await (await api('/metrics')).text();
      return /autocoder_run_duration_seconds_count\{source="api",end_reason="completed"\} 1/.test(text) && text;
    }, 'the run in the metrics', 10_000);
    expect(metrics).toMatch(/autocoder_runs_total\{state="finished",end_reason="completed",source="api"\} 1/);
    // The token never reaches the log.
    expect(app.output()).not.toContain(TOKEN);
  });

  it('stops on SIGTERM although an event stream is open', async () => {
    const res = await api('/api/events');
    expect(res.status).toBe(200);
    const reading = readSse(res).catch(() => undefined);
    const started = Date.now();
    await app.stop();
    await reading;
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
