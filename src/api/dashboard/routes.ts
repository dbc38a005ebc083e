import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { posix } from 'node:path';
import type { Core, HttpHandler } from '../../runtime/core.js';
import { APP_PREFIX, ENTRY_MODULE, ICON_SVG, renderPage } from './page.js';
import { STYLES } from './styles.js';

/**
 * The dashboard: one page, a stylesheet, and the client's ES modules served from the build
 * (dist/), so the browser runs the same compiled `engine/describe.js` the CLI does. Only the
 * modules the client entry reaches by relative imports are served, never the rest of dist/.
 */

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

interface Asset {
  type: string;
  body: Buffer;
  etag: string;
}

function asset(type: string, body: string | Buffer): Asset {
  const buffer = typeof body === 'string' ? Buffer.from(body) : body;
  return { type, body: buffer, etag: `"${createHash('sha1').update(buffer).digest('base64url')}"` };
}

/** `from './x.js'`, `import './x.js'`, `import('./x.js')`: the relative specifiers of compiled ESM. */
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+\.js)['"]/g;

/** The entry module and every module it reaches by relative imports, by path under dist/. */
async function loadModuleGraph(distRoot: URL, entry: string): Promise<Map<string, Asset>> {
  const modules = new Map<string, Asset>();
  const pending = [entry];
  while (pending.length > 0) {
    const path = pending.pop()!;
    if (modules.has(path)) continue;
    let source: string;
    try {
      source = await readFile(new URL(path, distRoot), 'utf8');
    } catch (error) {
      // Only the entry is required: a stray match of the pattern in a string is not a module.
      if (path === entry) throw error;
      continue;
    }
    // The source map points at src/, which a deployment does not ship.
    modules.set(path, asset('text/javascript; charset=utf-8', source.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n')));
    for (const match of source.matchAll(IMPORT)) {
      const target = posix.normalize(posix.join(posix.dirname(path), match[1]));
      if (!target.startsWith('../')) pending.push(target);
    }
  }
  return modules;
}

export interface DashboardOptions {
  /** Without it the REST API is off, and so is the dashboard. */
  apiToken?: string;
  /** GitHub's web address, for issue and repository links: `https://github.com` or the GHE host. */
  githubWebUrl: string;
  /** The build's root (dist/). Default: found from this module's own place in it. */
  distRoot?: URL;
}

function send(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string>, body: Buffer | string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers });
  res.end(req.method === 'HEAD' ? undefined : body);
}

export function createDashboardHandler(options: DashboardOptions): HttpHandler {
  const distRoot = options.distRoot ?? new URL('../../', import.meta.url);
  const page = renderPage({ githubWebUrl: options.githubWebUrl });
  const fixed = new Map<string, Asset>([
    ['styles.css', asset('text/css; charset=utf-8', STYLES)],
    ['icon.svg', asset('image/svg+xml', ICON_SVG)],
  ]);
  // Read once, on first use; a failed read is retried on the next request.
  let modules: Promise<Map<string, Asset>> | undefined;

  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    // Reached only when nothing before answered `/` (Probot's setup flow does, when it runs).
    if (path === '/' && options.apiToken) {
      res.writeHead(302, { location: '/dashboard', 'content-type': 'text/plain' }).end('Found. Redirecting to /dashboard');
      return true;
    }
    if (path !== '/dashboard' && !path.startsWith('/dashboard/')) return false;
    if (!options.apiToken) {
      send(req, res, 404, { 'content-type': 'text/plain; charset=utf-8' }, 'The dashboard is off: set AUTOCODER_API_TOKEN to turn on the REST API and the dashboard.\n');
      return true;
    }
    if (path === '/dashboard' || path === '/dashboard/') {
      send(req, res, 200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }, page);
      return true;
    }
    const name = path.startsWith(APP_PREFIX) ? path.slice(APP_PREFIX.length) : '';
    let found = fixed.get(name);
    if (!found && name.endsWith('.js')) {
      modules ??= loadModuleGraph(distRoot, ENTRY_MODULE).catch((error: unknown) => {
        modules = undefined;
        throw error;
      });
      try {
        found = (await modules).get(name);
      } catch {
        send(req, res, 503, { 'content-type': 'text/plain; charset=utf-8' }, 'The dashboard is not built: run `npm run build`.\n');
        return true;
      }
    }
    if (!found) {
      send(req, res, 404, { 'content-type': 'text/plain; charset=utf-8' }, 'Not found\n');
      return true;
    }
    // Revalidated on every load, so an upgrade is picked up at once; a 304 costs one round trip.
    const headers = { 'content-type': found.type, 'cache-control': 'no-cache', etag: found.etag };
    if (req.headers['if-none-match'] === found.etag) send(req, res, 304, headers, '');
    else send(req, res, 200, headers, found.body);
    return true;
  };
}

function githubWebUrl(env: Core['env']): string {
  return env.gheHost ? `${env.gheProtocol}://${env.gheHost}` : 'https://github.com';
}

/** Adds the dashboard's routes to a server process. */
export function addDashboardRoutes(core: Core): void {
  core.addHttpHandler(createDashboardHandler({ apiToken: core.env.apiToken, githubWebUrl: githubWebUrl(core.env) }));
}
