/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { formatNumber } from '../../../engine/describe.js';
import { classifyDiff } from './diff-lines.js';
import { h } from './dom.js';

/** Beyond this many lines the page stops drawing: a browser tab should not freeze on a huge diff. */
const MAX_LINES = 20_000;

/** A unified diff with added and removed lines coloured; text only, never markup. */
export function renderDiff(text: string): HTMLElement {
  const lines = classifyDiff(text);
  const pre = h('pre', { class: 'diff', tabindex: 0, 'aria-label': 'Unified diff' });
  const code = h('code');
  for (const line of lines.slice(0, MAX_LINES)) {
    // The +/- sign stays in the text, so the difference does not rest on colour alone.
    code.appendChild(h('span', { class: line.kind }, line.text));
  }
  pre.appendChild(code);
  if (lines.length <= MAX_LINES) return pre;
  return h('div', {}, pre, h('p', { class: 'muted' }, `Showing the first ${formatNumber(MAX_LINES)} of ${formatNumber(lines.length)} lines.`));
}
