import type { ServerResponse } from 'node:http';

export const HEARTBEAT_MS = 15_000;

export interface SseStream {
  /** One event; `id` is what a reader sends back as `Last-Event-ID` to resume. */
  send(event: string, data: unknown, id?: number | string): void;
  end(): void;
  /** Runs when the stream ends, whoever ended it. */
  onClose(listener: () => void): void;
  readonly closed: boolean;
}

/**
 * Starts a server-sent-events answer. Comments every `heartbeatMs` keep proxies and load balancers
 * from closing a quiet stream; a reader that goes away ends it.
 */
export function openSse(res: ServerResponse, heartbeatMs = HEARTBEAT_MS): SseStream {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    // nginx would otherwise buffer the stream.
    'x-accel-buffering': 'no',
  });
  res.write(': connected\n\n');
  const listeners: (() => void)[] = [];
  let closed = false;
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs);
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    for (const listener of listeners) listener();
  };
  // The response's `close` comes both when it ends and when the reader goes away.
  res.on('close', close);
  return {
    send(event, data, id) {
      if (closed) return;
      // JSON.stringify never yields a raw line break, so one `data:` line always holds the event.
      res.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end() {
      if (!closed) res.end();
      close();
    },
    onClose(listener) {
      if (closed) listener();
      else listeners.push(listener);
    },
    get closed() {
      return closed;
    },
  };
}

/**
 * The streams open now, so that a shutdown can end them: an open stream (`/api/events` never
 * ends by itself) would otherwise hold the HTTP server open for ever.
 */
export class SseHub {
  private readonly streams = new Set<SseStream>();

  constructor(private readonly heartbeatMs = HEARTBEAT_MS) {}

  open(res: ServerResponse): SseStream {
    const stream = openSse(res, this.heartbeatMs);
    this.streams.add(stream);
    stream.onClose(() => this.streams.delete(stream));
    return stream;
  }

  get size(): number {
    return this.streams.size;
  }

  endAll(): void {
    for (const stream of [...this.streams]) stream.end();
  }
}
