import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
}

/** What the OpenAPI description says of a route; written next to the handler so the two agree. */
export interface RouteDoc {
  summary: string;
  description?: string;
  body?: z.ZodType;
  query?: z.ZodObject;
  /** Status → a JSON schema, or a media type with a description (and the schema of its items) for other answers. */
  responses: Record<number, z.ZodType | { mediaType: string; description: string; schema?: z.ZodType }>;
  /** Default true: the bearer token is needed. */
  auth?: boolean;
}

export interface Route {
  method: 'GET' | 'POST';
  /** `/api/tasks/:id` */
  path: string;
  handle(ctx: RouteContext): Promise<void> | void;
  doc: RouteDoc;
}

function compile(path: string): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  const source = path
    .split('/')
    .map((part) => {
      if (!part.startsWith(':')) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(part.slice(1));
      return '([^/]+)';
    })
    .join('/');
  return { regex: new RegExp(`^${source}$`), names };
}

export type Match = { route: Route; params: Record<string, string> } | { allowed: string[] };

/** Finds the route for a request; a known path asked with another method gets the methods it allows. */
export function createRouter(routes: Route[]) {
  const compiled = routes.map((route) => ({ route, ...compile(route.path) }));
  return (method: string, pathname: string): Match | undefined => {
    const allowed: string[] = [];
    for (const { route, regex, names } of compiled) {
      const found = regex.exec(pathname);
      if (!found) continue;
      if (route.method !== method) {
        allowed.push(route.method);
        continue;
      }
      let params: Record<string, string>;
      try {
        params = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(found[i + 1])]));
      } catch {
        continue;
      }
      return { route, params };
    }
    return allowed.length > 0 ? { allowed: [...new Set(allowed)].sort() } : undefined;
  };
}
