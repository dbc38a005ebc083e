import { statfs } from 'node:fs/promises';
import type { Core } from '../runtime/core.js';
import type { Health } from './schemas.js';

/** Below this much free space in the data directory, clones and the store start failing. */
export const MIN_FREE_BYTES = 100 * 1024 * 1024;

/**
 * Whether this process can do its work: the store answers, the data disk has room, and with
 * REDIS_URL Redis answers (else webhook deliveries get a 503 and no run can be queued); and how busy it is.
 */
export async function checkHealth(core: Core, minFreeBytes = MIN_FREE_BYTES): Promise<Health> {
  const reasons: string[] = [];
  let tasks: Record<string, number> = {};
  let store: Health['store'] = 'ok';
  try {
    tasks = core.store.countByState();
  } catch (error) {
    store = 'unreachable';
    reasons.push(`the store does not answer: ${(error as Error).message}`);
  }
  let freeBytes: number | null = null;
  try {
    const fs = await statfs(core.env.dataDir);
    freeBytes = fs.bavail * fs.bsize;
    if (freeBytes < minFreeBytes) reasons.push(`only ${freeBytes} bytes are free in ${core.env.dataDir}`);
  } catch (error) {
    reasons.push(`the data directory cannot be read: ${(error as Error).message}`);
  }
  // Bounded by the queue's own check (a PING given 400 ms on its fail-fast connection), so a
  // probe answers in well under a second while Redis is gone. The URL may carry a password: only its name is said.
  const backend: Health['queue']['backend'] = core.env.redisUrl ? 'redis' : 'embedded';
  let redis: Health['queue']['redis'];
  if (backend === 'redis') {
    redis = (await core.queueReady().catch(() => false)) ? 'ok' : 'unreachable';
    if (redis === 'unreachable') reasons.push('Redis (REDIS_URL) does not answer: webhook deliveries are refused and no run can be queued');
  }
  return {
    ok: reasons.length === 0,
    ...(reasons.length ? { reason: reasons.join('; ') } : {}),
    store,
    disk: { path: core.env.dataDir, freeBytes, minFreeBytes },
    queue: { backend, ...(redis ? { redis } : {}), depth: tasks.queued ?? 0, running: tasks.running ?? 0, concurrency: core.env.concurrency },
    tasks,
  };
}
