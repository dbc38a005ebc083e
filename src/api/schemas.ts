import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { MAX_ATTEMPTS } from '../engine/attempts.js';
import { taskStateSchema, taskViewSchema } from './task-view.js';

/** A URL git can clone (`https://`, `ssh://`, `git://`, `file://`) or the scp-like `user@host:path`. */
export function isGitUrl(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(text) || /^[\w.-]+@[\w.-]+:\S+$/.test(text);
}

/**
 * What git accepts as a branch name, checked before anything is queued (git's `check-ref-format`
 * is asked again when the working tree is prepared).
 */
const branchName = z
  .string()
  .min(1)
  .max(255)
  .refine(
    (name) =>
      !/[\s~^:?*[\\\u0000-\u001f\u007f]|\.\.|\/\/|@\{/.test(name) &&
      !/^[-/.]|[/.]$|\.lock$|\/\./.test(name) &&
      name !== 'HEAD' &&
      name !== '@',
    { message: 'not a valid git branch name' },
  );

export const createTaskBodySchema = z
  .strictObject({
    repo: z
      .string()
      .min(1)
      .refine((repo) => isAbsolute(repo) || isGitUrl(repo), {
        message: 'expected an absolute path to a local git repository or a git URL',
      })
      .meta({ description: 'An absolute path to a local git repository, or a git URL' }),
    branch: branchName.optional().meta({ description: "Where the work starts; default the repository's default branch" }),
    prompt: z
      .string()
      .refine((prompt) => prompt.trim().length > 0, { message: 'the prompt is empty' })
      .meta({ description: 'What the agent should do' }),
    model: z.string().min(1).max(200).optional().meta({ description: 'Model name; default AUTOCODER_MODEL' }),
    session: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .meta({ description: 'Continue the conversation of this session (tasks of one session run one at a time)' }),
    pushBranch: branchName.optional().meta({ description: 'Commit the result and push it to this branch of repo (continuing it when it exists)' }),
    maxSteps: z.number().int().positive().max(1000).optional().meta({ description: 'Most model turns; default 40' }),
    maxMinutes: z.number().positive().max(24 * 60).optional().meta({ description: 'Wall-clock budget in minutes; default 30' }),
    maxTokens: z
      .number()
      .int()
      .positive()
      .optional()
      .meta({ description: "Most tokens the task may use; default and most: the server's AUTOCODER_MAX_TOKENS (unset: no limit)" }),
    maxCostUsd: z
      .number()
      .positive()
      .optional()
      .meta({ description: "Most USD the task may cost; needs the server's prices per token; default and most: AUTOCODER_MAX_COST_USD" }),
    attempts: z
      .number()
      .int()
      .min(1)
      .max(MAX_ATTEMPTS)
      .optional()
      .meta({
        description:
          `Best of N (1-${MAX_ATTEMPTS}): that many agents at once, each in its own worktree; the one kept (and pushed with pushBranch) is chosen ` +
          'by testCommand passing, then the smallest diff, then fewer tokens. Default: one per entry of models, else 1',
      }),
    models: z
      .array(z.string().min(1).max(200))
      .min(1)
      .max(MAX_ATTEMPTS)
      .optional()
      .meta({ description: "The attempts' models, round-robin; default model for all. The first is the model of a task of one attempt" }),
    testCommand: z
      .string()
      .max(2000)
      .refine((command) => command.trim().length > 0, { message: 'the test command is empty' })
      .optional()
      .meta({ description: 'Shell command run in each attempt that changed something (no network, like the agent commands); exit 0 passes' }),
  });
export type CreateTaskBody = z.infer<typeof createTaskBodySchema>;

export const listTasksQuerySchema = z.strictObject({
  state: taskStateSchema.optional(),
  source: z.enum(['github', 'api']).optional(),
  repo: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const eventsQuerySchema = z.strictObject({
  lastEventId: z.coerce.number().int().min(-1).optional(),
});

export const taskListSchema = z.object({ tasks: z.array(taskViewSchema).meta({ description: 'Newest first' }) });

export const createdTaskSchema = z
  .object({
    id: z.string(),
    state: z.literal('queued'),
    url: z.string(),
    eventsUrl: z.string(),
  });

export const cancelResultSchema = z
  .object({ id: z.string(), state: taskStateSchema.meta({ description: '`finished` when it was queued; `running` while a running task stops' }) });

export const errorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string() }) });

export const healthSchema = z
  .object({
    ok: z.boolean(),
    reason: z.string().optional(),
    store: z.enum(['ok', 'unreachable']),
    disk: z.object({ path: z.string(), freeBytes: z.number().nullable(), minFreeBytes: z.number() }),
    queue: z.object({
      backend: z.enum(['embedded', 'redis']).meta({ description: '`redis` with REDIS_URL (workers run the tasks), else `embedded` (this process runs them)' }),
      redis: z
        .enum(['ok', 'unreachable'])
        .optional()
        .meta({ description: 'With REDIS_URL only: whether Redis answers; `unreachable` makes the answer a 503 (webhook deliveries are refused meanwhile)' }),
      depth: z.number().int(),
      running: z.number().int(),
      concurrency: z.number().int(),
    }),
    tasks: z.record(z.string(), z.number().int()),
  });
export type Health = z.infer<typeof healthSchema>;
