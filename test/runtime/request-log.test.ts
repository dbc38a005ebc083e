import { describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import { pinoHttp } from 'pino-http';
import { createLogger, withRequestLogAtDebug } from '../../src/runtime/logger.js';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const log = createLogger(level, (text) => text.split('ghs_secret-value-1234').join('[REDACTED]'), destination);
  return { log, lines };
}

/** One request through pino-http on the child Probot's server makes (`log.child({ name: 'http' })`). */
async function oneRequest(log: ReturnType<typeof createLogger>, handle?: (req: IncomingMessage) => void): Promise<void> {
  const requestLog = pinoHttp({ logger: log.child({ name: 'http' }) });
  const server = createServer((req, res) => {
    requestLog(req, res);
    handle?.(req);
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await (await fetch(`http://127.0.0.1:${port}/api/github/webhooks`, { method: 'POST', body: '{}' })).text();
  await new Promise((resolve) => setTimeout(resolve, 20));
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('withRequestLogAtDebug', () => {
  it('keeps the request log out at info, and everything else in', async () => {
    const { log, lines } = capture('info');
    const probotLog = withRequestLogAtDebug(log);
    await oneRequest(probotLog);
    expect(lines.filter((l) => l.msg === 'request completed')).toEqual([]);
    probotLog.child({ name: 'probot' }).info('app loaded');
    probotLog.warn('token ghs_secret-value-1234 seen');
    expect(lines.map((l) => l.msg)).toEqual(['app loaded', 'token [REDACTED] seen']);
  });

  it('shows the request log at debug, with status and url', async () => {
    const { log, lines } = capture('debug');
    await oneRequest(withRequestLogAtDebug(log));
    const request = lines.find((l) => l.msg === 'request completed') as { req: { url: string }; res: { statusCode: number } } | undefined;
    expect(request?.req.url).toBe('/api/github/webhooks');
    expect(request?.res.statusCode).toBe(200);
  });

  it('writes what a request logger is asked to at warn, with the request', async () => {
    const { log, lines } = capture('info');
    const probotLog = withRequestLogAtDebug(log);
    await oneRequest(probotLog, (req) => {
      req.log.info('not shown');
      req.log.warn('slow: token ghs_secret-value-1234');
      req.log.child({ step: 1 }).error('boom');
    });
    expect(lines.map((l) => l.msg)).toEqual(['slow: token [REDACTED]', 'boom']);
    expect(lines[0]).toMatchObject({ name: 'http', req: { method: 'POST', url: '/api/github/webhooks' } });
    expect(lines[1]).toMatchObject({ step: 1, req: { url: '/api/github/webhooks' } });
    const perRequest = probotLog.child({ name: 'http' }).child({ req: { url: '/x' } });
    expect(perRequest.bindings()).toMatchObject({ name: 'http', req: { url: '/x' } });
  });
});
