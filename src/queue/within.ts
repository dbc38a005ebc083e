/**
 * The promise's outcome, or 'timeout' after `ms`: for shutdown steps that talk to Redis, which
 * would otherwise wait for ever while Redis is down (commands wait for the reconnection).
 */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
