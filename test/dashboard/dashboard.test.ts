/**
 * The dashboard in real Chromium against the app started as users start it (`npm start`, here in
 * Probot's setup mode: no GitHub credentials), the real REST API, and a scripted model. Tasks are
 * submitted through the API from the test; the page must show them without being reloaded.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSseParser } from '../../src/api/dashboard/client/sse.js';
import { openDatabase } from '../../src/store/sqlite.js';
import { TaskStore } from '../../src/store/tasks.js';
import { describeRun } from '../../src/engine/describe.js';
import type { RunEvent } from '../../src/engine/events.js';
import { startApp, waitFor, type AppProcess } from '../e2e/app-process.js';
import { startScriptedLlm, type RecordedRequest, type ScriptStep, type ScriptedLlm } from '../helpers/scripted-llm-server.js';
import { makeTempDir, makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';

/** Debian's Chromium; another build can be named with CHROMIUM_PATH. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
// The default reporter only counts skipped tests; this says which, and why, in every run's output.
if (!hasChromium) console.warn(`SKIPPED: dashboard in Chromium — ${CHROMIUM} is not installed (apt-get install -y chromium, or set CHROMIUM_PATH)`);
const TOKEN = 'dashboard-token-0123456789abcdef';
const SHOTS = 'test-results';
/** Each model turn of the slow run waits this long, so the log is seen growing while it runs. */
const STEP_DELAY_MS = 900;

function turnOf(request: RecordedRequest): { prompt: string; turn: number } {
  const messages = request.body.messages as { role: string; content: string | null }[];
  let last = messages.length - 1;
  while (last >= 0 && messages[last].role !== 'user') last--;
  return { prompt: String(messages[last]?.content ?? ''), turn: messages.slice(last).filter((m) => m.role === 'assistant').length };
}

/** `HANG` never answers (to be cancelled); anything else edits the README slowly, then finishes. */
function model(request: RecordedRequest): ScriptStep {
  const { prompt, turn } = turnOf(request);
  if (prompt.includes('HANG')) return { hang: true };
  const steps: ScriptStep[] = [
    { text: 'Looking at the README first.', toolCalls: [{ name: 'read_file', arguments: { path: 'README.md' } }], delayMs: STEP_DELAY_MS },
    { toolCalls: [{ name: 'edit_file', arguments: { path: 'README.md', old_string: 'Hello, world.', new_string: 'Hello, dashboard.' } }], delayMs: STEP_DELAY_MS },
    { toolCalls: [{ name: 'write_file', arguments: { path: 'NOTES.md', content: '# Notes\n\nWritten by the scripted model.\n' } }], delayMs: STEP_DELAY_MS },
    { toolCalls: [{ name: 'finish', arguments: { summary: 'Greeted the dashboard and left a note.' } }], delayMs: STEP_DELAY_MS },
  ];
  return steps[Math.min(turn, steps.length - 1)];
}

describe.skipIf(!hasChromium)(`dashboard in Chromium${hasChromium ? '' : ` (skipped: ${CHROMIUM} not installed)`}`, () => {
  let llm: ScriptedLlm;
  let app: AppProcess;
  let dataDir: string;
  let repo: TempRepo;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Requests to anywhere but the app, and errors the page reported: both must stay empty. */
  const foreignRequests: string[] = [];
  const pageErrors: string[] = [];
  /** The run of the first scenario, with a diff, opened again at phone width. */
  let greetId = '';

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${app.url}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...init.headers } });

  async function submit(prompt: string): Promise<string> {
    const res = await api('/api/tasks', { method: 'POST', body: JSON.stringify({ repo: repo.root, prompt }) });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  }

  async function taskState(id: string): Promise<{ state: string; endReason: string | null }> {
    return (await api(`/api/tasks/${id}`)).json() as Promise<{ state: string; endReason: string | null }>;
  }

  /** The run's events as the SSE route replays them once it has ended. */
  async function eventsOf(id: string): Promise<RunEvent[]> {
    const res = await api(`/api/tasks/${id}/events`);
    const events: RunEvent[] = [];
    const parse = createSseParser((message) => events.push(JSON.parse(message.data) as RunEvent));
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) parse(decoder.decode(chunk, { stream: true }));
    return events;
  }

  const row = (id: string) => page.locator(`tr[data-id="${id}"]`);
  const logLines = () => page.locator('ol.log li').allTextContents();

  async function signIn(): Promise<void> {
    await page.goto(`${app.url}/dashboard`);
    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
  }

  beforeAll(async () => {
    llm = await startScriptedLlm(model);
    dataDir = await makeTempDir('autocoder-dashboard-');
    repo = await makeTempRepo({ 'README.md': '# Demo\n\nHello, world.\n', 'src/index.js': 'export const answer = 42;\n' });
    app = await startApp({
      AUTOCODER_API_TOKEN: TOKEN,
      AUTOCODER_DATA_DIR: dataDir,
      OPENAI_BASE_URL: llm.baseURL,
      OPENAI_API_KEY: 'sk-dashboard-test-key-0123456789',
      AUTOCODER_MODEL: 'scripted-model',
      LOG_LEVEL: 'warn',
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('request', (request) => {
      if (!request.url().startsWith(app.url) && !request.url().startsWith('data:')) foreignRequests.push(request.url());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    await mkdir(SHOTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await llm?.close();
    await repo?.cleanup();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('serves the page with a strict CSP, no caching of the HTML, and nothing from elsewhere', async () => {
    const res = await fetch(`${app.url}/dashboard`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'(;|$)/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).not.toMatch(/<script>|<script(?![^>]*\bsrc=)[^>]*>|\bon\w+=|style=/i);
    expect(html).not.toMatch(/https?:\/\/(?!github\.com)/);
    // Probot's setup flow keeps `/`; only the client's own modules are served out of dist/.
    expect((await fetch(`${app.url}/`, { redirect: 'manual' })).headers.get('location')).toBe('/probot');
    expect((await fetch(`${app.url}/dashboard/app/engine/describe.js`)).status).toBe(200);
    expect((await fetch(`${app.url}/dashboard/app/runtime/core.js`)).status).toBe(404);
    expect((await fetch(`${app.url}/dashboard/app/api/index.js`)).status).toBe(404);
  });

  it('asks for the token, refuses a wrong one, and keeps the right one in the browser', async () => {
    await page.goto(`${app.url}/dashboard`);
    await page.getByLabel('API token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('That token was not accepted.');
    expect(await page.evaluate(() => localStorage.getItem('autocoder.apiToken'))).toBeNull();

    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    await expect.poll(() => page.locator('#live').textContent()).toBe('Live');
    expect(await page.evaluate(() => localStorage.getItem('autocoder.apiToken'))).toBe(TOKEN);
    expect(await page.locator('.empty').textContent()).toMatch(/No runs yet/);

    // Reloading keeps the token; one the server refuses is dropped and asked for again.
    await page.reload();
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    await page.evaluate(() => localStorage.setItem('autocoder.apiToken', 'revoked'));
    await page.reload();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/did not accept the token/);
    expect(await page.evaluate(() => localStorage.getItem('autocoder.apiToken'))).toBeNull();
  });

  it('lists a task submitted through the API at once, streams its log while it runs, and shows its diff', async () => {
    await signIn();
    await expect.poll(() => page.locator('#live').textContent()).toBe('Live');
    // Survives only if the page is never reloaded.
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));

    const id = (greetId = await submit('Greet the dashboard in the README'));
    await row(id).waitFor({ timeout: 10_000 });
    expect(await row(id).locator('.title a').textContent()).toBe('Greet the dashboard in the README');
    expect(await row(id).locator('td[data-label="Repository"]').textContent()).toBe(repo.root);
    expect(await row(id).locator('td[data-label="Model"]').textContent()).toBe('scripted-model');
    // Its state changes in place.
    await expect.poll(() => row(id).locator('.badge').textContent(), { timeout: 10_000 }).toBe('running');

    await row(id).locator('.title a').click();
    await page.getByRole('heading', { name: 'Greet the dashboard in the README' }).waitFor();
    expect(page.url()).toContain(`#/tasks/${id}`);
    // Lines arrive while the run goes on: some log, and the run still running.
    await expect.poll(async () => (await logLines()).length, { timeout: 15_000 }).toBeGreaterThan(0);
    const early = await logLines();
    expect(await page.locator('.run-head .badge').textContent()).toBe('running');
    expect(early.some((line) => line.startsWith('■'))).toBe(false);
    expect(await page.getByRole('button', { name: 'Cancel run' }).isVisible()).toBe(true);
    await expect.poll(async () => (await logLines()).length, { timeout: 15_000 }).toBeGreaterThan(early.length);

    await expect.poll(() => page.locator('.run-head .badge').textContent(), { timeout: 20_000 }).toBe('completed');
    await expect.poll(async () => (await logLines()).at(-1) ?? '', { timeout: 5_000 }).toMatch(/^■ completed after 4 steps · 2 files changed/);
    // The same lines as the CLI and the pull request's run log: describeRun over the same events.
    expect(await logLines()).toEqual(describeRun(await eventsOf(id)));
    expect(await page.getByRole('button', { name: 'Cancel run' }).isVisible()).toBe(false);
    expect(await page.locator('.summary').first().textContent()).toBe('Greeted the dashboard and left a note.');

    // The diff, with added and removed lines told apart.
    await page.locator('pre.diff').waitFor({ timeout: 10_000 });
    expect(await page.locator('pre.diff .del').allTextContents()).toContain('-Hello, world.');
    expect(await page.locator('pre.diff .add').allTextContents()).toEqual(expect.arrayContaining(['+Hello, dashboard.', '+# Notes']));
    expect(await page.locator('pre.diff .file').count()).toBe(2);
    await page.screenshot({ path: `${SHOTS}/dashboard-run.png`, fullPage: true });

    // Back to the list: the row shows the finished run with its duration and tokens.
    await page.getByRole('link', { name: '← All runs' }).click();
    await expect.poll(() => row(id).locator('.badge').textContent()).toBe('completed');
    expect(await row(id).locator('td[data-label="Duration"]').textContent()).toMatch(/^\d+s$/);
    expect(await row(id).locator('td[data-label="Tokens"]').textContent()).toMatch(/^[\d,]+$/);
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);
  });

  it('cancels a run whose model hangs', async () => {
    const id = await submit('HANG until cancelled');
    await page.goto(`${app.url}/dashboard?task=${id}`);
    expect(page.url()).toBe(`${app.url}/dashboard#/tasks/${id}`);
    await expect.poll(() => page.locator('.run-head .badge').textContent(), { timeout: 15_000 }).toBe('running');
    await waitFor(() => llm.requests.some((request) => turnOf(request).prompt.includes('HANG')), 'the model to be asked');

    const cancel = page.getByRole('button', { name: 'Cancel run' });
    await cancel.click();
    await expect.poll(() => page.locator('.run-head .badge').textContent(), { timeout: 15_000 }).toBe('cancelled');
    expect(await cancel.isVisible()).toBe(false);
    expect(await taskState(id)).toMatchObject({ state: 'finished', endReason: 'cancelled' });
    await expect.poll(() => page.locator('#log-title + .muted').textContent(), { timeout: 10_000 }).toBe('ended');
    await expect.poll(async () => (await logLines()).at(-1) ?? '').toMatch(/^■ cancelled/);
  });

  it('reconnects after the live stream drops and catches up on what it missed', async () => {
    // Until told otherwise, every /api/events the page opens is answered and at once closed: a drop.
    let drops = 0;
    await page.route('**/api/events', (route) => {
      drops++;
      return route.fulfill({ status: 200, headers: { 'content-type': 'text/event-stream' }, body: ': connected\n\n' });
    });
    await page.goto(`${app.url}/dashboard`);
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    await expect.poll(() => page.locator('#live').textContent(), { timeout: 10_000 }).toMatch(/^Offline, reconnecting in \ds$/);
    await expect.poll(() => drops, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);

    const id = await submit('Submitted while the stream was down');
    await page.unroute('**/api/events');
    await expect.poll(() => page.locator('#live').textContent(), { timeout: 20_000 }).toBe('Live');
    await row(id).waitFor({ timeout: 10_000 });
    // Changes after the reconnection arrive live again.
    await expect.poll(() => row(id).locator('.badge').textContent(), { timeout: 20_000 }).toBe('completed');

    await page.locator('#filter-state').selectOption('active');
    expect(await row(id).count()).toBe(0);
    await page.locator('#filter-state').selectOption('');
    expect(await page.locator('tbody tr').count()).toBe(3);
    await page.screenshot({ path: `${SHOTS}/dashboard-list.png`, fullPage: true });
  });

  it('shows a GitHub run with links to its issue and pull request, and what came from GitHub as text only', async () => {
    // Setup mode receives no webhooks: GitHub runs are written to the app's store as the intake would.
    const db = openDatabase(dataDir);
    const store = new TaskStore(db, () => undefined);
    const done = { summary: 'Fixed add().', changedFiles: [{ path: 'src/math.js', change: 'modified' }], usage: { promptTokens: 900, completionTokens: 100, totalTokens: 1000 }, steps: 3, durationMs: 65_000 };
    store.insert({ id: 'gh_fixed', source: 'github', state: 'running', repo: 'acme/widgets', issueNumber: 7, title: 'add() subtracts', model: 'gpt-4.1', request: {}, data: { pullRequestUrl: 'https://github.com/acme/widgets/pull/8' } });
    store.update('gh_fixed', { state: 'finished', endReason: 'completed', startedAt: '2026-01-01T10:00:00.000Z', finishedAt: '2026-01-01T10:01:05.000Z', result: done });
    store.insert({ id: 'gh_hostile', source: 'github', state: 'rejected', repo: 'acme/widgets', issueNumber: 9, title: '<img src=x onerror="window.pwned=1">', request: {}, data: { pullRequestUrl: 'javascript:window.pwned=1' } });
    db.close();

    await page.goto(`${app.url}/dashboard`);
    await row('gh_fixed').waitFor();
    const cells = row('gh_fixed').locator('td[data-label="Issue / PR"] a');
    expect(await cells.evaluateAll((links) => links.map((a) => [a.textContent, a.getAttribute('href')]))).toEqual([
      ['#7', 'https://github.com/acme/widgets/issues/7'],
      ['PR #8', 'https://github.com/acme/widgets/pull/8'],
    ]);
    expect(await row('gh_fixed').locator('td[data-label="Repository"] a').getAttribute('href')).toBe('https://github.com/acme/widgets');
    expect(await row('gh_fixed').locator('.badge').textContent()).toBe('completed');
    expect(await row('gh_fixed').locator('td[data-label="Duration"]').textContent()).toBe('1m 5s');
    expect(await row('gh_fixed').locator('td[data-label="Tokens"]').textContent()).toBe('1,000');
    expect(await row('gh_fixed').locator('.source').textContent()).toBe('GitHub');

    expect(await row('gh_hostile').locator('.title a').textContent()).toBe('<img src=x onerror="window.pwned=1">');
    expect(await row('gh_hostile').locator('img').count()).toBe(0);
    expect(await row('gh_hostile').locator('td[data-label="Issue / PR"] a').count()).toBe(1);
    expect(await row('gh_hostile').locator('.badge').textContent()).toBe('rejected');

    await page.locator('#filter-source').selectOption('github');
    expect(await page.locator('tbody tr').count()).toBe(2);
    await page.locator('#filter-source').selectOption('');

    // A run that never ran has no events: its page says so and stops asking.
    await row('gh_hostile').locator('.title a').click();
    await expect.poll(() => page.locator('#log-title + .muted').textContent(), { timeout: 10_000 }).toBe('ended');
    expect(await page.locator('ol.log li').count()).toBe(0);
    await expect.poll(() => page.locator('#diff-title + *').textContent()).toBe('No changes.');
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    await page.screenshot({ path: `${SHOTS}/dashboard-list-github.png`, fullPage: true });
    await page.getByRole('link', { name: '← All runs' }).click();
    await page.screenshot({ path: `${SHOTS}/dashboard-list.png`, fullPage: true });
  });

  it('fits a phone screen, in the dark colour scheme', async () => {
    // In the dark colour scheme too, so the screenshots show both palettes.
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, colorScheme: 'dark' });
    const small = await phone.newPage();
    await small.goto(`${app.url}/dashboard`);
    await small.getByLabel('API token').fill(TOKEN);
    await small.getByRole('button', { name: 'Sign in' }).click();
    await small.locator('tbody tr').first().waitFor();
    const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await small.screenshot({ path: `${SHOTS}/dashboard-list-phone.png`, fullPage: true });
    await small.locator(`tr[data-id="${greetId}"] .title a`).click();
    await small.locator('pre.diff').waitFor({ timeout: 10_000 });
    expect(await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await small.screenshot({ path: `${SHOTS}/dashboard-run-phone.png`, fullPage: true });
    await small.getByRole('button', { name: 'Forget token' }).click();
    await small.getByLabel('API token').waitFor();
    expect(await small.evaluate(() => localStorage.getItem('autocoder.apiToken'))).toBeNull();
    await phone.close();
  });

  it('asked nothing of any other server and reported no errors', () => {
    expect(foreignRequests).toEqual([]);
    // The 401s of the refused tokens are the only errors the browser logs.
    expect(pageErrors.filter((message) => !/status of 401/.test(message))).toEqual([]);
  });
});
