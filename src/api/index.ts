import { readFileSync } from 'node:fs';
import type { Core, HttpHandler } from '../runtime/core.js';
import { createApiRunner } from './api-runner.js';
import { hasBearer, unauthorized } from './auth.js';
import { baseRoutes } from './base-routes.js';
import { ApiError, sendError, sendJson } from './http.js';
import { createMetrics, type Metrics } from './metrics.js';
import { buildOpenApi } from './openapi.js';
import type { Route } from './router.js';
import { serveRoutes } from './serve-routes.js';
import { SseHub } from './sse.js';
import { taskRoutes } from './task-routes.js';

export { toTaskView, currentView, queuePositions, taskViewSchema, type TaskView } from './task-view.js';
export { hasBearer, requireBearer } from './auth.js';
export type { Metrics } from './metrics.js';

export interface ApiOptions {
  /** Between SSE heartbeat comments (tests shorten it). */
  heartbeatMs?: number;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/**
 * The REST front-end on the core: the executor of API tasks (always, so tasks queued before a
 * restart without the token still run), `/healthz` and `/metrics`, and, when AUTOCODER_API_TOKEN
 * is set, the `/api` routes. Returns the metrics (for webhook counts) and the handler that must be
 * added last: it answers `/api/*` paths no other handler took; and `stop` for shutdown.
 */
export function attachApi(core: Core, options: ApiOptions = {}): { metrics: Metrics; fallback: HttpHandler; openStreams(): number; stop(): void } {
  const token = core.env.apiToken;
  const metrics = createMetrics(core);
  core.addExecutor('api', createApiRunner(core));

  const base = baseRoutes(core, metrics);
  const hub = new SseHub(options.heartbeatMs);
  const routes: Route[] = token ? taskRoutes(core, hub) : [];
  let description: Record<string, unknown> | undefined;
  const openapi: Route = {
    method: 'GET',
    path: '/api/openapi.json',
    doc: { summary: 'This description (OpenAPI 3.1)', responses: { 200: { mediaType: 'application/json', description: 'An OpenAPI 3.1 document' } } },
    handle({ res }) {
      description ??= buildOpenApi([...routes, openapi, ...base], { version: packageVersion() });
      sendJson(res, 200, description);
    },
  };
  core.addHttpHandler(serveRoutes(base, { token, log: core.log }));
  if (token) core.addHttpHandler(serveRoutes([...routes, openapi], { token, log: core.log }));
  return {
    metrics,
    fallback: apiFallback(core),
    /** Event streams open now. */
    openStreams: () => hub.size,
    /** Ends every open event stream (before the HTTP server is closed) and the metrics' listeners. */
    stop() {
      hub.endAll();
      metrics.stop();
    },
  };
}

/** `/api/*` that nothing answered: 404 when the API is off, else 401 without the token, else 404. */
function apiFallback(core: Core): HttpHandler {
  const token = core.env.apiToken;
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (!(path === '/api' || path.startsWith('/api/')) || path === core.env.webhookPath) return false;
    if (!token) {
      sendError(res, new ApiError(404, 'api_disabled', 'the REST API is off: set AUTOCODER_API_TOKEN on the server to turn it on'));
    } else if (!hasBearer(req, token)) {
      sendError(res, unauthorized());
    } else {
      sendError(res, new ApiError(404, 'not_found', `there is no route ${req.method} ${path}`));
    }
    return true;
  };
}
