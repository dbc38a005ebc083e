/**
 * One client per installation, made on first use and kept. Probot's `app.auth(id)` builds a new
 * Octokit on every call (plugins, hooks, the REST methods), which cost more CPU than storing a
 * webhook delivery; the client it builds authenticates each request through the token cache, so
 * a kept one keeps getting valid tokens. A failed creation is not kept; the oldest client goes
 * when `max` installations are held.
 */
export function cachedClients<T>(create: (installationId: number) => Promise<T>, max = 1_000): (installationId: number) => Promise<T> {
  const clients = new Map<number, Promise<T>>();
  return (installationId) => {
    const known = clients.get(installationId);
    if (known) return known;
    const made = create(installationId);
    clients.set(installationId, made);
    if (clients.size > max) clients.delete(clients.keys().next().value!);
    made.catch(() => {
      if (clients.get(installationId) === made) clients.delete(installationId);
    });
    return made;
  };
}
