/**
 * The GitHub emulator's GraphQL side: it reads the one operation it answers,
 * `markPullRequestReadyForReview` (what takes a pull request out of draft; REST cannot), and
 * answers anything else with an error in GraphQL's shape (`{ errors: [{ message, locations }] }`,
 * HTTP 200, as GitHub does). Not a GraphQL parser: a document is read as what Octokit sends for
 * this mutation, with aliases, comments, a named operation, variables or literals.
 */

export interface GraphqlError {
  message: string;
  type?: string;
  path?: string[];
  locations?: { line: number; column: number }[];
}

export interface ReadyMutation {
  /** The response key: the field's alias, or its name. */
  key: string;
  pullRequestId: string;
  /** `pullRequest { ... }`'s field names; undefined when it was not asked for. */
  pullRequestFields?: string[];
  clientMutationId: boolean;
  location: { line: number; column: number };
}

/** The PullRequest fields the emulator can answer. */
export const PULL_REQUEST_FIELDS = ['id', 'number', 'isDraft', 'url', 'title', 'state'] as const;
export type PullRequestField = (typeof PULL_REQUEST_FIELDS)[number];

const MUTATION =
  /^\s*mutation\b\s*(?:\w+\s*)?(?:\(([^)]*)\)\s*)?\{\s*(?:(\w+)\s*:\s*)?(markPullRequestReadyForReview)\s*\(\s*input\s*:\s*\{\s*pullRequestId\s*:\s*(\$\w+|"(?:[^"\\]|\\.)*")\s*\}\s*\)\s*\{([^]*)\}\s*\}\s*$/d;

function locate(text: string, index: number): { line: number; column: number } {
  const before = text.slice(0, index).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}


/** The mutation a request body asks for, or the error GitHub-like GraphQL would answer. */
export function parseReadyMutation(body: unknown): ReadyMutation | GraphqlError {
  const record = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  if (typeof record.query !== 'string') return { message: 'A query attribute must be specified and must be a string.' };
  const variables = record.variables && typeof record.variables === 'object' ? (record.variables as Record<string, unknown>) : {};
  // Comments run to the end of the line; the positions in errors stay those of the text sent.
  const query = record.query.replace(/#[^\n]*/g, (c) => ' '.repeat(c.length));
  const m = MUTATION.exec(query);
  if (!m) {
    return { message: 'github-emulator answers only the markPullRequestReadyForReview mutation (one field, input: { pullRequestId })', locations: [{ line: 1, column: 1 }] };
  }
  const [, definitions = '', alias, field, argument, selection] = m;
  const location = locate(query, m.indices![3][0]);

  let pullRequestId: unknown;
  if (argument.startsWith('$')) {
    const name = argument.slice(1);
    if (!new RegExp(`\\$${name}\\s*:\\s*ID!`).test(definitions)) {
      return { message: `Variable $${name} is used by ${field} but not declared as ID!`, locations: [location] };
    }
    pullRequestId = variables[name];
    if (typeof pullRequestId !== 'string') {
      return { message: `Variable $${name} of type ID! was provided invalid value`, locations: [location], type: 'INVALID_VARIABLE' };
    }
  } else {
    pullRequestId = JSON.parse(argument);
  }

  // The payload's selection: `pullRequest { a b }` and `clientMutationId`, nothing else.
  let rest = selection;
  let pullRequestFields: string[] | undefined;
  const pr = /\bpullRequest\s*\{([^{}]*)\}/.exec(rest);
  if (pr) {
    pullRequestFields = pr[1].split(/[\s,]+/).filter(Boolean);
    const unknown = pullRequestFields.find((f) => !(PULL_REQUEST_FIELDS as readonly string[]).includes(f));
    if (unknown) return { message: `Field '${unknown}' doesn't exist on type 'PullRequest'`, locations: [location], path: [field, 'pullRequest', unknown] };
    rest = rest.replace(pr[0], ' ');
  }
  const others = rest.split(/[\s,]+/).filter(Boolean);
  const odd = others.find((f) => f !== 'clientMutationId');
  if (odd) return { message: `Field '${odd}' doesn't exist on type 'MarkPullRequestReadyForReviewPayload'`, locations: [location], path: [field, odd] };
  if (!pr && others.length === 0) return { message: `Field must have selections (field '${field}' returns MarkPullRequestReadyForReviewPayload but has no selections.)`, locations: [location] };
  return { key: alias ?? field, pullRequestId: pullRequestId as string, pullRequestFields, clientMutationId: others.length > 0, location };
}

export function isGraphqlError(value: ReadyMutation | GraphqlError): value is GraphqlError {
  return 'message' in value;
}
