/**
 * Label → pull request through the whole app, as a maintainer meets it: the app started as its
 * own process (`node bin/autocoder.js serve`), GitHub played by the emulator (through GHE_HOST),
 * the repository on the git smart-HTTP server, an instant scripted model. The mirror cache is warm
 * (a first run warms it). Timed from sending the signed `issues.labeled` webhook to the pull
 * request existing in the emulator; each run starts on a quiet app (the previous run done, and
 * Octokit's write limiters idle).
 *
 * A timing proxy in front of the emulator records when every GitHub API call starts and ends, so
 * the table can say where the time goes. A second, diagnostic figure runs the same GitHub
 * front-end in this process with Octokit's throttling turned off, the one difference.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, request as httpRequest, Agent, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Probot, ProbotOctokit, createNodeMiddleware } from 'probot';
import { readEnv } from '../src/config/env.js';
import { createCore } from '../src/runtime/core.js';
import { createLogger } from '../src/runtime/logger.js';
import { attachGithub } from '../src/runtime/server.js';
import { GITHUB_WRITE_PACE } from '../src/github/write-limits.js';
import { createSecretSet } from '../src/util/secrets.js';
import { startGitHubEmulator, type GitHubEmulator } from '../test/helpers/github-emulator.js';
import { startGitServer, type GitServer } from '../test/helpers/git-http-server.js';
import { startScriptedLlm, type RecordedRequest, type ScriptStep, type ScriptedLlm } from '../test/helpers/scripted-llm-server.js';
import { issueLabeledPayload, sendWebhook } from '../test/helpers/webhooks.js';
import type { Benchmark } from './lib/bench.js';
import { benchTempDir, removeDir } from './lib/fs.js';
import { freePort, startAppProcess, waitFor, type Child } from './lib/processes.js';
import { formatMs, median, now, sleep } from './lib/stats.js';
import type { Row } from './lib/table.js';

const APP_ID = 4444;
const SECRET = 'bench-label-secret';
const OWNER = 'acme';
const MAINTAINER = { login: 'mia', id: 5001, type: 'User' as const };
const MEASURED = 3;
/**
 * Between runs, long enough for the app's write limiters to refill what one run spent (five
 * writes, two of them notifying: see src/github/write-limits.ts), as after any quiet spell.
 */
const QUIET_MS = Math.max(5 * GITHUB_WRITE_PACE.write.everyMs, 2 * GITHUB_WRITE_PACE.notifications.everyMs) + 500;

interface Call {
  method: string;
  path: string;
  startMs: number;
  endMs: number;
}

/** A pass-through proxy in front of the emulator that notes the time of every request. */
async function startTimingProxy(target: string): Promise<{ host: string; calls: Call[]; origin: { t0: number }; close(): Promise<void> }> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true });
  const calls: Call[] = [];
  const origin = { t0: now() };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const startMs = now() - origin.t0;
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host }, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', () => calls.push({ method: req.method ?? 'GET', path: (req.url ?? '').replace(/^\/api\/v3/, '').split('?')[0], startMs, endMs: now() - origin.t0 }));
      },
    );
    forward.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    calls,
    origin,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Model turns of this run: assistant messages after the (last) user message. */
function turnOf(request: RecordedRequest): number {
  const messages = request.body.messages as { role: string }[];
  let last = messages.length - 1;
  while (last >= 0 && messages[last].role !== 'user') last--;
  return messages.slice(last).filter((m) => m.role === 'assistant').length;
}

/** Instant: read, fix, finish. */
function fixingModel(request: RecordedRequest): ScriptStep {
  return [
    { toolCalls: [{ name: 'read_file', arguments: { path: 'src/math.js' } }] },
    { toolCalls: [{ name: 'edit_file', arguments: { path: 'src/math.js', old_string: 'a - b', new_string: 'a + b' } }] },
    { toolCalls: [{ name: 'finish', arguments: { summary: 'Fixed add(): it subtracted.' } }] },
  ][Math.min(turnOf(request), 2)];
}

interface World {
  emulator: GitHubEmulator;
  git: GitServer;
  llm: ScriptedLlm;
  proxy: Awaited<ReturnType<typeof startTimingProxy>>;
  privateKey: string;
  llmCalls: number[];
}

async function newRepo(world: World, name: string) {
  await world.git.createRepo(name, {
    'src/math.js': 'export function add(a, b) {\n  return a - b;\n}\n',
    'package.json': '{ "type": "module" }\n',
    'README.md': '# widgets\n',
  });
  const cloneUrl = world.git.cloneUrl(name);
  world.emulator.addRepo({ owner: OWNER, name, cloneUrl, files: {} });
  world.emulator.setPermission(OWNER, name, MAINTAINER.login, 'write');
  return { name, cloneUrl };
}

/** One labelled issue to its pull request; returns the time and the GitHub calls made meanwhile. */
async function labelToPr(world: World, webhookUrl: string, repo: { name: string; cloneUrl: string }) {
  const { emulator } = world;
  const issue = emulator.addIssue(OWNER, repo.name, { title: 'add() subtracts', body: 'add(2, 3) returns -1.', user: MAINTAINER });
  const payload = issueLabeledPayload({
    repo: { owner: OWNER, name: repo.name, cloneUrl: repo.cloneUrl, defaultBranch: 'main' },
    installationId: emulator.installationId,
    apiUrl: emulator.apiUrl,
    sender: MAINTAINER,
    issue: { number: issue.number, title: issue.title, body: issue.body ?? '', user: MAINTAINER },
  });
  const callsBefore = world.proxy.calls.length;
  const llmBefore = world.llmCalls.length;
  const t0 = now();
  world.proxy.origin.t0 = t0;
  const response = await sendWebhook({ url: webhookUrl, secret: SECRET, event: 'issues', payload });
  const ackMs = now() - t0;
  if (response.status !== 200) throw new Error(`the webhook was answered ${response.status}: ${response.body}`);
  const pullOf = () => emulator.state.pulls.find((p) => p.repo === repo.name && p.head.ref === `autocoder/issue-${issue.number}`);
  await waitFor(() => pullOf(), 'the pull request', 60_000);
  const prMs = now() - t0;
  const done = () => emulator.commentsOn(OWNER, repo.name, issue.number).find((c) => c.body.includes('autocoder:progress'))?.body.includes('Done');
  await waitFor(() => done(), 'the progress comment to say done', 60_000);
  const doneMs = now() - t0;
  const calls = world.proxy.calls.slice(callsBefore);
  const llm = world.llmCalls.slice(llmBefore).map((t) => t - t0);
  return { ackMs, prMs, doneMs, calls, llm };
}

type Measured = Awaited<ReturnType<typeof labelToPr>>;

/** The writes to GitHub up to the pull request (`POST /issues/5/comments at 1.08 s`), for the note. */
function timeline(run: Measured): string[] {
  const lines = run.calls
    .filter((c) => c.startMs <= run.prMs && c.method !== 'GET' && !c.path.includes('/access_tokens'))
    .sort((a, b) => a.startMs - b.startMs)
    .map((c) => `${c.method} ${c.path.replace(/^\/repos\/[^/]+\/[^/]+/, '')} at ${formatMs(c.startMs)}`);
  if (run.llm.length) lines.push(`the model called at ${run.llm.map(formatMs).join(', ')}`);
  return lines;
}

/** The POST that opens the pull request: when it was sent and when it was answered. */
function pullCall(run: Measured): Call | undefined {
  return run.calls.find((c) => c.method === 'POST' && /\/pulls$/.test(c.path));
}

async function measure(world: World, webhookUrl: string, prefix: string, log: (line: string) => void): Promise<Measured[]> {
  // The first run makes the mirror cache; the measured ones find it warm.
  const repo = await newRepo(world, `${prefix}-widgets`);
  const warm = await labelToPr(world, webhookUrl, repo);
  log(`  ${prefix} warm-up run (cold cache): pull request after ${formatMs(warm.prMs)}`);
  const runs: Measured[] = [];
  for (let i = 0; i < MEASURED; i++) {
    await sleep(QUIET_MS);
    const run = await labelToPr(world, webhookUrl, repo);
    const post = pullCall(run);
    log(`  ${prefix}: 2xx after ${formatMs(run.ackMs)}, pull request after ${formatMs(run.prMs)} (POST /pulls sent at ${post ? formatMs(post.startMs) : '?'}), done after ${formatMs(run.doneMs)}`);
    runs.push(run);
  }
  return runs;
}

/** The same GitHub front-end in this process, on an Octokit whose throttling is off. */
async function startInProcessApp(world: World, dataDir: string): Promise<{ url: string; close(): Promise<void> }> {
  const env = readEnv({
    APP_ID: String(APP_ID),
    PRIVATE_KEY: world.privateKey,
    WEBHOOK_SECRET: SECRET,
    OPENAI_API_KEY: 'sk-bench-scripted-model-key',
    OPENAI_BASE_URL: world.llm.baseURL,
    AUTOCODER_MODEL: 'scripted-model',
    AUTOCODER_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
  });
  const secrets = createSecretSet([env.openaiApiKey, env.webhookSecret, env.privateKey]);
  const log = createLogger('warn', secrets.redact);
  const core = createCore(env, log, secrets);
  const probot = new Probot({
    appId: APP_ID,
    privateKey: world.privateKey,
    secret: SECRET,
    baseUrl: `http://${world.proxy.host}/api/v3`,
    log,
    Octokit: ProbotOctokit.defaults((o: Record<string, unknown>) => ({ ...o, throttle: { ...(o.throttle as object), enabled: false } })),
  });
  const middleware = await createNodeMiddleware(
    (app) => {
      attachGithub(core, app);
    },
    { probot },
  );
  core.queue.start();
  const port = await freePort();
  const server = createServer((req, res) => {
    middleware(req, res, () => {
      res.writeHead(404);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}/api/github/webhooks`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await core.stop(10_000);
    },
  };
}

export const labelToPrBench: Benchmark = {
  name: 'label',
  description: 'label → pull request through the whole app (process), instant model, warm cache',
  async run(ctx) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    const dir = await benchTempDir('label');
    const llmCalls: number[] = [];
    let world: World | undefined;
    let app: Child | undefined;
    let inProcess: { url: string; close(): Promise<void> } | undefined;
    try {
      const emulator = await startGitHubEmulator({
        appId: APP_ID,
        privateKeyPem: privateKey,
        branchExists: async (_owner, repo, branch) => git.git(repo, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]).then(() => true, () => false),
      });
      const git: GitServer = await startGitServer({ token: (token) => emulator.isValidInstallationToken(token) });
      const llm = await startScriptedLlm((request) => {
        llmCalls.push(now());
        return fixingModel(request);
      });
      const proxy = await startTimingProxy(emulator.apiUrl);
      world = { emulator, git, llm, proxy, privateKey, llmCalls };

      app = await startAppProcess(
        {
          APP_ID: String(APP_ID),
          PRIVATE_KEY: privateKey,
          WEBHOOK_SECRET: SECRET,
          GHE_HOST: proxy.host,
          GHE_PROTOCOL: 'http',
          OPENAI_API_KEY: 'sk-bench-scripted-model-key',
          OPENAI_BASE_URL: llm.baseURL,
          AUTOCODER_MODEL: 'scripted-model',
          AUTOCODER_DATA_DIR: join(dir, 'data'),
          LOG_LEVEL: 'info',
        },
        dir,
      );
      const runs = await measure(world, `${app.url}/api/github/webhooks`, 'app', ctx.log);
      await app.stop();
      app = undefined;

      inProcess = await startInProcessApp(world, join(dir, 'data-unthrottled'));
      const unthrottled = await measure(world, inProcess.url, 'unthrottled', ctx.log);
      await inProcess.close();
      inProcess = undefined;

      const pr = median(runs.map((r) => r.prMs));
      const ack = median(runs.map((r) => r.ackMs));
      const prFree = median(unthrottled.map((r) => r.prMs));
      const answered = median(runs.map((r) => pullCall(r)?.endMs ?? Number.NaN));
      const typical = runs[Math.floor(runs.length / 2)];
      const rows: Row[] = [
        {
          id: 'label.pr',
          bench: 'label',
          figure: 'label → pull request, whole app, instant model, warm cache',
          value: pr,
          shown: formatMs(pr),
          target: '< 3 s',
          pass: pr < 3_000,
          note: `median of ${MEASURED}; the webhook was answered after ${formatMs(ack)}, POST /pulls answered at ${formatMs(answered)}. Writes to GitHub until then: ${timeline(typical).join('; ')}. Octokit's write limiters are on, paced as src/github/write-limits.ts says: a burst of ${GITHUB_WRITE_PACE.write.burst} writes (${GITHUB_WRITE_PACE.notifications.burst} notifying) after a quiet spell, then one a second (one notifying every ${GITHUB_WRITE_PACE.notifications.everyMs / 1000} s), one at a time; Probot's defaults space every write 1 s and every notifying one 3 s from the first on`,
          details: { runs, unthrottled },
        },
        {
          id: 'label.pr.unthrottled',
          bench: 'label',
          figure: 'label → pull request, Octokit throttling off (diagnostic)',
          value: prFree,
          shown: formatMs(prFree),
          baseline: { label: 'with throttling', shown: formatMs(pr), value: pr },
          ratio: prFree / pr,
          ratioShown: `${(pr / prFree).toFixed(1)}× faster`,
          target: 'reported',
          note: `the same GitHub front-end in the benchmark's process with ProbotOctokit throttle.enabled = false, nothing else changed. Writes: ${timeline(unthrottled[Math.floor(unthrottled.length / 2)]).join('; ')}`,
        },
      ];
      return rows;
    } finally {
      await inProcess?.close().catch(() => undefined);
      await app?.stop();
      await world?.proxy.close();
      await world?.llm.close();
      await world?.git.close();
      await world?.emulator.close();
      await removeDir(dir);
    }
  },
};
