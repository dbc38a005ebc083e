import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface RedisOptions {
  /** Commands fail at once while disconnected, rather than waiting in the offline queue (health checks). */
  failFast?: boolean;
  log: Logger;
  /** What the connection is for, in its log lines. */
  role: string;
}

/** The URL without its password, for logs and error messages. */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'an invalid REDIS_URL';
  }
}

/**
 * One ioredis connection. BullMQ's workers need `maxRetriesPerRequest: null` (a command waits for
 * the reconnection instead of failing); reconnection is retried for ever, at most a second apart,
 * so a restarted Redis is picked up quickly. Errors are logged once per outage, not per retry.
 */
export function connectRedis(url: string, options: RedisOptions): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: options.failFast ? 0 : null,
    enableOfflineQueue: !options.failFast,
    retryStrategy: (times) => Math.min(100 * times, 1000),
    connectionName: `autocoder-${options.role}`,
    lazyConnect: false,
  });
  let down = false;
  redis.on('error', (error) => {
    if (down) return;
    down = true;
    options.log.warn({ err: error, redis: describeRedisUrl(url), role: options.role }, 'Redis connection lost; reconnecting');
  });
  redis.on('ready', () => {
    if (down) options.log.info({ redis: describeRedisUrl(url), role: options.role }, 'Redis connection back');
    down = false;
  });
  return redis;
}

/**
 * A listener for BullMQ's `error` events: those of a lost connection come once per retry, and
 * the connection's own line says it is lost already, so only errors while connected are logged.
 */
export function logQueueErrors(redis: Redis, log: Logger, message: string): (error: Error) => void {
  return (error) => {
    if (redis.status === 'ready' && !/ECONNREFUSED|ECONNRESET|Connection is closed/.test(error.message)) log.warn({ err: error }, message);
  };
}

/**
 * True when Redis answers a PING within the time limit. A connection that is (re)connecting gets
 * that long to get there, so a process that just started does not turn its first request away.
 */
export async function redisAnswers(redis: Redis, timeoutMs = 400): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  let onReady: (() => void) | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const ready =
    redis.status === 'ready'
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          onReady = resolve;
          redis.once('ready', onReady);
        });
  try {
    return await Promise.race([ready.then(() => redis.ping()).then((answer) => answer === 'PONG', () => false), timeout]);
  } finally {
    clearTimeout(timer);
    if (onReady) redis.off('ready', onReady);
  }
}
