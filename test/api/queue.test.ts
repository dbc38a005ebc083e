import { describe, expect, it } from 'vitest';
import type { TaskView } from '../../src/api/task-view.js';
import { readSse, useHarness } from './harness.js';
import { MATH_FILES, scriptedModel } from './models.js';

const CONCURRENCY = 2;
const stage = useHarness({ model: scriptedModel, concurrency: CONCURRENCY }, MATH_FILES);

describe('many tasks at once', () => {
  it('20 submitted together all finish, never more than AUTOCODER_CONCURRENCY running, the rest visibly queued', async () => {
    // Follow every change live, and keep the state of each task as last seen.
    const controller = new AbortController();
    const states = new Map<string, string>();
    let maxRunning = 0;
    const following = readSse(await stage.h.api('/api/events', { signal: controller.signal }), (message) => {
      const view = JSON.parse(message.data!) as TaskView;
      states.set(view.id, view.state);
      maxRunning = Math.max(maxRunning, [...states.values()].filter((s) => s === 'running').length);
    }).catch(() => undefined);

    const created = await Promise.all(Array.from({ length: 20 }, (_, i) => stage.h.submit({ repo: stage.repo.root, prompt: `task ${i}`, model: 'quick' })));
    const ids = created.map((c) => c.id);

    const queued = (await stage.h.json('/api/tasks?state=queued&limit=200')).tasks as TaskView[];
    expect(queued.length).toBeGreaterThanOrEqual(20 - CONCURRENCY - 4);
    // Positions count from 1 in the order the queue takes them (oldest first; the list is newest first).
    expect(queued.map((t) => t.queuePosition).reverse()).toEqual(queued.map((_, i) => i + 1));

    let sampledMax = 0;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const running = (await stage.h.json('/api/tasks?state=running')).tasks as TaskView[];
      sampledMax = Math.max(sampledMax, running.length);
      const finished = (await stage.h.json('/api/tasks?state=finished&limit=200')).tasks as TaskView[];
      if (ids.every((id) => finished.some((t) => t.id === id))) break;
      if (Date.now() > deadline) throw new Error(`not all finished: ${finished.length}`);
      await new Promise((r) => setTimeout(r, 30));
    }
    controller.abort();
    await following;

    expect(sampledMax).toBeLessThanOrEqual(CONCURRENCY);
    expect(maxRunning).toBeLessThanOrEqual(CONCURRENCY);
    // It did run tasks side by side.
    expect(maxRunning).toBe(CONCURRENCY);
    for (const id of ids) expect(states.get(id)).toBe('finished');
    const views = await Promise.all(ids.map((id) => stage.h.json(`/api/tasks/${id}`)));
    expect(views.filter((v: TaskView) => v.endReason !== 'completed' || v.summary !== 'Nothing needed changing.')).toEqual([]);
  }, 90_000);
});
