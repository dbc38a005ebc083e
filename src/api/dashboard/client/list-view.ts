/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { problem } from './api.js';
import { fill, h } from './dom.js';
import { badge, durationOf, issueLinks, repoCell, timeOf, titleOf, tokensOf } from './format.js';
import type { TaskStore } from './task-store.js';
import { isActive, type TaskView } from './types.js';

const COLUMNS = ['State', 'Run', 'Repository', 'Issue / PR', 'Model', 'Duration', 'Tokens', 'Created'] as const;
const NUMERIC = new Set<string>(['Duration', 'Tokens']);

type Filter = { source: string; state: string };

function matches(task: TaskView, filter: Filter): boolean {
  if (filter.source && task.source !== filter.source) return false;
  if (filter.state === 'active') return isActive(task);
  if (filter.state === 'ended') return !isActive(task);
  return true;
}

function cell(label: (typeof COLUMNS)[number], className: string | undefined, ...content: (Node | string)[]): HTMLElement {
  const classes = [className, NUMERIC.has(label) ? 'num' : undefined].filter(Boolean).join(' ');
  return h('td', { 'data-label': label, class: classes || undefined }, ...content);
}

function row(task: TaskView): HTMLTableRowElement {
  const tokens = tokensOf(task);
  return h(
    'tr',
    { 'data-id': task.id, 'data-state': task.state },
    cell('State', undefined, badge(task)),
    cell(
      'Run',
      'title',
      h('a', { href: `#/tasks/${encodeURIComponent(task.id)}` }, titleOf(task)),
      h('span', { class: 'sub' }, task.id, h('span', { class: 'source' }, task.source === 'github' ? 'GitHub' : 'API')),
    ),
    cell('Repository', 'repo', repoCell(task)),
    cell('Issue / PR', undefined, issueLinks(task)),
    cell('Model', undefined, task.model ?? '—'),
    cell('Duration', 'duration', durationOf(task)),
    cell('Tokens', undefined, tokens.title ? h('span', { title: tokens.title }, tokens.text) : tokens.text),
    cell('Created', undefined, timeOf(task.createdAt)),
  );
}

function select(id: string, label: string, options: [string, string][], onChange: (value: string) => void): HTMLElement {
  const input = h('select', { id }, ...options.map(([value, text]) => h('option', { value }, text)));
  input.addEventListener('change', () => onChange(input.value));
  return h('label', { for: id }, label, input);
}

/** Every run, newest first; rows appear and change in place as the live stream reports them. */
export function listView(root: HTMLElement, store: TaskStore): () => void {
  const filter: Filter = { source: '', state: '' };
  const body = h('tbody');
  const note = h('p', { class: 'empty', role: 'status' });
  const table = h(
    'table',
    { class: 'tasks' },
    h('caption', { class: 'visually-hidden' }, 'Runs, newest first'),
    h('thead', {}, h('tr', {}, ...COLUMNS.map((name) => h('th', { scope: 'col', class: NUMERIC.has(name) ? 'num' : undefined }, name)))),
    body,
  );
  fill(
    root,
    h(
      'div',
      { class: 'toolbar' },
      h('h1', {}, 'Runs'),
      select('filter-source', 'Source', [['', 'All'], ['github', 'GitHub'], ['api', 'API']], (value) => {
        filter.source = value;
        renderAll();
      }),
      select('filter-state', 'State', [['', 'All'], ['active', 'Active'], ['ended', 'Ended']], (value) => {
        filter.state = value;
        renderAll();
      }),
    ),
    table,
    note,
  );
  document.title = 'Runs · autocoder';

  function renderNote(): void {
    const { loaded, error } = store.status();
    const shown = body.rows.length;
    note.textContent = shown > 0 ? '' : error && !loaded ? `The runs cannot be loaded: ${problem(error)}.` : !loaded ? 'Loading…' : filter.source || filter.state ? 'No runs match.' : 'No runs yet. A run appears here when an issue asks autocoder for work or a task is sent to POST /api/tasks.';
    note.hidden = shown > 0;
  }

  function renderAll(): void {
    body.replaceChildren(...store.all().filter((task) => matches(task, filter)).map(row));
    renderNote();
  }

  /** One task changed: its row is replaced in place, or put where it belongs by age. */
  function renderOne(task: TaskView): void {
    const existing = body.querySelector<HTMLTableRowElement>(`tr[data-id="${CSS.escape(task.id)}"]`);
    if (!matches(task, filter)) existing?.remove();
    else if (existing) existing.replaceWith(row(task));
    else {
      const order = store.all().filter((t) => matches(t, filter));
      const next = order.slice(order.findIndex((t) => t.id === task.id) + 1).find((t) => body.querySelector(`tr[data-id="${CSS.escape(t.id)}"]`));
      body.insertBefore(row(task), next ? body.querySelector(`tr[data-id="${CSS.escape(next.id)}"]`) : null);
    }
    renderNote();
  }

  renderAll();
  const unsubscribe = store.subscribe((task) => (task ? renderOne(task) : renderAll()));
  // Running runs' durations go on counting.
  const ticker = setInterval(() => {
    for (const tr of body.querySelectorAll<HTMLTableRowElement>('tr[data-state="running"]')) {
      const task = store.get(tr.dataset.id ?? '');
      const cellElement = tr.querySelector('td.duration');
      if (task && cellElement) cellElement.textContent = durationOf(task);
    }
  }, 1000);
  return () => {
    unsubscribe();
    clearInterval(ticker);
  };
}
