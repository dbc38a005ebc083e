/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { Unauthorized, problem, type Api } from './api.js';
import { renderDiff } from './diff-view.js';
import { fill, h } from './dom.js';
import { badge, durationOf, issueLinks, repoCell, timeOf, titleOf, tokensOf } from './format.js';
import { createRunLog } from './run-log.js';
import { HttpError } from './sse.js';
import type { TaskStore } from './task-store.js';
import { isActive, type TaskView } from './types.js';
import { backoff, wait } from './wait.js';

function meta(label: string, ...value: (Node | string)[]): HTMLElement {
  return h('div', {}, h('dt', {}, label), h('dd', {}, ...value));
}

/** One run: its header, its log streaming live, its diff once it ends, and Cancel while it can. */
export function taskPage(root: HTMLElement, id: string, api: Api, store: TaskStore): () => void {
  const controller = new AbortController();
  const { signal } = controller;
  const title = h('h1', { id: 'run-title' });
  const state = h('span');
  const cancel = h('button', { type: 'button', class: 'danger', hidden: true }, 'Cancel run');
  const cancelNote = h('span', { class: 'muted', role: 'status' });
  const details = h('dl', { class: 'meta' });
  const outcome = h('div');
  const log = createRunLog();
  const diff = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const duration = h('span');
  let cancelling = false;
  let diffLoaded = false;

  fill(
    root,
    h('a', { class: 'back', href: '#/' }, '← All runs'),
    h(
      'section',
      { class: 'panel run-head', 'aria-labelledby': 'run-title' },
      title,
      h('div', { class: 'line' }, state, h('span', { class: 'actions' }, cancelNote, cancel)),
      details,
      outcome,
    ),
    h('section', { class: 'panel', 'aria-labelledby': 'log-title' }, h('div', { class: 'section-head' }, h('h2', { id: 'log-title' }, 'Log'), log.status), log.list),
    h('section', { class: 'panel', 'aria-labelledby': 'diff-title' }, h('h2', { id: 'diff-title' }, 'Changes'), diff),
  );
  title.textContent = `Run ${id}`;

  function renderHead(task: TaskView): void {
    title.textContent = titleOf(task);
    document.title = `${titleOf(task)} · autocoder`;
    const tokens = tokensOf(task);
    fill(state, badge(task), h('span', { class: 'source' }, task.source === 'github' ? 'GitHub' : 'API'), ' ', h('span', { class: 'muted' }, task.id));
    fill(
      details,
      meta('Repository', repoCell(task)),
      meta('Issue / PR', issueLinks(task)),
      meta('Model', task.model ?? '—'),
      meta('Duration', duration),
      meta('Tokens', tokens.title ? h('span', { title: tokens.title }, tokens.text) : tokens.text),
      meta('Created', timeOf(task.createdAt)),
      meta('Started', timeOf(task.startedAt)),
      meta('Finished', timeOf(task.finishedAt)),
      ...(task.sessionId ? [meta('Session', task.sessionId)] : []),
    );
    duration.textContent = durationOf(task);
    const files = task.changedFiles ?? [];
    fill(
      outcome,
      task.summary ? h('p', { class: 'summary' }, task.summary) : null,
      task.error ? h('p', { class: 'summary error' }, `Error: ${task.error}`) : null,
      files.length > 0 ? h('ul', { class: 'files', 'aria-label': 'Changed files' }, ...files.map((file) => h('li', {}, `${file.change} ${file.path}`))) : null,
    );
    const active = isActive(task);
    // A run still being received from GitHub cannot be cancelled yet (the API answers 409).
    cancel.hidden = task.state !== 'queued' && task.state !== 'running';
    cancel.disabled = cancelling;
    cancel.textContent = cancelling ? 'Cancelling…' : 'Cancel run';
    if (!active) {
      cancelNote.textContent = cancelling ? `The run ended: ${task.endReason ?? task.state}.` : '';
      cancelling = false;
      if (!diffLoaded) void loadDiff();
    }
  }

  async function loadDiff(): Promise<void> {
    diffLoaded = true;
    try {
      const text = await api.getDiff(id);
      if (signal.aborted) return;
      fill(diff, text && text.trim() ? renderDiff(text) : h('p', { class: 'muted' }, 'No changes.'));
    } catch (error) {
      if (error instanceof Unauthorized) return;
      diffLoaded = false;
      fill(diff, h('p', { class: 'error' }, `The diff cannot be loaded: ${problem(error)}.`));
    }
  }

  cancel.addEventListener('click', async () => {
    cancelling = true;
    cancel.disabled = true;
    cancel.textContent = 'Cancelling…';
    cancelNote.textContent = '';
    try {
      await api.cancel(id);
      cancelNote.textContent = 'Cancel requested.';
    } catch (error) {
      if (error instanceof Unauthorized) return;
      cancelling = false;
      cancel.disabled = false;
      cancel.textContent = 'Cancel run';
      cancelNote.textContent = `Cannot cancel: ${problem(error)}.`;
    }
  });

  /** The run's events from the start, live; after a drop, again from where it stopped. */
  async function follow(): Promise<void> {
    const delays = backoff();
    let finished = false;
    while (!signal.aborted && !finished) {
      try {
        log.setStatus(log.progress() || (store.get(id)?.state === 'queued' ? 'waiting in the queue…' : 'streaming…'));
        await api.watchEvents(id, log.lastSeq, signal, (event) => {
          log.add(event);
          delays.reset();
          if (event.type === 'finished') finished = true;
          log.setStatus(finished ? 'ended' : log.progress() || 'streaming…');
        });
      } catch (error) {
        if (error instanceof Unauthorized || signal.aborted) return;
      }
      if (finished || signal.aborted) break;
      // The stream ended without `finished`: a run that never ran (rejected, answered) has no more to say.
      await refresh();
      const task = store.get(id);
      if (task && !isActive(task)) break;
      const delay = delays.next();
      log.setStatus(`connection lost; reconnecting in ${Math.round(delay / 1000)}s`);
      await wait(delay, signal);
    }
    if (signal.aborted) return;
    log.end();
    // The header may trail the log by a moment: ask for the final state now.
    await refresh();
  }

  async function refresh(): Promise<void> {
    try {
      store.put(await api.getTask(id));
    } catch {
      // the live stream or the next attempt brings it
    }
  }

  const unsubscribe = store.subscribe((task) => {
    const current = store.get(id);
    if (current && (!task || task.id === id)) renderHead(current);
  });
  const ticker = setInterval(() => {
    const task = store.get(id);
    if (task?.state === 'running') duration.textContent = durationOf(task);
  }, 1000);

  void (async () => {
    const known = store.get(id);
    if (known) renderHead(known);
    try {
      store.put(await api.getTask(id));
    } catch (error) {
      if (error instanceof Unauthorized || signal.aborted) return;
      if (error instanceof HttpError && error.status === 404) {
        fill(root, h('a', { class: 'back', href: '#/' }, '← All runs'), h('section', { class: 'panel' }, h('h1', {}, 'No such run'), h('p', {}, `There is no run with the id ${id}.`)));
        return;
      }
      if (!known) fill(outcome, h('p', { class: 'error' }, `The run cannot be loaded: ${problem(error)}.`));
    }
    const task = store.get(id);
    if (task && isActive(task)) fill(diff, h('p', { class: 'muted' }, 'The changes appear here when the run ends.'));
    await follow();
  })();

  return () => {
    controller.abort();
    unsubscribe();
    clearInterval(ticker);
  };
}
