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
        log: (record) =>
          redactDeep(
            Object.fromEntries(Object.entries(record).map(([key, value]) => [key, value instanceof Error ? pino.stdSerializers.err(value) : value])),
            redact,
          ),
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
