import type { ServerResponse } from 'node:http';
import type { EventBus } from '../queue/event-bus.js';
import type { TaskStore } from '../store/tasks.js';
import type { SseHub } from './sse.js';
import { currentView } from './task-view.js';

/**
 * Every change of every task as SSE (`event: task`, `data: TaskView`), for live lists. It never
 * ends by itself. A reader that wants a starting point lists `/api/tasks` after connecting.
 */
export function streamTaskChanges(res: ServerResponse, deps: { store: TaskStore; bus: EventBus; hub: SseHub }): void {
  const sse = deps.hub.open(res);
  const off = deps.bus.onTaskChanged((taskId) => {
    const view = currentView(deps.store, taskId);
    if (view) sse.send('task', view);
  });
  sse.onClose(off);
}
