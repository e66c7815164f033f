import { type ErrorName, errorCatalogue } from '../errors/catalogue.ts';
import { errorBody } from './error-body.ts';
import { exampleId, exampleOperationId } from './openapi-examples.ts';

// The error responses of the OpenAPI document: each HTTP status a route can answer, the catalogue codes
// behind it (docs/errors.md) and an example body per code. Every one is the Error schema.
// 404 is apart: its example names what was not found (notFoundResponse).
export type ErrorStatus = 400 | 401 | 403 | 409 | 410 | 412 | 413 | 415 | 500 | 503;

interface StatusDoc {
  readonly description: string;
  readonly examples: readonly { readonly name: ErrorName; readonly reason?: string }[];
  readonly headers?: Readonly<Record<string, object>>;
}

const statusDocs: Readonly<Record<ErrorStatus, StatusDoc>> = {
  400: {
    description:
      'Bad request: a body field is invalid (code 8), the body is unreadable or not a JSON object (17), ' +
      'or a list parameter is bad (21)',
    examples: [
      { name: 'Validation', reason: "unknown field 'colour'" },
      { name: 'MalformedRequest', reason: 'Invalid request format: the request body is not valid JSON' },
      { name: 'BadRequest', reason: "page must be an integer of at least 1, got '0'" },
    ],
  },
  401: {
    description: 'Missing or invalid token (code 15); the response carries `WWW-Authenticate: Bearer`',
    examples: [
      {
        name: 'Unauthenticated',
        reason: 'Account authentication could not be verified: missing Authorization header',
      },
    ],
  },
  403: {
    description:
      'The token is valid but the account is not allowed (code 11, ACL) or the action is denied (4)',
    examples: [{ name: 'Unauthorized' }, { name: 'Forbidden' }],
  },
  409: {
    description: 'The Idempotency-Key was used before with another body, or a unique value is taken (code 6)',
    examples: [
      { name: 'Conflict', reason: 'Idempotency-Key was already used with a different request body' },
    ],
  },
  410: {
    description:
      'A watch (watch=true) resumed from a Last-Event-ID older than the events kept (code 28): list again, then watch from now',
    examples: [
      {
        name: 'Gone',
        reason: `Last-Event-ID '${exampleId}' is older than the events kept (--event-retention): list dinosaurs again, then watch from now`,
      },
    ],
  },
  412: {
    description: 'If-Match does not match the current ETag (code 12); nothing was changed',
    examples: [{ name: 'PreconditionFailed' }],
  },
  413: {
    description: 'The body is over the configured limit, 1 MiB by default (code 14)',
    examples: [{ name: 'PayloadTooLarge' }],
  },
  415: {
    description: 'The body is not JSON: send application/json or application/merge-patch+json (code 13)',
    examples: [{ name: 'UnsupportedMediaType' }],
  },
  500: {
    description:
      'Unexpected failure (code 9) or advisory lock failure (26); the reason never leaks internals',
    examples: [{ name: 'General' }, { name: 'DatabaseAdvisoryLock' }],
  },
  503: {
    description:
      'The database is unreachable, did not answer in time, or a lock did not come free in time; the ' +
      'service is shutting down or overloaded (code 27)',
    examples: [{ name: 'ServiceUnavailable' }],
    headers: {
      'Retry-After': {
        type: 'integer',
        description: 'Seconds to wait before trying again, when the database was the cause',
      },
    },
  },
};

// Response schemas for the given statuses, in the form @fastify/swagger turns into documented responses.
// Error bodies are sent with their own serializer (api-server.ts), so these schemas only document.
export function errorResponses(...statuses: ErrorStatus[]): Record<number, object> {
  return Object.fromEntries(statuses.map((status) => [status, errorResponse(statusDocs[status])]));
}

// The 404 response of an operation, its example naming what was not found.
export function notFoundResponse(reason: string): Record<number, object> {
  return {
    404: errorResponse({
      description: 'No such resource, or it was deleted (code 7)',
      examples: [{ name: 'NotFound', reason }],
    }),
  };
}

// The 409 of a DELETE: the delete rule `restrict` refuses a resource that others still reference.
export function referencedResponse(kindName: string): Record<number, object> {
  return {
    409: errorResponse({
      description: 'Other resources still reference this one (code 6): delete or change them first',
      examples: [
        {
          name: 'Conflict',
          reason: `${kindName} with id='${exampleId}' is referenced by 2 Nest resources (parent_id): delete or change them first`,
        },
      ],
    }),
  };
}

function errorResponse({ description, examples, headers }: StatusDoc): object {
  const values = examples.map(({ name, reason }) => {
    const entry = errorCatalogue[name];
    return {
      name,
      summary: `code ${entry.code}, ${entry.name}`,
      value: errorBody(entry, reason ?? entry.reason, exampleOperationId),
    };
  });
  return {
    description,
    ...(headers ? { headers } : {}),
    content: {
      'application/json': {
        schema: { $ref: 'Error#' },
        examples: Object.fromEntries(values.map(({ name, summary, value }) => [name, { summary, value }])),
      },
    },
  };
}
