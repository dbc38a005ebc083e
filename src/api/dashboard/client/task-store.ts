import type { TaskState, TaskView } from './types.js';

/** How far along a state is; a task never goes back, so an older snapshot never wins. */
const RANK: Record<TaskState, number> = { received: 0, queued: 1, running: 2, finished: 3, rejected: 3, done: 3 };

/** A change: one task, or (undefined) the whole list, after a load or a failed one. */
export type StoreListener = (task: TaskView | undefined) => void;

/**
 * The tasks the page knows, fed by the list and by the live stream in whatever order they
 * arrive: a snapshot fetched before a change can land after it, and must not undo it.
 */
export function createTaskStore() {
  const tasks = new Map<string, TaskView>();
  const listeners = new Set<StoreListener>();
  let loaded = false;
  let error: unknown;

  const notify = (task: TaskView | undefined) => {
    for (const listener of listeners) listener(task);
  };

  function merge(task: TaskView): boolean {
    const known = tasks.get(task.id);
    if (known && RANK[known.state] > RANK[task.state]) return false;
    tasks.set(task.id, task);
    return true;
  }

  return {
    put(task: TaskView): void {
      if (merge(task)) notify(task);
    },
    load(list: TaskView[]): void {
      for (const task of list) merge(task);
      loaded = true;
      error = undefined;
      notify(undefined);
    },
    failed(reason: unknown): void {
      error = reason;
      notify(undefined);
    },
    get: (id: string) => tasks.get(id),
    /** Newest first, as the API lists them. */
    all: () => [...tasks.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id)),
    status: () => ({ loaded, error }),
    subscribe(listener: StoreListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export type TaskStore = ReturnType<typeof createTaskStore>;
