import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';

/** An answer other than success, rendered as `{ error: { code, message } }` with its status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} does not exist`);

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

export function sendError(res: ServerResponse, error: ApiError): void {
  sendJson(res, error.status, { error: { code: error.code, message: error.message } }, error.headers);
}

/** The largest request body the API reads. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Past this much, a body that was already refused is no longer drained: the connection is dropped. */
const DRAIN_LIMIT_BYTES = 16 * MAX_BODY_BYTES;

function tooLarge(limit: number): ApiError {
  return new ApiError(413, 'payload_too_large', `the request body is larger than ${limit} bytes`);
}

/**
 * The request body as text, refused with 413 past `limit`. A refused body is drained rather than
 * cut off, so the client reads the 413 instead of a reset connection.
 */
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  return (await readBodyBytes(req, limit)).toString('utf8');
}

/** {@link readBody}, as the bytes that were sent (a webhook's signature is over them). */
export function readBodyBytes(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      parts.length = 0;
      reject(error);
    };
    if (Number(req.headers['content-length']) > limit) fail(tooLarge(limit));
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > DRAIN_LIMIT_BYTES) req.destroy();
      if (settled) return;
      if (size > limit) fail(tooLarge(limit));
      else parts.push(chunk);
    });
    req.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(parts.length === 1 ? parts[0] : Buffer.concat(parts));
    });
    req.on('error', fail);
  });
}

/** The body parsed as JSON; a malformed one is a 400 that carries the parser's reason. */
export async function readJson(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  const text = await readBody(req, limit);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, 'invalid_json', `the request body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Zod's issues as one sentence that names every field that is wrong or unknown. */
export function describeIssues(issues: z.core.$ZodIssue[], what: string): string {
  return issues
    .map((issue) => {
      const at = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') {
        const names = issue.keys.map((key) => JSON.stringify(key)).join(', ');
        return `unknown field${issue.keys.length > 1 ? 's' : ''} ${names}${at ? ` in ${at}` : ''}`;
      }
      return `${at || what}: ${issue.message}`;
    })
    .join('; ');
}

/** Validates with one schema; a failure is a 400 naming the fields. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ApiError(400, 'invalid_request', describeIssues(parsed.error.issues, what));
  return parsed.data;
}
