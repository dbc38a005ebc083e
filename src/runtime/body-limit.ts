import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ApiError, readBodyBytes } from '../api/http.js';

/**
 * The largest webhook delivery read. GitHub itself caps deliveries at 25 MB, but the events
 * autocoder subscribes to (issues, comments, pull requests, reviews) carry a few texts of at most
 * 65,536 characters each: a real one stays far below 1 MB. Anything bigger is an attack on
 * memory, since the body must be held in full before its signature can be checked.
 */
export const MAX_WEBHOOK_BYTES = 5 * 1024 * 1024;

/** A refused body is read and dropped up to this much, so the sender reads the 413; then the connection is cut. */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export interface BodyLimitOptions {
  /** The webhook path (`WEBHOOK_PATH`); trailing slashes are ignored, as Probot's middleware does. */
  webhookPath: string;
  maxBytes?: number;
  log?: Logger;
  /**
   * What takes a webhook POST once its body is read (src/github/webhook-receiver.ts). Without it
   * the body is handed on to the server's own listeners as `req.body`, which Probot's middleware
   * takes as the payload instead of reading it again.
   */
  onBody?: (req: IncomingMessage, res: ServerResponse, body: Buffer) => unknown;
}

const trimSlashes = (path: string) => path.replace(/\/+$/, '') || '/';

/**
 * Probot's webhook middleware (@octokit/webhooks) reads a delivery's whole body into memory, with
 * no limit, before anything else looks at it; and it is the first handler of Probot's server, so
 * no route of ours runs before it. So this takes the server's `request` listeners over: a webhook
 * POST that declares a larger body is answered 413 at once without being read; any other is read
 * here, refused past the limit (a chunked body declares nothing), and handed on as text, which
 * the middleware takes as the payload (`req.body` as a string) instead of reading it again.
 */
export function limitRequestBodies(server: Server, options: BodyLimitOptions): void {
  const maxBytes = options.maxBytes ?? MAX_WEBHOOK_BYTES;
  const webhookPath = trimSlashes(options.webhookPath);
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  const pass = (req: IncomingMessage, res: ServerResponse) => {
    for (const listener of listeners) listener.call(server, req, res);
  };

  const refuse = (req: IncomingMessage, res: ServerResponse, declared?: number) => {
    options.log?.warn(
      { path: req.url, bytes: declared, limit: maxBytes, event: req.headers['x-github-event'], deliveryId: req.headers['x-github-delivery'] },
      'request body too large: refused',
    );
    if (!res.headersSent) {
      const body = JSON.stringify({ error: `Payload Too Large: the request body is larger than ${maxBytes} bytes` });
      res.writeHead(413, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
    }
    let drained = 0;
    req.on('data', (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > DRAIN_LIMIT_BYTES) req.destroy();
    });
    req.on('error', () => undefined);
    req.resume();
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    let pathname: string;
    const url = req.url ?? '/';
    // What GitHub sends, the path itself, needs no URL parsed (a third of this listener's time).
    if (url === webhookPath) pathname = url;
    else {
      try {
        pathname = trimSlashes(new URL(url, 'http://localhost').pathname);
      } catch {
        return pass(req, res);
      }
    }
    // Other routes read their own bodies, with their own limits (the REST API's is 1 MB).
    if (req.method !== 'POST' || pathname !== webhookPath) return pass(req, res);
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) return refuse(req, res, declared);
    readBodyBytes(req, maxBytes).then(
      (bytes) => {
        if (options.onBody) return options.onBody(req, res, bytes);
        (req as IncomingMessage & { body?: string }).body = bytes.toString('utf8');
        pass(req, res);
      },
      (error: unknown) => {
        if (error instanceof ApiError && error.status === 413) return refuse(req, res);
        options.log?.warn({ err: error, path: req.url }, 'webhook body could not be read');
        if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'the request body could not be read' }));
      },
    )
      // Whatever took the body failed in a way it did not answer: a 500, never an unhandled
      // rejection, which would end the whole process over one request.
      .catch((error: unknown) => {
        options.log?.error({ err: error, path: req.url }, 'webhook delivery could not be handled');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'autocoder could not take this delivery in; deliver it again later' }));
      });
  });
}
