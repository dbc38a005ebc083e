import { EventEmitter } from 'node:events';
import type { RunEvent } from '../engine/events.js';
import type { TaskState } from '../store/tasks.js';

/**
 * Live events of every task in this process, for readers that follow runs as they happen (SSE,
 * the dashboard). The store keeps them for late readers; this only carries what is new.
 */
export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Many SSE readers at once are normal.
    this.emitter.setMaxListeners(0);
  }

  publish(event: RunEvent): void {
    this.emitter.emit(`task:${event.taskId}`, event);
    this.emitter.emit('event', event);
  }

  /** A task's state changed (queued, running, finished...); `addedState` for a task just added. */
  taskChanged(taskId: string, addedState?: TaskState): void {
    this.emitter.emit('task', taskId, addedState);
  }

  onTaskEvent(taskId: string, listener: (event: RunEvent) => void): () => void {
    this.emitter.on(`task:${taskId}`, listener);
    return () => this.emitter.off(`task:${taskId}`, listener);
  }

  onAnyEvent(listener: (event: RunEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  onTaskChanged(listener: (taskId: string, addedState?: TaskState) => void): () => void {
    this.emitter.on('task', listener);
    return () => this.emitter.off('task', listener);
  }
}
