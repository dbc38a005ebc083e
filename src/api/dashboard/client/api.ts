/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { HttpError, readSse, type SseMessage } from './sse.js';
import type { RunEvent, TaskView } from './types.js';

const TOKEN_KEY = 'autocoder.apiToken';

/** The token lives in this browser only; it is sent as a header, never in a URL. */
export const tokenStore = {
  get: (): string | null => localStorage.getItem(TOKEN_KEY),
  set: (token: string): void => localStorage.setItem(TOKEN_KEY, token),
  clear: (): void => localStorage.removeItem(TOKEN_KEY),
};

/** The server refused the token; the page asks for it again. */
export class Unauthorized extends Error {
  constructor() {
    super('the API token was not accepted');
    this.name = 'Unauthorized';
  }
}

/** A message for a person out of whatever an API call threw. */
export function problem(error: unknown): string {
  if (error instanceof HttpError) return `the server answered ${error.status}`;
  if (error instanceof TypeError) return 'the server cannot be reached';
  return error instanceof Error ? error.message : String(error);
}

export function createApi(onUnauthorized: () => void) {
  const headers = (): Record<string, string> => ({ authorization: `Bearer ${tokenStore.get() ?? ''}` });

  async function request(path: string, init: RequestInit = {}): Promise<Response> {
    const response = await fetch(path, { ...init, cache: 'no-store', headers: { ...headers(), ...(init.headers as Record<string, string>) } });
    if (response.status === 401) {
      onUnauthorized();
      throw new Unauthorized();
    }
    return response;
  }

  async function json<T>(path: string): Promise<T> {
    const response = await request(path, { headers: { accept: 'application/json' } });
    if (!response.ok) throw new HttpError(response.status, await errorMessage(response));
    return (await response.json()) as T;
  }

  async function stream(path: string, signal: AbortSignal, onMessage: (message: SseMessage) => void, onOpen?: () => void, extra: Record<string, string> = {}): Promise<void> {
    try {
      await readSse(path, { headers: { ...headers(), ...extra }, signal, onOpen }, onMessage);
    } catch (error) {
      if (error instanceof HttpError && error.status === 401) {
        onUnauthorized();
        throw new Unauthorized();
      }
      throw error;
    }
  }

  const taskPath = (id: string) => `/api/tasks/${encodeURIComponent(id)}`;

  return {
    listTasks: async (limit = 200) => (await json<{ tasks: TaskView[] }>(`/api/tasks?limit=${limit}`)).tasks,
    getTask: (id: string) => json<TaskView>(taskPath(id)),
    /** The run's changes as a unified diff; undefined when the server has none for it. */
    async getDiff(id: string): Promise<string | undefined> {
      const response = await request(`${taskPath(id)}/diff`, { headers: { accept: 'text/x-diff' } });
      if (response.status === 404 || response.status === 204) return undefined;
      if (!response.ok) throw new HttpError(response.status, await errorMessage(response));
      return response.text();
    },
    async cancel(id: string): Promise<void> {
      const response = await request(`${taskPath(id)}/cancel`, { method: 'POST' });
      if (!response.ok) throw new HttpError(response.status, await errorMessage(response));
    },
    /** Every change of every task, until the server closes or `signal` aborts. */
    watchTasks: (signal: AbortSignal, onTask: (task: TaskView) => void, onOpen: () => void) =>
      stream('/api/events', signal, (message) => {
        if (message.event === 'task') onTask(JSON.parse(message.data) as TaskView);
      }, onOpen),
    /** A run's events after `afterSeq` (-1: from the start), then live; ends after `finished`. */
    watchEvents: (id: string, afterSeq: number, signal: AbortSignal, onEvent: (event: RunEvent) => void) =>
      stream(
        `${taskPath(id)}/events`,
        signal,
        (message) => {
          if (message.data.startsWith('{')) onEvent(JSON.parse(message.data) as RunEvent);
        },
        undefined,
        // As EventSource does on reconnecting: the server resumes after the last event seen.
        afterSeq >= 0 ? { 'last-event-id': String(afterSeq) } : {},
      ),
  };
}

export type Api = ReturnType<typeof createApi>;

async function errorMessage(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { error?: { message?: string } };
    if (body.error?.message) return body.error.message;
  } catch {
    // not JSON: the status says it
  }
  return `the server answered ${response.status}`;
}
