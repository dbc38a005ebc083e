/** Resolves after `ms`, or at once when `signal` aborts. */
export function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

/** Waits between reconnections: 1 s, 2 s, 4 s... up to 15 s, back to 1 s once connected. */
export function backoff() {
  let delay = 1000;
  return {
    next: () => {
      const current = delay;
      delay = Math.min(delay * 2, 15_000);
      return current;
    },
    reset: () => (delay = 1000),
  };
}
