import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { useHarness } from './harness.js';
import { MATH_FILES, scriptedModel } from './models.js';

const stage = useHarness({ model: scriptedModel }, MATH_FILES);

/**
 * Processes whose command line holds `tag`, read from /proc: the command may run in a sandbox
 * (its own PID namespace and /tmp), where neither `$$` nor a file it writes means anything here.
 */
async function processesWith(tag: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').includes(tag)) pids.push(Number(entry));
  }
  return pids;
}

async function until<T>(check: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('POST /api/tasks/:id/cancel', () => {
  it('stops a running task: its command is killed and it finishes as cancelled', async () => {
    // A sleep of a duration no other process has: its argument finds it among all processes.
    const tag = `${60 + Math.floor(Math.random() * 1000)}.${process.pid}`;
    const task = await stage.h.submit({ repo: stage.repo.root, prompt: `run: exec sleep ${tag}`, model: 'command' });
    await until(async () => ((await processesWith(tag)).length > 0 ? true : undefined), 'the command to start');

    const res = await stage.h.api(`/api/tasks/${task.id}/cancel`, { method: 'POST' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ id: task.id, state: 'running' });

    const view = await stage.h.waitForState(task.id, ['finished'], 10_000);
    expect(view.endReason).toBe('cancelled');
    expect(view.error).toBeNull();
    await until(async () => ((await processesWith(tag)).length === 0 ? true : undefined), 'the command to be killed', 5_000);
    const result = stage.h.core.store.events(task.id).find((e) => e.type === 'tool_result');
    expect(result).toMatchObject({ name: 'run_command' });
    // The slot frees once the worktree is removed, just after the task is stored as finished.
    await until(() => (stage.h.core.queue.running().includes(task.id) ? undefined : true), 'the queue slot to free');
  });

  it('stops a task waiting on the model (model `hang`)', async () => {
    const task = await stage.h.submit({ repo: stage.repo.root, prompt: 'wait', model: 'hang' });
    await until(() => (stage.h.core.store.events(task.id).some((e) => e.type === 'step') ? true : undefined), 'the first model call');
    expect((await stage.h.api(`/api/tasks/${task.id}/cancel`, { method: 'POST' })).status).toBe(202);
    const view = await stage.h.waitForState(task.id, ['finished']);
    expect(view.endReason).toBe('cancelled');
    expect(stage.h.core.store.events(task.id).at(-1)).toMatchObject({ type: 'finished', reason: 'cancelled' });
  });

  it('finishes a queued task as cancelled at once; it never runs', async () => {
    const blocker = await stage.h.submit({ repo: stage.repo.root, prompt: 'wait', model: 'hang', session: 'cancel-queued' });
    await stage.h.waitForState(blocker.id, ['running']);
    const queued = await stage.h.submit({ repo: stage.repo.root, prompt: 'Fix add()', model: 'fix', session: 'cancel-queued' });
    const before = await stage.h.json(`/api/tasks/${queued.id}`);
    expect(before).toMatchObject({ state: 'queued', queuePosition: expect.any(Number) });

    const res = await stage.h.api(`/api/tasks/${queued.id}/cancel`, { method: 'POST' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ id: queued.id, state: 'finished' });
    expect(await stage.h.json(`/api/tasks/${queued.id}`)).toMatchObject({ state: 'finished', endReason: 'cancelled', startedAt: null, durationMs: null, queuePosition: null });

    await stage.h.api(`/api/tasks/${blocker.id}/cancel`, { method: 'POST' });
    await stage.h.waitForState(blocker.id, ['finished']);
    await new Promise((r) => setTimeout(r, 200));
    expect(stage.h.core.store.get(queued.id)!.startedAt).toBeUndefined();
    expect(stage.h.core.store.events(queued.id)).toEqual([]);
  });

  it('a finished task: 409', async () => {
    const task = await stage.h.submit({ repo: stage.repo.root, prompt: 'quick', model: 'quick' });
    await stage.h.waitForState(task.id, ['finished']);
    const res = await stage.h.api(`/api/tasks/${task.id}/cancel`, { method: 'POST' });
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ error: { code: 'conflict', message: expect.stringContaining('already finished') } });
  });
});
