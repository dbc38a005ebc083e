import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/engine/events.js';
import { readSse, type SseMessage, useHarness } from './harness.js';
import { MATH_FILES, scriptedModel } from './models.js';

const stage = useHarness({ model: scriptedModel, heartbeatMs: 100 }, MATH_FILES);

/** Checks the SSE framing of each message and returns the events it carries. */
function eventsOf(messages: SseMessage[]): RunEvent[] {
  return messages.map((message) => {
    const event = JSON.parse(message.data!) as RunEvent;
    expect(message.id).toBe(String(event.seq));
    expect(message.event).toBe(event.type);
    return event;
  });
}

const seqs = (events: RunEvent[]) => events.map((e) => e.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('GET /api/tasks/:id/events', () => {
  it('a reader connected before the task starts sees every event live, in order, and the stream closes at the end', async () => {
    // The second task of a session waits while the first runs: the reader is there before it starts.
    const blocker = await stage.h.submit({ repo: stage.repo.root, prompt: 'wait', model: 'hang', session: 'live' });
    await stage.h.waitForState(blocker.id, ['running']);
    const task = await stage.h.submit({ repo: stage.repo.root, prompt: 'Fix add()', model: 'fix', session: 'live' });
    expect(stage.h.core.store.events(task.id)).toEqual([]);

    const res = await stage.h.api(`/api/tasks/${task.id}/events`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reading = readSse(res);
    await stage.h.api(`/api/tasks/${blocker.id}/cancel`, { method: 'POST' });

    const { messages, comments } = await reading; // resolves only when the server ends the stream
    const events = eventsOf(messages);
    const stored = stage.h.core.store.events(task.id);
    expect(events).toEqual(stored);
    expect(seqs(events)).toEqual(range(0, stored.length - 1));
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['phase', 'started', 'tool_call', 'tool_result', 'file_changed', 'usage', 'finished']));
    expect(events.at(-1)!.type).toBe('finished');
    expect(comments).toContain('connected');
    expect((await stage.h.json(`/api/tasks/${task.id}`)).state).toBe('finished');
  });

  it('a reader that connects late gets the whole replay in order, then the stream closes', async () => {
    const task = await stage.h.submit({ repo: stage.repo.root, prompt: 'Fix add()', model: 'fix' });
    await stage.h.waitForState(task.id, ['finished']);
    const { messages } = await readSse(await stage.h.api(`/api/tasks/${task.id}/events`));
    const events = eventsOf(messages);
    expect(events).toEqual(stage.h.core.store.events(task.id));
    expect(seqs(events)).toEqual(range(0, events.length - 1));
    expect(events.find((e) => e.type === 'finished')).toMatchObject({ reason: 'completed', summary: 'Fixed add(): it subtracted.' });
  });

  it('resumes after Last-Event-ID (header or query), without repeating anything', async () => {
    const task = await stage.h.submit({ repo: stage.repo.root, prompt: 'Fix add()', model: 'fix' });
    await stage.h.waitForState(task.id, ['finished']);
    const last = stage.h.core.store.events(task.id).length - 1;
    const byHeader = eventsOf((await readSse(await stage.h.api(`/api/tasks/${task.id}/events`, { headers: { 'last-event-id': '3' } }))).messages);
    expect(seqs(byHeader)).toEqual(range(4, last));
    const byQuery = eventsOf((await readSse(await stage.h.api(`/api/tasks/${task.id}/events?lastEventId=3`))).messages);
    expect(seqs(byQuery)).toEqual(range(4, last));
    const res = await stage.h.api(`/api/tasks/${task.id}/events`, { headers: { 'last-event-id': 'soon' } });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/^lastEventId: /);
  });

  it('a reader in the middle of a run gets the replay then the live rest, with no gap and no duplicate', async () => {
    const task = await stage.h.submit({ repo: stage.repo.root, prompt: 'run: sleep 0.3; echo slept', model: 'command' });
    await stage.h.waitForState(task.id, ['running']);
    // Wait for some events, then join while the command runs and the model will hang.
    const deadline = Date.now() + 10_000;
    while (!stage.h.core.store.events(task.id).some((e) => e.type === 'tool_call') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const reading = readSse(await stage.h.api(`/api/tasks/${task.id}/events`));
    await new Promise((r) => setTimeout(r, 600));
    await stage.h.api(`/api/tasks/${task.id}/cancel`, { method: 'POST' });
    const events = eventsOf((await reading).messages);
    expect(events).toEqual(stage.h.core.store.events(task.id));
    expect(seqs(events)).toEqual(range(0, events.length - 1));
    expect(events.find((e) => e.type === 'tool_result')).toMatchObject({ name: 'run_command', ok: true });
    expect(events.at(-1)).toMatchObject({ type: 'finished', reason: 'cancelled' });
  });

  it('sends heartbeat comments while a task is quiet', async () => {
    const task = await stage.h.submit({ repo: stage.repo.root, prompt: 'wait', model: 'hang' });
    await stage.h.waitForState(task.id, ['running']);
    const reading = readSse(await stage.h.api(`/api/tasks/${task.id}/events`));
    await new Promise((r) => setTimeout(r, 350));
    await stage.h.api(`/api/tasks/${task.id}/cancel`, { method: 'POST' });
    const { comments } = await reading;
    expect(comments.filter((c) => c === 'heartbeat').length).toBeGreaterThanOrEqual(2);
  });

  it('a task that ended without running (cancelled while queued) closes at once after its (empty) replay', async () => {
    const blocker = await stage.h.submit({ repo: stage.repo.root, prompt: 'wait', model: 'hang', session: 'queued-cancel' });
    await stage.h.waitForState(blocker.id, ['running']);
    const task = await stage.h.submit({ repo: stage.repo.root, prompt: 'never', model: 'fix', session: 'queued-cancel' });
    await stage.h.api(`/api/tasks/${task.id}/cancel`, { method: 'POST' });
    const { messages } = await readSse(await stage.h.api(`/api/tasks/${task.id}/events`));
    expect(messages).toEqual([]);
    await stage.h.api(`/api/tasks/${blocker.id}/cancel`, { method: 'POST' });
  });
});

describe('GET /api/events', () => {
  it('sends every change of every task as a TaskView', async () => {
    const controller = new AbortController();
    const seen: { id: string; state: string }[] = [];
    const res = await stage.h.api('/api/events', { signal: controller.signal });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reading = readSse(res, (message) => {
      expect(message.event).toBe('task');
      seen.push(JSON.parse(message.data!));
    }).catch(() => undefined);
    const task = await stage.h.submit({ repo: stage.repo.root, prompt: 'Fix add()', model: 'fix' });
    await stage.h.waitForState(task.id, ['finished']);
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    await reading;
    // The server noticed the reader left, and let go of its stream.
    const deadline = Date.now() + 5_000;
    while (stage.h.openStreams() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(stage.h.openStreams()).toBe(0);
    const states = seen.filter((v) => v.id === task.id).map((v) => v.state);
    expect(states[0]).toBe('queued');
    expect(states).toContain('running');
    expect(states.at(-1)).toBe('finished');
    expect(seen.filter((v) => v.id === task.id).at(-1)).toMatchObject({ summary: 'Fixed add(): it subtracted.', endReason: 'completed' });
  });
});
