/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * Server-sent events over `fetch`, because EventSource cannot send the Authorization header and
 * the token must not go in a URL. The parser follows the HTML standard's rules for the format.
 */
export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

/** Feeds text in any pieces; calls `onMessage` for each complete event. */
export function createSseParser(onMessage: (message: SseMessage) => void): (chunk: string) => void {
  let buffer = '';
  let data: string[] = [];
  let event = '';
  let id: string | undefined;

  const line = (text: string) => {
    if (text === '') {
      if (data.length > 0) onMessage({ id, event: event || 'message', data: data.join('\n') });
      data = [];
      event = '';
      return;
    }
    if (text.startsWith(':')) return; // a comment, used as a keep-alive
    const colon = text.indexOf(':');
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
    else if (field === 'id' && !value.includes('\0')) id = value;
  };

  return (chunk) => {
    buffer += chunk;
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer[i];
      if (c !== '\n' && c !== '\r') continue;
      // A CR at the very end may be the first half of CRLF: wait for the next piece.
      if (c === '\r' && i === buffer.length - 1) break;
      line(buffer.slice(start, i));
      if (c === '\r' && buffer[i + 1] === '\n') i++;
      start = i + 1;
    }
    buffer = buffer.slice(start);
  };
}

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface StreamOptions {
  headers: Record<string, string>;
  signal: AbortSignal;
  /** Called once the server has answered 200, before any event. */
  onOpen?: () => void;
}

/** Reads one stream to its end; resolves when the server closes it, rejects on an error status. */
export async function readSse(url: string, options: StreamOptions, onMessage: (message: SseMessage) => void): Promise<void> {
  const response = await fetch(url, {
    headers: { accept: 'text/event-stream', ...options.headers },
    signal: options.signal,
    cache: 'no-store',
  });
  if (!response.ok || !response.body) throw new HttpError(response.status, `${url} answered ${response.status}`);
  options.onOpen?.();
  const parse = createSseParser(onMessage);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parse(value);
    }
  } finally {
    reader.releaseLock();
  }
}
