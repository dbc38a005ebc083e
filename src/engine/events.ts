import { z } from 'zod';

/** Why a run ended. A closed set: front-ends switch on it. The `max_*` ones are budgets (src/engine/budget.ts). */
export const endReasonSchema = z.enum(['completed', 'failed', 'cancelled', 'max_steps', 'max_time', 'max_tokens', 'max_cost']);
export type EndReason = z.infer<typeof endReasonSchema>;

export const usageSchema = z.object({
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
  totalTokens: z.number().int().nonnegative(),
  /** USD, from the configured prices per token; absent when none are configured. */
  costUsd: z.number().nonnegative().optional(),
});
export type Usage = z.infer<typeof usageSchema>;

export const fileChangeSchema = z.object({
  path: z.string(),
  change: z.enum(['added', 'modified', 'deleted']),
});
export type FileChange = z.infer<typeof fileChangeSchema>;

/** One attempt of a best-of-N run, as compared (the shape of `AttemptOutcome` in attempts.ts). */
export const attemptOutcomeSchema = z.object({
  attempt: z.number().int().positive(),
  model: z.string(),
  reason: endReasonSchema,
  /** The test command's exit code (null: killed or timed out); absent when no test ran. */
  testExitCode: z.number().int().nullable().optional(),
  filesChanged: z.number().int().nonnegative(),
  linesAdded: z.number().int().nonnegative(),
  linesRemoved: z.number().int().nonnegative(),
  usage: usageSchema,
  durationMs: z.number(),
  error: z.string().optional(),
});

const base = {
  taskId: z.string(),
  seq: z.number().int().nonnegative(),
  time: z.string(),
  /**
   * Best of N: which attempt (1-based) of the run emitted the event. Absent when the run has one
   * attempt, and on the events of the run as a whole (preparing, publishing).
   */
  attempt: z.number().int().positive().optional(),
};

/** Everything a run emits. The run log is the list of these, in `seq` order. */
export const runEventSchema = z.discriminatedUnion('type', [
  z.object({
    ...base,
    type: z.literal('started'),
    model: z.string(),
    cwd: z.string(),
    prompt: z.string(),
    sessionId: z.string(),
    maxSteps: z.number().int(),
    /** The run's token and cost budgets, when it has them. */
    maxTokens: z.number().int().nonnegative().optional(),
    maxCostUsd: z.number().nonnegative().optional(),
    resumed: z.boolean(),
  }),
  z.object({ ...base, type: z.literal('step'), step: z.number().int() }),
  z.object({ ...base, type: z.literal('model_text'), step: z.number().int(), text: z.string() }),
  z.object({
    ...base,
    type: z.literal('tool_call'),
    step: z.number().int(),
    callId: z.string(),
    name: z.string(),
    /** Parsed arguments, or the raw text when it was not valid JSON. */
    args: z.unknown(),
  }),
  z.object({
    ...base,
    type: z.literal('tool_result'),
    step: z.number().int(),
    callId: z.string(),
    name: z.string(),
    ok: z.boolean(),
    /** What the model was given back (already cut to the context budget). */
    output: z.string(),
    durationMs: z.number(),
    /** For `run_command`: the command's exit code. */
    exitCode: z.number().int().nullable().optional(),
  }),
  z.object({
    ...base,
    type: z.literal('command'),
    /** A command the harness ran itself, outside the agent's tools. */
    purpose: z.enum(['setup', 'test']),
    command: z.string(),
    exitCode: z.number().int().nullable(),
    output: z.string(),
    durationMs: z.number(),
    timedOut: z.boolean(),
  }),
  z.object({
    ...base,
    type: z.literal('phase'),
    /** Where a front-end's run is: preparing the working tree, the agent at work, testing, publishing. */
    phase: z.enum(['preparing', 'working', 'testing', 'publishing']),
  }),
  z.object({ ...base, type: z.literal('file_changed'), path: z.string(), change: fileChangeSchema.shape.change }),
  z.object({ ...base, type: z.literal('usage'), step: z.number().int(), usage: usageSchema, total: usageSchema }),
  z.object({
    ...base,
    type: z.literal('retry'),
    /** Which retry of the model call this is, from 1 (not `attempt`: that names the run's attempt). */
    retry: z.number().int(),
    delayMs: z.number(),
    reason: z.string(),
  }),
  z.object({
    ...base,
    type: z.literal('compacted'),
    messages: z.number().int(),
    removedChars: z.number().int(),
  }),
  z.object({
    ...base,
    type: z.literal('error'),
    code: z.string(),
    message: z.string(),
    retryable: z.boolean(),
  }),
  z.object({
    ...base,
    type: z.literal('finished'),
    reason: endReasonSchema,
    summary: z.string(),
    changedFiles: z.array(fileChangeSchema),
    usage: usageSchema,
    steps: z.number().int(),
    sessionId: z.string(),
    durationMs: z.number(),
  }),
  z.object({
    ...base,
    type: z.literal('attempts'),
    /** Best of N, once every attempt has ended and been tested: each attempt's outcome, in attempt order. */
    outcomes: z.array(attemptOutcomeSchema),
    /** The attempt whose change is kept, or null when none changed anything usable. */
    chosen: z.number().int().positive().nullable(),
  }),
]);

export type RunEvent = z.infer<typeof runEventSchema>;
export type RunEventType = RunEvent['type'];
/** An event before the emitter stamps it with `taskId`, `seq` and `time`. */
export type RunEventBody = RunEvent extends infer E
  ? E extends RunEvent
    ? Omit<E, 'taskId' | 'seq' | 'time'>
    : never
  : never;
export type FinishedEvent = Extract<RunEvent, { type: 'finished' }>;

export type EventSink = (event: RunEvent) => void;

/** Stamps events of one task with a growing `seq` and the time, and hands them to the sink. */
export function createEmitter(taskId: string, sink: EventSink, startSeq = 0) {
  let seq = startSeq;
  return (body: RunEventBody): RunEvent => {
    const event = { ...body, taskId, seq: seq++, time: new Date().toISOString() } as RunEvent;
    sink(event);
    return event;
  };
}
export type Emit = ReturnType<typeof createEmitter>;
