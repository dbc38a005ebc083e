/**
 * What the REST API answers, as the page reads it: the server's own `TaskView` type, imported as
 * a type only, so nothing of the server (zod, the store) is sent to the browser.
 */
import type { TaskView } from '../../task-view.js';
import type { RunEvent } from '../../../engine/events.js';

export type { TaskView, RunEvent };
export type TaskState = TaskView['state'];

export const ACTIVE: readonly TaskState[] = ['received', 'queued', 'running'];
export const isActive = (task: Pick<TaskView, 'state'>): boolean => ACTIVE.includes(task.state);
