import { statfs } from 'node:fs/promises';
import type { Core } from '../runtime/core.js';
import type { Health } from './schemas.js';

/** Below this much free space in the data directory, clones and the store start failing. */
export const MIN_FREE_BYTES = 100 * 1024 * 1024;

/** Whether this process can do its work: the store answers, the data disk has room; and how busy it is. */
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
  return {
    ok: reasons.length === 0,
    ...(reasons.length ? { reason: reasons.join('; ') } : {}),
    store,
    disk: { path: core.env.dataDir, freeBytes, minFreeBytes },
    queue: { depth: tasks.queued ?? 0, running: tasks.running ?? 0, concurrency: core.env.concurrency },
    tasks,
  };
}
