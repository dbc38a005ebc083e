import { z } from 'zod';
import { attemptOutcomeSchema, runEventSchema } from '../engine/events.js';
import type { Route } from './router.js';
import { cancelResultSchema, createdTaskSchema, createTaskBodySchema, errorSchema, healthSchema, taskListSchema } from './schemas.js';
import { taskViewSchema } from './task-view.js';

/** The named schemas of the description; anything else is written inline. */
const NAMED: [z.ZodType, string][] = [
  [taskViewSchema, 'TaskView'],
  [taskListSchema, 'TaskList'],
  [createTaskBodySchema, 'CreateTask'],
  [createdTaskSchema, 'CreatedTask'],
  [cancelResultSchema, 'CancelResult'],
  [errorSchema, 'Error'],
  [healthSchema, 'Health'],
  [runEventSchema, 'RunEvent'],
  [attemptOutcomeSchema, 'AttemptOutcome'],
];

const STATUS_TEXT: Record<number, string> = {
  200: 'OK', 202: 'Accepted', 400: 'The request is malformed: the message names the field', 401: 'The bearer token is missing or wrong',
  404: 'No such task', 409: 'The task is already over', 413: 'The body is larger than 1 MB', 503: 'Not healthy: the reason is given',
};

type JsonSchema = Record<string, unknown>;

function strip(schema: JsonSchema): JsonSchema {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

/**
 * The OpenAPI 3.1 description of the routes, made from the very zod schemas that validate
 * requests and shape answers, so the description cannot drift from the code.
 */
export function buildOpenApi(routes: Route[], info: { version: string }): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  for (const [schema, id] of NAMED) registry.add(schema, { id });
  const components = z.toJSONSchema(registry, { uri: (id) => `#/components/schemas/${id}`, unrepresentable: 'any' }).schemas as Record<string, JsonSchema>;
  const ref = (schema: z.ZodType, io: 'input' | 'output' = 'output'): JsonSchema => {
    const id = registry.get(schema)?.id;
    return id ? { $ref: `#/components/schemas/${id}` } : strip(z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema);
  };

  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:(\w+)/g, '{$1}');
    const parameters: unknown[] = [...route.path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    for (const [name, field] of Object.entries(route.doc.query?.shape ?? {})) {
      parameters.push({ name, in: 'query', required: false, schema: strip(z.toJSONSchema(field as z.ZodType, { io: 'output', unrepresentable: 'any' }) as JsonSchema) });
    }
    if (route.path.endsWith('/events') && route.path.includes(':id')) {
      parameters.push({ name: 'Last-Event-ID', in: 'header', required: false, description: 'Resume after this seq', schema: { type: 'integer' } });
    }
    const responses = Object.fromEntries(
      Object.entries(route.doc.responses).map(([status, answer]) => {
        const description = STATUS_TEXT[Number(status)] ?? 'Answer';
        if (answer instanceof z.ZodType) return [status, { description, content: { 'application/json': { schema: ref(answer) } } }];
        return [status, {
          description: answer.description,
          content: { [answer.mediaType]: { schema: { type: 'string' }, ...(answer.schema ? { 'x-item-schema': ref(answer.schema) } : {}) } },
        }];
      }),
    );
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = {
      summary: route.doc.summary,
      ...(route.doc.description ? { description: route.doc.description } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(route.doc.body ? { requestBody: { required: true, content: { 'application/json': { schema: ref(route.doc.body, 'input') } } } } : {}),
      responses,
      security: route.doc.auth === false ? [] : [{ bearer: [] }],
    };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'autocoder',
      version: info.version,
      description:
        'The REST API of autocoder, served when AUTOCODER_API_TOKEN is set. Every /api route, this description included, ' +
        'needs `Authorization: Bearer <AUTOCODER_API_TOKEN>`. Errors are `{ error: { code, message } }`.',
    },
    paths,
    components: { schemas: Object.fromEntries(Object.entries(components).map(([id, schema]) => [id, strip(schema)])), securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  };
}
