import { z } from 'zod';
import { attemptOutcomeSchema, endReasonSchema, fileChangeSchema, usageSchema } from '../engine/events.js';
import type { TaskRecord, TaskState, TaskStore } from '../store/tasks.js';

export const taskStateSchema = z.enum(['received', 'queued', 'running', 'finished', 'rejected', 'done']) satisfies z.ZodType<TaskState>;
export const FINAL_STATES: readonly TaskState[] = ['finished', 'rejected', 'done'];
export const isFinal = (state: TaskState) => FINAL_STATES.includes(state);

/** How a task looks from outside (REST, SSE, dashboard): one shape for GitHub and API runs alike. */
export const taskViewSchema = z
  .object({
    id: z.string(),
    source: z.string().meta({ description: '`github` or `api`' }),
    state: taskStateSchema,
    endReason: endReasonSchema.nullable(),
    repo: z.string().nullable().meta({ description: '`owner/name` for GitHub runs; the path or URL given for API tasks' }),
    issueNumber: z.number().int().nullable(),
    title: z.string().nullable(),
    model: z.string().nullable(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    durationMs: z.number().nullable().meta({ description: 'From start to finish; null until the task has finished after running' }),
    usage: usageSchema.nullable().meta({ description: 'Tokens used so far (API tasks report them while running)' }),
    summary: z.string().nullable(),
    changedFiles: z.array(fileChangeSchema),
    pullRequestUrl: z.string().nullable(),
    error: z.string().nullable(),
    queuePosition: z.number().int().positive().nullable().meta({ description: '1 for the next task to run; null unless queued' }),
    sessionId: z.string().nullable(),
    pushed: z.object({ branch: z.string(), sha: z.string() }).nullable().meta({ description: 'Where an API task with `pushBranch` pushed its commit' }),
    attempts: z
      .array(attemptOutcomeSchema)
      .nullable()
      .meta({ description: 'Best of N: each attempt (model, end reason, test exit code, files and lines changed, tokens, duration), in attempt order; null for a run of one attempt' }),
    chosenAttempt: z.number().int().positive().nullable().meta({ description: 'Best of N: the attempt whose change was kept; null when none was, or for a run of one attempt' }),
  });
export type TaskView = z.infer<typeof taskViewSchema>;

const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** The view of one task. Pure: the queue position, which depends on other tasks, is given. */
export function toTaskView(task: TaskRecord, queuePosition?: number): TaskView {
  const result = task.result;
  const data = task.data ?? {};
  const started = task.startedAt ? Date.parse(task.startedAt) : NaN;
  const finished = task.finishedAt ? Date.parse(task.finishedAt) : NaN;
  const pushed = result?.pushed as { branch?: unknown; sha?: unknown } | undefined;
  return {
    id: task.id,
    source: task.source,
    state: task.state,
    endReason: task.endReason ?? null,
    repo: task.repo ?? null,
    issueNumber: task.issueNumber ?? null,
    title: task.title ?? null,
    model: task.model ?? null,
    createdAt: task.createdAt,
    startedAt: task.startedAt ?? null,
    finishedAt: task.finishedAt ?? null,
    durationMs: Number.isFinite(started) && Number.isFinite(finished) ? Math.max(0, finished - started) : null,
    usage: result?.usage ?? (data.usage as TaskView['usage'] | undefined) ?? null,
    summary: result?.summary ?? null,
    changedFiles: (result?.changedFiles ?? []) as TaskView['changedFiles'],
    pullRequestUrl: str(data.pullRequestUrl) ?? str(result?.pullRequestUrl),
    error: task.error ?? null,
    queuePosition: task.state === 'queued' && queuePosition !== undefined ? queuePosition : null,
    sessionId: result?.sessionId ?? str(data.sessionId),
    pushed: pushed && typeof pushed.branch === 'string' && typeof pushed.sha === 'string' ? { branch: pushed.branch, sha: pushed.sha } : null,
    ...attemptsOf(result),
  };
}

/**
 * A best-of-N run's outcomes, from its result (`attempts`, `chosenAttempt`: written by any executor
 * that runs attempts). Checked, since stored results outlive the code that wrote them.
 */
function attemptsOf(result: TaskRecord['result']): Pick<TaskView, 'attempts' | 'chosenAttempt'> {
  const outcomes = z.array(attemptOutcomeSchema).safeParse(result?.attempts);
  if (!outcomes.success) return { attempts: null, chosenAttempt: null };
  const chosen = result?.chosenAttempt;
  return { attempts: outcomes.data, chosenAttempt: typeof chosen === 'number' && Number.isInteger(chosen) && chosen > 0 ? chosen : null };
}

/** Every queued task's place in line (1 = next), in the order the queue takes them. */
export function queuePositions(store: TaskStore): Map<string, number> {
  return new Map(store.inState('queued').map((task, index) => [task.id, index + 1]));
}

/** The view of a task as it is in the store now, or undefined when there is no such task. */
export function currentView(store: TaskStore, id: string): TaskView | undefined {
  const task = store.get(id);
  if (!task) return undefined;
  return toTaskView(task, task.state === 'queued' ? queuePositions(store).get(id) : undefined);
}
