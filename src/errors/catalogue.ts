// The one error catalogue (docs/errors.md). Every layer throws ApiError with one of these codes; only the
// HTTP edge turns a thrown value into the Error body. test/unit/docs.test.ts keeps docs/errors.md's table
// in sync with it.

export interface ErrorEntry {
  readonly code: number;
  readonly httpStatus: number;
  readonly name: string;
  readonly reason: string;
}

export const errorCatalogue = {
  Forbidden: { code: 4, httpStatus: 403, name: 'Forbidden', reason: 'Forbidden to perform this action' },
  Conflict: {
    code: 6,
    httpStatus: 409,
    name: 'Conflict',
    reason: 'An entity with the specified unique values already exists',
  },
  NotFound: { code: 7, httpStatus: 404, name: 'NotFound', reason: 'Resource not found' },
  Validation: { code: 8, httpStatus: 400, name: 'Validation', reason: 'General validation failure' },
  General: { code: 9, httpStatus: 500, name: 'General', reason: 'Unspecified error' },
  MethodNotAllowed: { code: 10, httpStatus: 405, name: 'MethodNotAllowed', reason: 'Method not allowed' },
  Unauthorized: {
    code: 11,
    httpStatus: 403,
    name: 'Unauthorized',
    reason: 'Account is unauthorized to perform this action',
  },
  PreconditionFailed: {
    code: 12,
    httpStatus: 412,
    name: 'PreconditionFailed',
    reason: 'Precondition failed',
  },
  UnsupportedMediaType: {
    code: 13,
    httpStatus: 415,
    name: 'UnsupportedMediaType',
    reason: 'Unsupported media type: send application/json',
  },
  PayloadTooLarge: {
    code: 14,
    httpStatus: 413,
    name: 'PayloadTooLarge',
    reason: 'Request body is too large',
  },
  Unauthenticated: {
    code: 15,
    httpStatus: 401,
    name: 'Unauthenticated',
    reason: 'Account authentication could not be verified',
  },
  MalformedRequest: {
    code: 17,
    httpStatus: 400,
    name: 'MalformedRequest',
    reason: 'Unable to read request body',
  },
  BadRequest: { code: 21, httpStatus: 400, name: 'BadRequest', reason: 'Bad request' },
  DatabaseAdvisoryLock: {
    code: 26,
    httpStatus: 500,
    name: 'DatabaseAdvisoryLock',
    reason: 'Database advisory lock error',
  },
  Gone: {
    code: 28,
    httpStatus: 410,
    name: 'Gone',
    reason: 'No longer available',
  },
  ServiceUnavailable: {
    code: 27,
    httpStatus: 503,
    name: 'ServiceUnavailable',
    reason: 'Service is unavailable, try again later',
  },
} as const satisfies Record<string, ErrorEntry>;

export type ErrorName = keyof typeof errorCatalogue;

export const errorEntries: readonly ErrorEntry[] = Object.values(errorCatalogue).sort(
  (a, b) => a.code - b.code,
);

export function findErrorEntry(code: number): ErrorEntry | undefined {
  return errorEntries.find((entry) => entry.code === code);
}

export class ApiError extends Error {
  readonly entry: ErrorEntry;
  readonly headers: Readonly<Record<string, string>>;

  constructor(name: ErrorName, reason?: string, headers: Record<string, string> = {}) {
    const entry = errorCatalogue[name];
    super(reason ?? entry.reason);
    this.name = 'ApiError';
    this.entry = entry;
    this.headers = headers;
  }
}

export const notFound = (reason: string): ApiError => new ApiError('NotFound', reason);
export const validationFailed = (reason: string): ApiError => new ApiError('Validation', reason);
export const badRequest = (reason: string): ApiError => new ApiError('BadRequest', reason);
export const malformedRequest = (detail: string): ApiError =>
  new ApiError('MalformedRequest', `Invalid request format: ${detail}`);
