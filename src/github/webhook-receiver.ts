import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { WebhookOutcome } from '../api/metrics.js';

/** One verified delivery, as a handler sees it: what Probot's context carries of it, minus the client. */
export interface WebhookDelivery<Payload = unknown> {
  id: string;
  /** The event (`X-GitHub-Event`), e.g. `issues`. */
  name: string;
  payload: Payload;
}

/** Handlers by `event.action` (or by event alone); each resolves once the delivery is safe. */
export type WebhookHandlers = Record<string, (delivery: WebhookDelivery<never>) => Promise<void>>;

export interface WebhookReceiverOptions {
  /** `WEBHOOK_SECRET`; Probot's own default when it is unset, so the two always agree. */
  secret: string;
  handlers: WebhookHandlers;
  log: Logger;
  metrics?: { webhookDelivery(event: string, outcome: WebhookOutcome): void };
  /** False while a delivery cannot be taken in (Redis down): it is answered 503 and nothing is stored. */
  accepting?: () => boolean | Promise<boolean>;
  /** Why `accepting` said no, for the 503's body. */
  refusal?: string;
}

/** `X-Hub-Signature-256` over the raw body: `sha256=` and the hex HMAC with the webhook secret. */
export function signatureMatches(secret: string, body: Buffer | string, signature: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const REQUIRED_HEADERS = ['x-github-event', 'x-hub-signature-256', 'x-github-delivery'] as const;
const JSON_TYPE = /^\s*application\/json\s*(?:;|$)/iu;

function answer(res: ServerResponse, status: number, body: string, type = 'application/json'): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

const fail = (res: ServerResponse, status: number, error: string) => answer(res, status, JSON.stringify({ error }));

/**
 * The webhook path's POSTs, once their body is read (src/runtime/body-limit.ts): checked as
 * Probot's middleware checks them (content type, headers, signature, JSON; the same statuses),
 * then handed straight to the handlers, and answered when they resolve.
 *
 * This replaces Probot's webhook middleware on the HTTP path because of what that costs per
 * delivery: before any handler runs it builds an installation-authenticated Octokit and a child
 * logger for the event's context, which the handlers here never use (they only store the
 * delivery; the intake authenticates later, with cached clients). Measured with `npm run bench --
 * intake`, that was over a third of the app's CPU per delivery. `probot.receive` still reaches
 * the same handlers through Probot (see createGithubApp), so nothing else changes.
 */
export function createWebhookReceiver(options: WebhookReceiverOptions) {
  const { handlers, log, metrics } = options;
  return async function receiveWebhook(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const type = req.headers['content-type'];
    if (typeof type !== 'string' || !JSON_TYPE.test(type)) return fail(res, 415, 'Unsupported "Content-Type" header value. Must be "application/json"');
    const missing = REQUIRED_HEADERS.filter((header) => typeof req.headers[header] !== 'string');
    if (missing.length) return fail(res, 400, `Required headers missing: ${missing.join(', ')}`);
    const name = req.headers['x-github-event'] as string;
    const id = req.headers['x-github-delivery'] as string;
    if (!signatureMatches(options.secret, body, req.headers['x-hub-signature-256'] as string)) {
      metrics?.webhookDelivery(name, 'invalid_signature');
      log.warn({ event: name, delivery: id }, 'webhook delivery refused: the signature does not match the payload and WEBHOOK_SECRET');
      return fail(res, 401, 'signature does not match event payload and secret');
    }
    if (options.accepting && !(await Promise.resolve().then(options.accepting).catch(() => false))) {
      log.warn({ event: name, delivery: id }, 'webhook delivery refused: it cannot be queued right now');
      res.setHeader('retry-after', '30');
      return fail(res, 503, options.refusal ?? 'autocoder cannot take deliveries in right now. Deliver this webhook again later.');
    }
    let payload: { action?: unknown } | null;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch (error) {
      payload = null;
      log.warn({ event: name, delivery: id, reason: (error as Error).message }, 'webhook delivery refused: the payload is not JSON');
    }
    if (typeof payload !== 'object' || payload === null) {
      metrics?.webhookDelivery(name, 'error');
      return fail(res, 400, 'the payload is not a JSON object');
    }
    const handler = (typeof payload?.action === 'string' && handlers[`${name}.${payload.action}`]) || handlers[name];
    try {
      await handler?.({ id, name, payload: payload as never });
    } catch (error) {
      metrics?.webhookDelivery(name, 'error');
      log.error({ err: error, event: name, delivery: id }, 'webhook handler failed');
      // GitHub shows this body to whoever looks at the delivery: what went wrong is in the log.
      return fail(res, 500, 'autocoder could not take this delivery in; deliver it again later');
    }
    metrics?.webhookDelivery(name, 'accepted');
    answer(res, 200, 'ok\n', 'text/plain');
  };
}
