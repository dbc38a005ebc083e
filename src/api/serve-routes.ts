import type { Logger } from 'pino';
import type { HttpHandler } from '../runtime/core.js';
import { requireBearer } from './auth.js';
import { ApiError, sendError } from './http.js';
import { createRouter, type Route } from './router.js';

/**
 * Serves a list of routes as one HTTP handler: requests to other paths pass to the next handler.
 * With a token, every route that does not opt out needs it; errors become `{ error }` answers.
 */
export function serveRoutes(routes: Route[], options: { token?: string; log: Logger }): HttpHandler {
  const route = createRouter(routes);
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = route(req.method ?? 'GET', url.pathname);
    if (!match) return false;
    try {
      const auth = 'route' in match ? match.route.doc.auth !== false : true;
      if (options.token && auth) requireBearer(req, options.token);
      if (!('route' in match)) {
        throw new ApiError(405, 'method_not_allowed', `${req.method} is not allowed on ${url.pathname}; use ${match.allowed.join(' or ')}`, {
          allow: match.allowed.join(', '),
        });
      }
      await match.route.handle({ req, res, url, params: match.params });
    } catch (error) {
      if (res.headersSent) {
        options.log.error({ err: error, url: url.pathname }, 'api route failed after answering');
        res.destroy();
      } else if (error instanceof ApiError) {
        sendError(res, error);
      } else {
        options.log.error({ err: error, url: url.pathname }, 'api route failed');
        sendError(res, new ApiError(500, 'internal', 'the server failed to answer; see its log'));
      }
    }
    return true;
  };
}
