/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { Unauthorized, type Api } from './api.js';
import type { TaskStore } from './task-store.js';
import { backoff, wait } from './wait.js';

export type LiveState = 'connecting' | 'live' | 'down';

/**
 * Keeps the store up to date from `/api/events`, reconnecting after a drop. Each (re)connection
 * reloads the list once the stream is open, so a change made while it was down is not missed.
 */
export function followTasks(api: Api, store: TaskStore, onState: (state: LiveState, detail?: string) => void): () => void {
  const controller = new AbortController();
  const { signal } = controller;
  const delays = backoff();

  const reload = () =>
    api.listTasks().then(
      (tasks) => store.load(tasks),
      (error: unknown) => {
        if (!(error instanceof Unauthorized)) store.failed(error);
      },
    );

  void (async () => {
    onState('connecting');
    while (!signal.aborted) {
      let opened = false;
      try {
        await api.watchTasks(signal, store.put, () => {
          opened = true;
          delays.reset();
          onState('live');
          void reload();
        });
      } catch (error) {
        if (error instanceof Unauthorized) return;
      }
      if (signal.aborted) return;
      // The list is still worth showing when only the stream is failing.
      if (!opened) void reload();
      const delay = delays.next();
      onState('down', `reconnecting in ${Math.round(delay / 1000)}s`);
      await wait(delay, signal);
    }
  })();

  return () => controller.abort();
}
