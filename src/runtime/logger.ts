import { IncomingMessage, ServerResponse } from 'node:http';
import { pino, type Logger } from 'pino';
import { redactDeep, type Redactor } from '../util/redact.js';

/**
 * The process's logger: JSON lines on standard error, every string in every record passed
 * through the redactor, so a secret that reaches a log call still never reaches the log.
 */
export function createLogger(level: string, redact: Redactor, destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino(
    {
      level,
      base: { name: 'autocoder' },
      // Probot's request log serializes headers after the formatter below has run, so the
      // redactor never sees them: the API's bearer token would be logged with every request.
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["proxy-authorization"]'], censor: '[REDACTED]' },
      formatters: {
        // Errors first become plain objects (their message and stack are not enumerable), then every string is redacted.
        // Requests and responses (Probot's request log) are left to pino-http's serializers: walking
        // one means walking its socket, server and parser, a third of the CPU of a webhook.
        log: (record) => {
          const http: Record<string, unknown> = {};
          const rest: Record<string, unknown> = {};
          for (const [key, value] of Object.entries(record)) {
            if (value instanceof IncomingMessage || value instanceof ServerResponse) http[key] = value;
            else rest[key] = value instanceof Error ? pino.stdSerializers.err(value) : value;
          }
          return { ...redactDeep(rest, redact), ...http };
        },
      },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((arg) => (typeof arg === 'string' ? redact(arg) : arg)) as Parameters<typeof method>);
        },
      },
    },
    destination as pino.DestinationStream,
  );
}

/**
 * The logger to hand Probot: the same, except that Probot's request log (pino-http, one `info`
 * line per HTTP request, under the child named `http`) only shows at `LOG_LEVEL=debug`. Under a
 * burst of webhook deliveries that line was the largest cost of taking one in after storing it;
 * every delivery is in the store and on the dashboard anyway, and failures log on their own.
 */
export function withRequestLogAtDebug(log: Logger): Logger {
  const wrapper = Object.create(log) as Logger;
  wrapper.child = ((bindings: Record<string, unknown>, options?: Parameters<Logger['child']>[1]) => {
    const child = log.child(bindings, options);
    if (bindings?.name === 'http' && !log.isLevelEnabled('debug')) child.level = 'warn';
    return child;
  }) as Logger['child'];
  return wrapper;
}
