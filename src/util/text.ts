/**
 * Cuts text longer than `maxChars` in the middle, leaving a visible marker that says how much
 * was left out, so neither a person nor the model mistakes a cut text for the whole.
 */
export function truncateMiddle(text: string, maxChars: number, what = 'characters'): string {
  if (text.length <= maxChars) return text;
  const marker = (n: number) => `\n[... ${n} ${what} cut ...]\n`;
  const keep = Math.max(0, maxChars - marker(text.length).length);
  const head = Math.ceil(keep / 2);
  const tail = keep - head;
  const omitted = text.length - head - tail;
  return text.slice(0, head) + marker(omitted) + (tail > 0 ? text.slice(text.length - tail) : '');
}

/** Cuts text longer than `maxChars` at the end, with a marker. */
export function truncateEnd(text: string, maxChars: number, what = 'characters'): string {
  if (text.length <= maxChars) return text;
  return `${text.slice(0, maxChars)}\n[... ${text.length - maxChars} more ${what} cut ...]`;
}
