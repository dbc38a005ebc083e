import type { TaskStore } from './tasks.js';

/**
 * What an executor (a GitHub run, an API task) needs of the store: its own task, its events, its
 * thread's earlier tasks. The SQLite TaskStore is one; a Redis worker serves the same from the
 * job's data and sends the writes back to the web process (src/queue/remote-store.ts).
 */
export type RunStore = Pick<TaskStore, 'get' | 'update' | 'events' | 'appendEvent' | 'nextSeq' | 'byThread' | 'repoUsage'>;
