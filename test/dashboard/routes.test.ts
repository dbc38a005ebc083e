/** The dashboard's route handler on a plain node:http server: what it serves, and what it never does. */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardHandler, type DashboardOptions } from '../../src/api/dashboard/routes.js';
import { makeTempDir } from '../helpers/temp-repo.js';

let dist: string;
const servers: Server[] = [];

async function serve(options: Partial<DashboardOptions>): Promise<string> {
  const handler = createDashboardHandler({ githubWebUrl: 'https://ghe.example.com', distRoot: pathToFileURL(`${dist}/`), ...options });
  const server = createServer(async (req, res) => {
    if (!(await handler(req, res))) res.writeHead(418).end();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A request whose path is sent as written: fetch would resolve the dots first. */
function rawStatus(url: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    get({ hostname, port, path }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

beforeAll(async () => {
  // A stand-in build: the entry reaches two modules; a third sits beside them unreached.
  dist = await makeTempDir('autocoder-dist-');
  const files: Record<string, string> = {
    'api/dashboard/client/main.js': "import { a } from './a.js';\nimport { describeEvent } from '../../../engine/describe.js';\n//# sourceMappingURL=main.js.map",
    'api/dashboard/client/a.js': 'export const a = 1;\n',
    'api/dashboard/client/unused.js': 'export const secret = 1;\n',
    'engine/describe.js': "export function describeEvent() {}\nimport('./not-there.js');\n",
    'runtime/core.js': 'export {};\n',
  };
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dist, path, '..'), { recursive: true });
    await writeFile(join(dist, path), text);
  }
});

afterAll(async () => {
  for (const server of servers) server.close();
  await rm(dist, { recursive: true, force: true });
});

describe('dashboard routes', () => {
  it('serves the page uncached under a strict CSP, with the GitHub address for links', async () => {
    const url = await serve({ apiToken: 't' });
    for (const path of ['/dashboard', '/dashboard/', '/dashboard?task=x']) {
      const res = await fetch(url + path);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'; script-src 'self'");
      expect(await res.text()).toContain('data-github-url="https://ghe.example.com"');
    }
    const redirect = await fetch(`${url}/`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([302, '/dashboard']);
    expect((await fetch(`${url}/other`)).status).toBe(418);
    expect((await fetch(`${url}/dashboard`, { method: 'POST' })).status).toBe(418);
  });

  it('serves only the modules the entry reaches, without source-map links, revalidated by ETag', async () => {
    const url = await serve({ apiToken: 't' });
    const main = await fetch(`${url}/dashboard/app/api/dashboard/client/main.js`);
    expect(main.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(main.headers.get('cache-control')).toBe('no-cache');
    expect(await main.text()).not.toContain('sourceMappingURL');
    expect((await fetch(`${url}/dashboard/app/api/dashboard/client/a.js`)).status).toBe(200);
    expect((await fetch(`${url}/dashboard/app/engine/describe.js`)).status).toBe(200);
    for (const path of ['api/dashboard/client/unused.js', 'runtime/core.js', 'engine/not-there.js', 'api/dashboard/client/']) {
      expect((await fetch(`${url}/dashboard/app/${path}`)).status, path).toBe(404);
    }
    // Dots are resolved before anything is looked up: out of /dashboard/ it is not the dashboard's to answer.
    expect(await rawStatus(url, '/dashboard/app/../../runtime/core.js')).toBe(418);
    expect(await rawStatus(url, '/dashboard/app/%2e%2e/%2e%2e/runtime/core.js')).toBe(418);
    expect(await rawStatus(url, '/dashboard/app/engine/../runtime/core.js')).toBe(404);
    const again = await fetch(`${url}/dashboard/app/styles.css`, { headers: { 'if-none-match': (await fetch(`${url}/dashboard/app/styles.css`)).headers.get('etag')! } });
    expect(again.status).toBe(304);
  });

  it('is off without AUTOCODER_API_TOKEN, and says how to turn it on; `/` is left alone', async () => {
    const url = await serve({ apiToken: undefined });
    const res = await fetch(`${url}/dashboard`);
    expect(res.status).toBe(404);
    expect(await res.text()).toMatch(/set AUTOCODER_API_TOKEN/);
    expect((await fetch(`${url}/`)).status).toBe(418);
  });

  it('says the dashboard is not built when the build has no client', async () => {
    const url = await serve({ apiToken: 't', distRoot: pathToFileURL(`${dist}/nowhere/`) });
    const res = await fetch(`${url}/dashboard/app/api/dashboard/client/main.js`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/npm run build/);
  });
});

describe('the real build', () => {
  it('gives the browser modules that import only each other: no node built-ins, no packages', async () => {
    // dist/ is built by the global setup; the handler finds it from its own place there.
    const built = '../../dist/api/dashboard/routes.js'; // a variable: typechecking does not need a build
    const { createDashboardHandler: real } = (await import(built)) as typeof import('../../src/api/dashboard/routes.js');
    const handler = real({ apiToken: 't', githubWebUrl: 'https://github.com' });
    const server = createServer(async (req, res) => {
      if (!(await handler(req, res))) res.writeHead(418).end();
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dashboard/app/`;
    const seen = new Set<string>();
    const pending = ['api/dashboard/client/main.js'];
    while (pending.length > 0) {
      const path = pending.pop()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const res = await fetch(base + path);
      expect(res.status, path).toBe(200);
      for (const [, specifier] of (await res.text()).matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)) {
        expect(specifier, `${path} imports ${specifier}`).toMatch(/^\.{1,2}\//);
        pending.push(new URL(specifier, `http://x/${path}`).pathname.slice(1));
      }
    }
    expect(seen).toContain('engine/describe.js');
  });
});
