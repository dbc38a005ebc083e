import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApiError } from './http.js';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * Whether the request carries `Authorization: Bearer <token>`. Both sides are hashed first so the
 * comparison is constant-time whatever their lengths, and says nothing about the token's length.
 */
export function hasBearer(req: IncomingMessage, token: string): boolean {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '');
  return match !== null && timingSafeEqual(digest(match[1]), digest(token));
}

export function unauthorized(): ApiError {
  return new ApiError(401, 'unauthorized', 'this route needs the API token: send the header Authorization: Bearer <AUTOCODER_API_TOKEN>', {
    'www-authenticate': 'Bearer realm="autocoder"',
  });
}

/** Throws the 401 unless the request carries the token. */
export function requireBearer(req: IncomingMessage, token: string): void {
  if (!hasBearer(req, token)) throw unauthorized();
}
