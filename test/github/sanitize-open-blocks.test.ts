import { describe, expect, it } from 'vitest';
import { neutraliseMarkdown, outsideCode } from '../../src/github/sanitize.js';

/** What GitHub would render as prose once `text` is followed by more of our body. */
const proseAfter = (text: string) => {
  const kept: string[] = [];
  outsideCode(`${neutraliseMarkdown(text)}\n\nFixes #1`, (prose) => (kept.push(prose), prose));
  return kept.join('');
};

describe('model text that leaves a block open', () => {
  it('closes a code block it never closes, with the fence it opened', () => {
    expect(proseAfter('Done.\n```js\nconst a = 1;')).toContain('Fixes #1');
    expect(proseAfter('Done.\n~~~~\nstill code\n```')).toContain('Fixes #1');
    expect(neutraliseMarkdown('x\n````\ny')).toBe('x\n````\ny\n````');
  });

  it('closes a <details> it never closes, and leaves balanced ones alone', () => {
    expect(neutraliseMarkdown('<details><summary>a</summary>\n\nb')).toBe('<details><summary>a</summary>\n\nb\n\n</details>\n');
    expect(neutraliseMarkdown('<details><summary>a</summary>b</details>')).toBe('<details><summary>a</summary>b</details>');
    // Inside code a tag is text, and is not counted.
    expect(neutraliseMarkdown('`<details>` is a tag')).toBe('`<details>` is a tag');
  });
});
