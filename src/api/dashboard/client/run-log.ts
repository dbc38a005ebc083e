/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { describeRun, formatNumber } from '../../../engine/describe.js';
import { h } from './dom.js';
import type { RunEvent } from './types.js';

/** How a line looks, by the mark the display rules put in front of it. */
function kindOf(line: string): string | undefined {
  if (line.startsWith('✖')) return 'error';
  if (line.startsWith('■')) return 'end';
  if (line.startsWith('💬')) return 'text';
  return undefined;
}

/**
 * A run's log as `describeRun` tells it (the same lines as the CLI and the pull request's run
 * log). Events are kept and the lines derived again once per frame: a tool's outcome is added
 * to its call's line when the result arrives, and only lines that changed touch the page.
 */
export function createRunLog() {
  const list = h('ol', { class: 'log', role: 'log', 'aria-label': 'Run log' });
  const status = h('span', { class: 'muted' });
  const events: RunEvent[] = [];
  let lastSeq = -1;
  let phase = '';
  let step = 0;
  let tokens: number | undefined;
  let scheduled = false;

  function draw(): void {
    scheduled = false;
    // Follow the end of the log only when the reader is already there.
    const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 24;
    const lines = describeRun(events);
    lines.forEach((line, index) => {
      const existing = list.children[index] as HTMLLIElement | undefined;
      if (existing?.textContent === line) return;
      const item = h('li', { 'data-kind': kindOf(line) }, line);
      if (existing) existing.replaceWith(item);
      else list.appendChild(item);
    });
    while (list.children.length > lines.length) list.lastElementChild!.remove();
    if (atEnd) list.scrollTop = list.scrollHeight;
  }

  return {
    list,
    status,
    /** Adds an event; a replayed one (seen before a reconnection) is skipped. */
    add(event: RunEvent): void {
      if (event.seq <= lastSeq) return;
      lastSeq = event.seq;
      events.push(event);
      if (event.type === 'phase') phase = event.phase;
      if (event.type === 'step') step = event.step;
      if (event.type === 'usage') tokens = event.total.totalTokens;
      if (!scheduled) {
        scheduled = true;
        requestAnimationFrame(draw);
      }
    },
    /** Where the run is, in a few words, beside the log's heading. */
    setStatus(text: string): void {
      status.textContent = text;
    },
    /** No more events will come. */
    end(): void {
      list.dataset.ended = '';
      status.textContent = 'ended';
    },
    progress(): string {
      return [phase, step ? `step ${step}` : '', tokens !== undefined ? `${formatNumber(tokens)} tokens` : ''].filter(Boolean).join(' · ');
    },
    get lastSeq() {
      return lastSeq;
    },
  };
}
