/** The page's pure pieces, in node: the SSE parser, the diff classifier, the order-proof task store. */
import { describe, expect, it } from 'vitest';
import { classifyDiff } from '../../src/api/dashboard/client/diff-lines.js';
import { createSseParser, type SseMessage } from '../../src/api/dashboard/client/sse.js';
import { createTaskStore } from '../../src/api/dashboard/client/task-store.js';
import type { TaskView } from '../../src/api/task-view.js';

function parseAll(...chunks: string[]): SseMessage[] {
  const messages: SseMessage[] = [];
  const feed = createSseParser((message) => messages.push(message));
  for (const chunk of chunks) feed(chunk);
  return messages;
}

describe('createSseParser', () => {
  it('reads events split anywhere, with CRLF, CR or LF line ends, and skips comments', () => {
    const text = ': connected\r\n\r\nid: 3\r\nevent: task\r\ndata: {"a":1}\r\n\r\nevent: x\rdata: one\rdata:two\r\rdata: last\n\n';
    const expected = [
      { id: '3', event: 'task', data: '{"a":1}' },
      { id: '3', event: 'x', data: 'one\ntwo' },
      { id: '3', event: 'message', data: 'last' },
    ];
    expect(parseAll(text)).toEqual(expected);
    // One character at a time: a CRLF cut in two is still one line end.
    expect(parseAll(...text.split(''))).toEqual(expected);
  });

  it('keeps an event without its blank line until the blank line comes', () => {
    expect(parseAll('data: half')).toEqual([]);
    expect(parseAll('data: half', '\n', '\n')).toEqual([{ event: 'message', data: 'half' }]);
  });
});

describe('classifyDiff', () => {
  it('tells file headers from removed lines that look like them', () => {
    const diff = ['diff --git a/x b/x', 'index 1..2 100644', '--- a/x', '+++ b/x', '@@ -1,2 +1,2 @@', ' same', '--- was a rule', '+++ is a rule', '\\ No newline at end of file', ''].join('\n');
    expect(classifyDiff(diff).map((line) => line.kind)).toEqual(['file', 'meta', 'meta', 'meta', 'hunk', 'context', 'del', 'add', 'context']);
    expect(classifyDiff('')).toEqual([]);
  });
});

describe('createTaskStore', () => {
  const view = (id: string, state: TaskView['state'], createdAt: string): TaskView =>
    ({ id, source: 'api', state, createdAt, changedFiles: [] }) as unknown as TaskView;

  it('never lets an older snapshot undo a newer state, and lists newest first', () => {
    const store = createTaskStore();
    const seen: (string | undefined)[] = [];
    store.subscribe((task) => seen.push(task ? `${task.id}:${task.state}` : 'list'));
    store.put(view('a', 'running', '2026-01-01T00:00:01Z'));
    store.put(view('a', 'finished', '2026-01-01T00:00:01Z'));
    // The list was fetched while the task was still queued, and arrives late.
    store.load([view('a', 'queued', '2026-01-01T00:00:01Z'), view('b', 'queued', '2026-01-01T00:00:02Z')]);
    expect(store.get('a')?.state).toBe('finished');
    expect(store.all().map((task) => task.id)).toEqual(['b', 'a']);
    expect(seen).toEqual(['a:running', 'a:finished', 'list']);
    expect(store.status()).toEqual({ loaded: true, error: undefined });
  });
});
