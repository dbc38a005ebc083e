/**
 * A real core built in-process for API tests: a temp data dir, the scripted model as the
 * OpenAI endpoint, the core's handler served by a plain node:http server on 127.0.0.1.
 */
import { afterAll, beforeAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import { readEnv } from '../../src/config/env.js';
import { attachApi } from '../../src/api/index.js';
import type { TaskView } from '../../src/api/task-view.js';
import { createCore, type Core } from '../../src/runtime/core.js';
import { createLogger } from '../../src/runtime/logger.js';
import { createSecretSet } from '../../src/util/secrets.js';
import { startScriptedLlm, type RecordedRequest, type ScriptStep, type ScriptedLlm } from '../helpers/scripted-llm-server.js';
import { makeTempDir, makeTempRepo, type TempRepo } from '../helpers/temp-repo.js';

export const TOKEN = 'api-token-for-tests-0123456789';

export interface Harness {
  url: string;
  core: Core;
  llm: ScriptedLlm;
  dataDir: string;
  /** Event streams the API has open now. */
  openStreams(): number;
  /** fetch with the bearer token (unless `auth: false`). */
  api(path: string, init?: RequestInit & { auth?: boolean }): Promise<Response>;
  json<T = any>(path: string, init?: RequestInit & { auth?: boolean }): Promise<T>;
  submit(body: Record<string, unknown>): Promise<{ id: string; state: string; url: string; eventsUrl: string }>;
  waitForState(id: string, states: string[], timeoutMs?: number): Promise<TaskView>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** null: the API is off. */
  token?: string | null;
  concurrency?: number;
  model: (request: RecordedRequest) => ScriptStep | Promise<ScriptStep>;
  heartbeatMs?: number;
  /** More of the server's environment (budgets, prices). */
  env?: Record<string, string>;
}

/** The user message that started this task's turn, and how many model turns it has had since. */
export function turnOf(request: RecordedRequest): { prompt: string; turn: number } {
  const messages = request.body.messages as { role: string; content: string | null }[];
  let last = messages.length - 1;
  while (last >= 0 && messages[last].role !== 'user') last--;
  return { prompt: String(messages[last]?.content ?? ''), turn: messages.slice(last).filter((m) => m.role === 'assistant').length };
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const llm = await startScriptedLlm((request) => options.model(request));
  const dataDir = await makeTempDir('autocoder-api-');
  const token = options.token === undefined ? TOKEN : options.token;
  const env = readEnv(
    {
      OPENAI_API_KEY: 'sk-test-key-for-api-tests-abcdef',
      OPENAI_BASE_URL: llm.baseURL,
      AUTOCODER_DATA_DIR: dataDir,
      AUTOCODER_CONCURRENCY: String(options.concurrency ?? 2),
      AUTOCODER_MODEL: 'fix',
      ...(token ? { AUTOCODER_API_TOKEN: token } : {}),
      ...options.env,
    },
    dataDir,
  );
  const secrets = createSecretSet([env.openaiApiKey, env.apiToken]);
  const core = createCore(env, createLogger('silent', secrets.redact), secrets);
  const api = attachApi(core, { heartbeatMs: options.heartbeatMs });
  core.addHttpHandler(api.fallback);
  core.queue.start();
  const server: Server = createServer((req, res) => {
    void core.handle(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const api_ = (path: string, init: RequestInit & { auth?: boolean } = {}) => {
    const { auth = true, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (auth && token) headers.set('authorization', `Bearer ${token}`);
    if (rest.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
    return fetch(`${url}${path}`, { ...rest, headers });
  };
  const json = async (path: string, init?: RequestInit & { auth?: boolean }) => (await api_(path, init)).json();

  return {
    url,
    core,
    llm,
    dataDir,
    openStreams: () => api.openStreams(),
    api: api_,
    json,
    async submit(body) {
      const res = await api_('/api/tasks', { method: 'POST', body: JSON.stringify(body) });
      if (res.status !== 202) throw new Error(`POST /api/tasks answered ${res.status}: ${await res.text()}`);
      return res.json();
    },
    async waitForState(id, states, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const view = (await json(`/api/tasks/${id}`)) as TaskView;
        if (states.includes(view.state)) return view;
        if (Date.now() > deadline) throw new Error(`task ${id} is ${view.state}, not ${states.join('|')}: ${JSON.stringify(view)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const id of core.queue.running()) core.queue.abort(id);
      await core.stop(5_000).catch(() => undefined);
      await llm.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
}

/** Reads a server-sent-events answer: messages as they come, and when the server ended it. */
export async function readSse(res: Response, onMessage?: (message: SseMessage) => void): Promise<{ messages: SseMessage[]; comments: string[] }> {
  const messages: SseMessage[] = [];
  const comments: string[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const message: SseMessage = {};
      let isMessage = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) comments.push(line.slice(1).trim());
        else {
          const colon = line.indexOf(':');
          const field = line.slice(0, colon);
          const value = line.slice(colon + 1).replace(/^ /, '');
          if (field === 'id' || field === 'event' || field === 'data') {
            message[field] = value;
            isMessage = true;
          }
        }
      }
      if (isMessage) {
        messages.push(message);
        onMessage?.(message);
      }
    }
  }
  return { messages, comments };
}

/**
 * One harness and one temporary repository for all the tests of a file: started before them,
 * closed after. Read `stage.h` and `stage.repo` inside the tests (they exist once `beforeAll` ran).
 */
export function useHarness(options: HarnessOptions, files: Record<string, string>): { readonly h: Harness; readonly repo: TempRepo } {
  const stage = {} as { h: Harness; repo: TempRepo };
  beforeAll(async () => {
    stage.h = await startHarness(options);
    stage.repo = await makeTempRepo(files);
  });
  afterAll(async () => {
    await stage.h?.close();
    await stage.repo?.cleanup();
  });
  return stage;
}
