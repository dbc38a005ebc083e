import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AppEnv } from '../config/env.js';
import { AutocoderError } from '../engine/errors.js';
import type { LlmClient } from '../engine/llm.js';
import { buildCommandEnv } from '../engine/tools/command-env.js';
import { createOpenAiClient } from '../llm/openai-client.js';
import { EmbeddedQueue, type RunQueue, type TaskExecutor } from '../queue/embedded-queue.js';
import { EventBus } from '../queue/event-bus.js';
import { RedisRunQueue } from '../queue/redis-queue.js';
import type { SessionStore } from '../engine/session.js';
import type { SandboxRequest } from '../engine/sandbox/index.js';
import { startCheckpointer } from '../store/checkpointer.js';
import { DispatchStore } from '../store/dispatch-store.js';
import { DeliveryInbox } from '../store/inbox.js';
import type { RunStore } from '../store/run-store.js';
import { createSessionStore, openDatabase, type Db } from '../store/sqlite.js';
import { TaskStore, type TaskRecord } from '../store/tasks.js';
import { createSecretSet, type SecretSet } from '../util/secrets.js';
import { WorkspaceManager } from '../workspace/index.js';
import { sandboxRequest } from './sandbox-paths.js';

/**
 * Tells a front-end's users that one of its tasks was cancelled before it started; `how` says by
 * whom or through what, as words that follow "Cancelled" (e.g. "through autocoder's API").
 */
export type CancelledWhileQueuedHandler = (task: TaskRecord, how: string) => Promise<void>;

/** A route of the HTTP server: answers (true) or passes (false). */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean | void | Promise<boolean | void>;

/** A model client that explains, on every run, that the key is missing: the app still starts (setup flow). */
function missingKeyClient(): LlmClient {
  return {
    async complete() {
      throw new AutocoderError('missing_api_key', 'OPENAI_API_KEY is not set on the autocoder server, so no model can be called');
    },
  };
}

/**
 * What the executors of runs (GitHub's, the API's) need, in a server process and in a Redis
 * worker alike: a worker's store is served from the job (src/queue/remote-store.ts).
 */
export interface ExecutorCore {
  env: AppEnv;
  log: Logger;
  secrets: SecretSet;
  store: RunStore;
  sessions: SessionStore;
  workspaces: WorkspaceManager;
  llm: LlmClient;
  bus: Pick<EventBus, 'publish'>;
  commandEnv: NodeJS.ProcessEnv;
  sandbox: SandboxRequest;
}

/** The parts of an executor that come from the environment alone: the same in the server and a worker. */
export function createExecutionParts(env: AppEnv) {
  return {
    workspaces: new WorkspaceManager({ dataDir: env.dataDir }),
    llm: env.openaiApiKey ? createOpenAiClient({ apiKey: env.openaiApiKey, baseURL: env.openaiBaseUrl }) : missingKeyClient(),
    /** The environment commands get: an allowlist, never the process's own. */
    commandEnv: buildCommandEnv(process.env),
    /** How commands are confined: bwrap when it works here, the data dir, key file, .env and home credentials hidden. */
    sandbox: sandboxRequest(env),
  };
}

/**
 * What every front-end of a server process shares: the store, the queue and its executors by
 * task source, live events, the workspaces, the model client, the known secrets, HTTP routes.
 * Built once from the environment; front-ends receive it and add their executors and routes.
 */
export function createCore(env: AppEnv, log: Logger, secrets: SecretSet = createSecretSet([env.openaiApiKey, env.webhookSecret, env.privateKey, env.apiToken])) {
  const bus = new EventBus();
  const db: Db = openDatabase(env.dataDir);
  // Checkpoints of the store's log off this thread: a webhook delivery never waits for one.
  const checkpointer = startCheckpointer(db, log);
  const store = new TaskStore(db, (taskId, addedState) => bus.taskChanged(taskId, addedState));
  const inbox = new DeliveryInbox(db, store, log);
  const sessions = createSessionStore(db);
  const { workspaces, llm, commandEnv, sandbox } = createExecutionParts(env);
  const executors = new Map<string, TaskExecutor>();
  const abandonedHandlers = new Map<string, (task: TaskRecord) => Promise<void>>();
  const cancelledWhileQueuedHandlers = new Map<string, CancelledWhileQueuedHandler>();
  const httpHandlers: HttpHandler[] = [];
  const stopHooks: (() => Promise<void>)[] = [];
  const onAbandoned = async (task: TaskRecord) => {
    await abandonedHandlers.get(task.source)?.(task);
  };
  // With REDIS_URL this process executes nothing: it queues runs for `autocoder worker` processes.
  const redisQueue = env.redisUrl
    ? new RedisRunQueue({
        url: env.redisUrl,
        store,
        dispatch: new DispatchStore(db, store),
        sessions,
        bus,
        sources: () => [...executors.keys()],
        onAbandoned,
        log,
        lockMs: env.workerLockMs,
      })
    : undefined;
  const queue: RunQueue = redisQueue ?? new EmbeddedQueue({ store, concurrency: env.concurrency, executors, log, onAbandoned });

  return {
    env,
    log,
    secrets,
    bus,
    store,
    /** Webhook deliveries, stored before they are answered; they become tasks a moment later. */
    inbox,
    sessions,
    workspaces,
    llm,
    queue,
    /** Whether a webhook delivery can be taken in now (with Redis: it answers); else a 503 lets GitHub deliver it again. */
    queueReady: async (): Promise<boolean> => (redisQueue ? redisQueue.ready() : true),
    commandEnv,
    sandbox,
    /** Adds a kind of task this process executes, and what to say when one is given up. */
    addExecutor(source: string, execute: TaskExecutor, onAbandoned?: (task: TaskRecord) => Promise<void>): void {
      executors.set(source, execute);
      if (onAbandoned) abandonedHandlers.set(source, onAbandoned);
    },
    /**
     * Adds what to tell the users of a task source when one of its tasks is cancelled before it
     * started by someone outside that front-end (the REST API): the executor, which says so for
     * a running task, never sees it.
     */
    onCancelledWhileQueued(source: string, handler: CancelledWhileQueuedHandler): void {
      cancelledWhileQueuedHandlers.set(source, handler);
    },
    /**
     * A queued task was just finished as cancelled: its source's handler runs in the background.
     * The promise never rejects (a failure is logged), so a caller may leave it unawaited.
     */
    async cancelledWhileQueued(task: TaskRecord, how: string): Promise<void> {
      const handler = cancelledWhileQueuedHandlers.get(task.source);
      if (!handler) return;
      try {
        await handler(task, how);
      } catch (error) {
        log.error({ err: error, taskId: task.id, source: task.source }, 'could not report a task cancelled while queued');
      }
    },
    /** Runs when the core stops, while the queue waits for its runs: a front-end stops taking work in. */
    onStop(hook: () => Promise<void>): void {
      stopHooks.push(hook);
    },
    addHttpHandler(handler: HttpHandler): void {
      httpHandlers.push(handler);
    },
    /** All routes as one handler, in the order they were added. */
    async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
      for (const handler of httpHandlers) {
        if (await handler(req, res)) return true;
      }
      return false;
    },
    async stop(timeoutMs?: number): Promise<void> {
      await Promise.all([...stopHooks.map((hook) => hook()), queue.stop(timeoutMs)]);
      inbox.stop();
      await checkpointer.stop();
      db.close();
    },
  };
}

export type Core = ReturnType<typeof createCore>;
