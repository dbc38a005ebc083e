import type { ServerResponse } from 'node:http';
import type { RunEvent } from '../engine/events.js';
import type { EventBus } from '../queue/event-bus.js';
import type { TaskStore } from '../store/tasks.js';
import type { SseHub } from './sse.js';
import { isFinal } from './task-view.js';

export interface TaskEventsOptions {
  store: TaskStore;
  bus: EventBus;
  taskId: string;
  /** Events up to this seq were seen already (Last-Event-ID); -1 replays from the start. */
  afterSeq: number;
  hub: SseHub;
}

/**
 * One task's events as SSE: everything stored after `afterSeq`, then live ones, with no gap and no
 * duplicate. Live events are subscribed to before the replay is read and held until it is sent;
 * then anything at or below the last seq sent is skipped. The stream ends once the task is in a
 * final state and every event it stored has been sent: not at the engine's `finished` event,
 * because a front-end may still test, commit and push after it (and say so in events), and a task
 * that never ran (rejected, cancelled while queued) has no `finished` event at all.
 */
export function streamTaskEvents(res: ServerResponse, options: TaskEventsOptions): void {
  const { store, bus, taskId } = options;
  const sse = options.hub.open(res);
  let lastSent = options.afterSeq;
  let replaying = true;
  const held: RunEvent[] = [];

  const send = (event: RunEvent) => {
    if (event.seq <= lastSent) return;
    sse.send(event.type, event, event.seq);
    lastSent = event.seq;
  };
  /** Sends what the store has beyond what was sent, and ends the stream when the task is over. */
  const catchUpAndMaybeEnd = () => {
    const task = store.get(taskId);
    for (const event of store.events(taskId, lastSent)) send(event);
    if (!task || isFinal(task.state)) sse.end();
  };

  const offEvent = bus.onTaskEvent(taskId, (event) => {
    if (replaying) held.push(event);
    else send(event);
  });
  const offChange = bus.onTaskChanged((changed) => {
    if (changed === taskId && !replaying) catchUpAndMaybeEnd();
  });
  sse.onClose(() => {
    offEvent();
    offChange();
  });

  for (const event of store.events(taskId, lastSent)) send(event);
  replaying = false;
  held.sort((a, b) => a.seq - b.seq).forEach(send);
  held.length = 0;
  catchUpAndMaybeEnd();
}
