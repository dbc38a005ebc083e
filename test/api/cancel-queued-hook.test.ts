/**
 * `POST /api/tasks/:id/cancel` on a queued task tells the task's front-end through the hook the
 * core keeps per task source (`core.onCancelledWhileQueued`), in the background: the answer never
 * waits for the hook, and a hook that fails is logged, never an error for the API client.
 * The front-end here is a fake one; GitHub's is driven end to end in
 * test/e2e/github-rest-cancel.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TaskRecord } from '../../src/store/tasks.js';
import { newId } from '../../src/util/ids.js';
import { useHarness } from './harness.js';
import { MATH_FILES, scriptedModel } from './models.js';

const stage = useHarness({ model: scriptedModel }, MATH_FILES);

/** A queued task of a source this process has no executor for: it stays queued until cancelled. */
function queuedTaskOf(source: string): string {
  const id = newId('hook');
  stage.h.core.store.insert({ id, source, state: 'queued', repo: 'acme/widgets', title: 'a queued run', request: {}, data: { progressCommentId: 42 } });
  return id;
}

const cancel = (id: string) => stage.h.api(`/api/tasks/${id}/cancel`, { method: 'POST' });

interface Call {
  task: TaskRecord;
  how: string;
}

/** Registers a hook for `source` that records its calls and answers as `behave` says. */
function recordingHook(source: string, behave: (call: Call) => Promise<void> = async () => {}): Call[] {
  const calls: Call[] = [];
  stage.h.core.onCancelledWhileQueued(source, (task, how) => {
    const call = { task, how };
    calls.push(call);
    return behave(call);
  });
  return calls;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('cancelling a queued task tells its front-end', () => {
  it('the hook of its source gets the cancelled task and "through autocoder\'s API"; the answer does not wait for it', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const calls = recordingHook('fake-github', () => held);
    const id = queuedTaskOf('fake-github');

    // The hook has not returned (it waits for `release`), yet the client has its answer.
    const res = await cancel(id);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ id, state: 'finished' });

    expect(calls).toHaveLength(1);
    expect(calls[0].how).toBe("through autocoder's API");
    // The task as it is after the store's update, with what the front-end kept about it.
    expect(calls[0].task).toMatchObject({ id, source: 'fake-github', state: 'finished', endReason: 'cancelled', cancelRequested: true, data: { progressCommentId: 42 } });
    expect(stage.h.core.store.get(id)).toMatchObject({ state: 'finished', endReason: 'cancelled' });
    release();
  });

  it('a hook that rejects: 202 all the same, and the failure is logged with the task', async () => {
    const errors = vi.spyOn(stage.h.core.log, 'error');
    const calls = recordingHook('fake-rejecting', async () => {
      throw new Error('GitHub answered 502');
    });
    const id = queuedTaskOf('fake-rejecting');

    const res = await cancel(id);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ id, state: 'finished' });
    expect(calls).toHaveLength(1);
    await vi.waitFor(() => expect(errors).toHaveBeenCalled());
    const [fields, message] = errors.mock.calls[0] as unknown as [Record<string, unknown>, string];
    expect(message).toBe('could not report a task cancelled while queued');
    expect(fields).toMatchObject({ taskId: id, source: 'fake-rejecting', err: expect.objectContaining({ message: 'GitHub answered 502' }) });
  });

  it('a hook that throws before returning a promise: 202 all the same, and logged', async () => {
    const errors = vi.spyOn(stage.h.core.log, 'error');
    stage.h.core.onCancelledWhileQueued('fake-throwing', () => {
      throw new Error('no client for this installation');
    });
    const id = queuedTaskOf('fake-throwing');

    const res = await cancel(id);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ id, state: 'finished' });
    await vi.waitFor(() => expect(errors).toHaveBeenCalledWith(expect.objectContaining({ taskId: id }), 'could not report a task cancelled while queued'));
  });

  it('only the hook of the task\'s own source runs; a source with none is cancelled as before', async () => {
    const others = recordingHook('fake-other');
    const id = queuedTaskOf('fake-without-hook');
    const res = await cancel(id);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ id, state: 'finished' });
    expect(stage.h.core.store.get(id)).toMatchObject({ state: 'finished', endReason: 'cancelled' });
    expect(others).toHaveLength(0);
  });

  it('a running task: no hook (its executor reports the cancel); a queued one of the same source: the hook', async () => {
    const calls = recordingHook('api');
    const running = await stage.h.submit({ repo: stage.repo.root, prompt: 'wait', model: 'hang', session: 'hook-thread' });
    await stage.h.waitForState(running.id, ['running']);
    // Behind the running one in its session's thread: queued until it ends.
    const queued = await stage.h.submit({ repo: stage.repo.root, prompt: 'Fix add()', model: 'fix', session: 'hook-thread' });
    expect(await stage.h.json(`/api/tasks/${queued.id}`)).toMatchObject({ state: 'queued' });

    expect((await cancel(queued.id)).status).toBe(202);
    expect(calls.map((c) => c.task.id)).toEqual([queued.id]);

    expect(await (await cancel(running.id)).json()).toEqual({ id: running.id, state: 'running' });
    expect((await stage.h.waitForState(running.id, ['finished'])).endReason).toBe('cancelled');
    expect(calls.map((c) => c.task.id)).toEqual([queued.id]);
  });

  it('a cancel refused (409, already finished) runs no hook', async () => {
    const calls = recordingHook('fake-twice');
    const id = queuedTaskOf('fake-twice');
    expect((await cancel(id)).status).toBe(202);
    const again = await cancel(id);
    expect(again.status).toBe(409);
    expect(calls).toHaveLength(1);
  });
});
