import type { Core } from '../runtime/core.js';
import { sendJson } from './http.js';
import { checkHealth } from './health.js';
import type { Metrics } from './metrics.js';
import type { Route } from './router.js';
import { errorSchema, healthSchema } from './schemas.js';

/** Routes every server has, with or without the API: health (never a token) and metrics. */
export function baseRoutes(core: Core, metrics: Metrics): Route[] {
  return [
    {
      method: 'GET',
      path: '/healthz',
      doc: { summary: 'Health: the store answers, the data disk has room, Redis answers (with REDIS_URL); queue depth', auth: false, responses: { 200: healthSchema, 503: healthSchema } },
      async handle({ res }) {
        const health = await checkHealth(core);
        sendJson(res, health.ok ? 200 : 503, health);
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      // Needs the bearer token when AUTOCODER_API_TOKEN is set (configure the scraper's
      // `authorization`), and none when it is not.
      doc: {
        summary: 'Prometheus metrics (text format)',
        description: 'Needs the bearer token when AUTOCODER_API_TOKEN is set.',
        responses: { 200: { mediaType: 'text/plain', description: 'Prometheus text exposition format 0.0.4' }, 401: errorSchema },
      },
      async handle({ res }) {
        const { contentType, body } = await metrics.render();
        res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body);
      },
    },
  ];
}
