import type { RunEvent } from './events.js';

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function field(args: unknown, key: string): string | undefined {
  if (args && typeof args === 'object' && key in args) {
    const value = (args as Record<string, unknown>)[key];
    return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
  }
  return undefined;
}

/** A tool call in a few words, for a person: `read_file src/a.ts:10-40`, `run_command \`npm test\``. */
export function describeToolCall(name: string, args: unknown): string {
  if (typeof args === 'string') return `${name} (arguments that are not JSON)`;
  const path = field(args, 'path');
  switch (name) {
    case 'read_file': {
      const start = field(args, 'start_line');
      const end = field(args, 'end_line');
      const range = start || end ? `:${start ?? 1}-${end ?? ''}` : '';
      return `read_file ${path ?? '?'}${range}`;
    }
    case 'search_code':
      return `search_code "${oneLine(field(args, 'query') ?? '', 60)}"${path ? ` in ${path}` : ''}`;
    case 'run_command':
      return `run_command \`${oneLine(field(args, 'command') ?? '', 100)}\``;
    case 'list_files':
      return `list_files ${path ?? '.'}`;
    case 'finish':
      return 'finish';
    default:
      return path ? `${name} ${path}` : name;
  }
}

function firstLine(text: string): string {
  return oneLine(text.split('\n').find((line) => line.trim()) ?? '', 120);
}

/**
 * One line for a person per event that is worth a line, or undefined. The CLI's text output,
 * the run log in pull requests and the dashboard all read runs through this.
 */
export function describeEvent(event: RunEvent): string | undefined {
  switch (event.type) {
    case 'started':
      return `${event.resumed ? 'continuing session' : 'session'} ${event.sessionId} · model ${event.model}`;
    case 'model_text':
      return `💬 ${oneLine(event.text, 200)}`;
    case 'tool_call':
      return `▸ ${describeToolCall(event.name, event.args)}`;
    case 'tool_result':
      if (event.name === 'run_command') {
        return `  ${event.ok ? '✓' : '✗'} ${event.exitCode === null || event.exitCode === undefined ? firstLine(event.output) : `exit ${event.exitCode}`} (${(event.durationMs / 1000).toFixed(1)}s)`;
      }
      return event.ok ? undefined : `  ✗ ${firstLine(event.output)}`;
    case 'retry':
      return `↻ ${event.reason}; retrying in ${(event.delayMs / 1000).toFixed(1)}s (attempt ${event.attempt})`;
    case 'compacted':
      return `⋯ compacted ${event.messages} old tool outputs (${event.removedChars} characters) to stay within the context window`;
    case 'error':
      return `error (${event.code}): ${event.message}`;
    case 'finished': {
      const files = event.changedFiles.length;
      return `■ ${event.reason} after ${event.steps} steps, ${files} file${files === 1 ? '' : 's'} changed, ${event.usage.totalTokens} tokens, ${(event.durationMs / 1000).toFixed(1)}s`;
    }
    default:
      return undefined;
  }
}
