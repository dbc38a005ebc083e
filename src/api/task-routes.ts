import { isAbsolute } from 'node:path';
import { AutocoderError } from '../engine/errors.js';
import { runEventSchema } from '../engine/events.js';
import type { Core } from '../runtime/core.js';
import { newId } from '../util/ids.js';
import { git } from '../workspace/git.js';
import { assertWithinBudgets } from './budget-limits.js';
import { ApiError, notFound, parseWith, readJson, sendJson } from './http.js';
import type { Route, RouteContext } from './router.js';
import type { SseHub } from './sse.js';
import {
  cancelResultSchema,
  createdTaskSchema,
  createTaskBodySchema,
  errorSchema,
  eventsQuerySchema,
  listTasksQuerySchema,
  taskListSchema,
} from './schemas.js';
import { streamTaskChanges } from './task-changes-stream.js';
import { streamTaskEvents } from './task-events-stream.js';
import { currentView, isFinal, queuePositions, taskViewSchema, toTaskView } from './task-view.js';

/** How a cancel through this API is described to a task's users: no user name is known here. */
const API_CANCEL = "through autocoder's API";
const taskUrl = (id: string) => `/api/tasks/${encodeURIComponent(id)}`;
const queryOf = (url: URL) => Object.fromEntries(url.searchParams);
const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, errorSchema]));

/** A title for lists: the prompt's first line, cut to a readable length. */
function titleOf(prompt: string): string {
  const line = prompt.trim().split('\n')[0].trim();
  return line.length > 120 ? `${line.slice(0, 119)}…` : line;
}

/** A local repository must exist now: a 400 at once beats a run that fails later. */
async function assertLocalRepository(repo: string): Promise<void> {
  if (!isAbsolute(repo)) return;
  const found = await git(['rev-parse', '--git-dir'], { cwd: repo, okExitCodes: [128] }).then((r) => r.exitCode === 0, () => false);
  if (!found) throw new ApiError(400, 'invalid_request', `repo: ${repo} is not a git repository`);
}

/** The REST routes of tasks: create, list, show, diff, events, cancel; and the stream of changes. */
export function taskRoutes(core: Core, hub: SseHub): Route[] {
  const { store, bus } = core;
  function taskOr404(id: string) {
    const task = store.get(id);
    if (!task) throw notFound(`task ${id}`);
    return task;
  }

  async function create({ req, res }: RouteContext) {
    const body = parseWith(createTaskBodySchema, await readJson(req), 'body');
    assertWithinBudgets(body, core.env);
    await assertLocalRepository(body.repo);
    const id = newId('api');
    store.insert({
      id,
      source: 'api',
      state: 'queued',
      // One session's tasks run one after another, each continuing the conversation of the last;
      // so do tasks pushing to one branch (a branch is checked out by one worktree at a time).
      threadKey: body.session ? `api-session:${body.session}` : body.pushBranch ? `api-branch:${body.repo}#${body.pushBranch}` : undefined,
      repo: body.repo,
      title: titleOf(body.prompt),
      model: body.model ?? core.env.model,
      request: body,
    });
    core.queue.notify();
    const url = taskUrl(id);
    sendJson(res, 202, { id, state: 'queued', url, eventsUrl: `${url}/events` }, { location: url });
  }

  function list({ res, url }: RouteContext) {
    const query = parseWith(listTasksQuerySchema, queryOf(url), 'query');
    const positions = queuePositions(store);
    const tasks = store.list(query).map((task) => toTaskView(task, positions.get(task.id)));
    sendJson(res, 200, { tasks });
  }

  function show({ res, params }: RouteContext) {
    const view = currentView(store, params.id);
    if (!view) throw notFound(`task ${params.id}`);
    sendJson(res, 200, view);
  }

  function diff({ res, params }: RouteContext) {
    const task = taskOr404(params.id);
    res.writeHead(200, { 'content-type': 'text/x-diff; charset=utf-8', 'cache-control': 'no-store' });
    res.end(task.result?.patch ?? '');
  }

  function events({ req, res, url, params }: RouteContext) {
    // A reconnecting EventSource sends the header; a first connection may name a place in the URL.
    const header = req.headers['last-event-id'];
    const query = parseWith(eventsQuerySchema, { ...queryOf(url), ...(header !== undefined ? { lastEventId: header } : {}) }, 'Last-Event-ID');
    taskOr404(params.id);
    streamTaskEvents(res, { store, bus, taskId: params.id, afterSeq: query.lastEventId ?? -1, hub });
  }

  function cancel({ res, params }: RouteContext) {
    const task = taskOr404(params.id);
    if (isFinal(task.state)) throw new ApiError(409, 'conflict', `task ${task.id} is already ${task.state}: there is nothing to cancel`);
    if (task.state === 'received') {
      throw new ApiError(409, 'conflict', `task ${task.id} is still being received from GitHub; try again in a moment`);
    }
    if (task.state === 'queued') {
      // Synchronous with the queue's claim (one process, one thread): it cannot start meanwhile.
      store.update(task.id, { state: 'finished', endReason: 'cancelled', cancelRequested: true, finishedAt: new Date().toISOString() });
      sendJson(res, 202, { id: task.id, state: 'finished' });
      // Its front-end tells its users (GitHub: the progress comment). Not awaited: the answer is
      // not held up by GitHub, and a failure there is logged by the core, never this request's.
      void core.cancelledWhileQueued(store.get(task.id) ?? task, API_CANCEL);
      return;
    }
    store.update(task.id, { cancelRequested: true });
    // The signal reaches the agent, which stops the model call and kills running commands.
    core.queue.abort(task.id, new AutocoderError('cancelled', 'cancelled on request'));
    sendJson(res, 202, { id: task.id, state: store.get(task.id)?.state ?? task.state });
  }

  function changes({ res }: RouteContext) {
    streamTaskChanges(res, { store, bus, hub });
  }

  const sse = (description: string) => ({ mediaType: 'text/event-stream', description });
  return [
    {
      method: 'POST', path: '/api/tasks', handle: create,
      doc: {
        summary: 'Queue a coding task on a repository',
        description: 'Runs on the same queue as GitHub runs (AUTOCODER_CONCURRENCY at once).',
        body: createTaskBodySchema,
        responses: { 202: createdTaskSchema, ...errors(400, 401, 413) },
      },
    },
    {
      method: 'GET', path: '/api/tasks', handle: list,
      doc: { summary: 'List tasks (GitHub runs and API tasks), newest first', query: listTasksQuerySchema, responses: { 200: taskListSchema, ...errors(400, 401) } },
    },
    {
      method: 'GET', path: '/api/tasks/:id', handle: show,
      doc: { summary: 'One task', responses: { 200: taskViewSchema, ...errors(401, 404) } },
    },
    {
      method: 'GET', path: '/api/tasks/:id/diff', handle: diff,
      doc: { summary: "The run's changes as a unified diff (empty when there are none)", responses: { 200: { mediaType: 'text/x-diff', description: 'A unified diff' }, ...errors(401, 404) } },
    },
    {
      method: 'GET', path: '/api/tasks/:id/events', handle: events,
      doc: {
        summary: "The task's events as server-sent events",
        description:
          'Every event as `id: <seq>`, `event: <type>`, `data: <RunEvent JSON>`: first those stored (from the start, or after ' +
          'the `Last-Event-ID` header or `lastEventId` query parameter), then live ones. Comments every 15 s keep it open. ' +
          'The stream ends when the task is over and all its events were sent.',
        query: eventsQuerySchema,
        responses: { 200: { ...sse('Server-sent events; each `data` is a RunEvent'), schema: runEventSchema }, ...errors(400, 401, 404) },
      },
    },
    {
      method: 'POST', path: '/api/tasks/:id/cancel', handle: cancel,
      doc: {
        summary: 'Cancel a queued or running task',
        description:
          'A queued task is finished as cancelled at once (a GitHub run\'s progress comment is then edited to say so, after the answer); ' +
          'a running one is stopped (its commands killed) and finishes as cancelled shortly after.',
        responses: { 202: cancelResultSchema, ...errors(401, 404, 409) },
      },
    },
    {
      method: 'GET', path: '/api/events', handle: changes,
      doc: {
        summary: 'Every change of every task, as server-sent events',
        description: 'Each change is `event: task` with a TaskView as `data`. The stream stays open.',
        responses: { 200: { ...sse('Server-sent events; each `data` is a TaskView'), schema: taskViewSchema }, ...errors(401) },
      },
    },
  ];
}
