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
    if (bindings?.name === 'http' && !log.isLevelEnabled('debug')) {
      child.level = 'warn';
      return withLazyChildren(child as unknown as Logger);
    }
    return child;
  }) as Logger['child'];
  return wrapper;
}

const BINDINGS = Symbol('bindings');
const REAL = Symbol('real');
type LazyLogger = Logger & { [BINDINGS]: Record<string, unknown>; [REAL]?: Logger };

/**
 * pino-http makes a child logger per request (`{ req }`), and pino serializes and redacts a
 * child's bindings when it is made: with the request log at `warn`, that was most of what the
 * log cost per delivery, for a child that almost never writes. So the children of the quiet
 * `http` logger (those made without options; pino-http's own, made once with options, is real)
 * are made for real only when they write a line at an enabled level (a failed request), or when
 * asked for their own child or bindings. Their level is the parent's; setting one is not
 * supported (nothing does).
 */
function withLazyChildren(logger: Logger): Logger {
  type ChildFn = (this: Logger, bindings: Record<string, unknown>, options?: Parameters<Logger['child']>[1]) => Logger;
  const pinoChild = logger.child as unknown as ChildFn;
  const real = (lazy: LazyLogger): Logger => (lazy[REAL] ??= pinoChild.call(logger, lazy[BINDINGS]));
  const proto = Object.create(logger) as Record<string | symbol, unknown>;
  for (const level of Object.keys(logger.levels.values)) {
    proto[level] = function (this: LazyLogger, ...args: unknown[]) {
      if (!logger.isLevelEnabled(level)) return;
      (real(this) as unknown as Record<string, (...a: unknown[]) => void>)[level](...args);
    };
  }
  proto.child = function (this: LazyLogger, bindings: Record<string, unknown>, options?: Parameters<Logger['child']>[1]) {
    return pinoChild.call(real(this), bindings, options);
  };
  proto.bindings = function (this: LazyLogger) {
    return real(this).bindings();
  };
  logger.child = function (this: Logger, bindings: Record<string, unknown>, options?: Parameters<Logger['child']>[1]) {
    // The real children inherit this method: theirs are pino's own.
    if (this !== logger) return pinoChild.call(this, bindings, options);
    if (options) return withLazyChildren(pinoChild.call(logger, bindings, options));
    const lazy = Object.create(proto) as LazyLogger;
    lazy[BINDINGS] = bindings;
    return lazy;
  } as unknown as Logger['child'];
  return logger;
}
