import { ApiError, malformedRequest } from '../errors/catalogue.ts';

// Turns anything thrown while serving a request into an ApiError. Fastify's own errors (content type,
// body size, JSON syntax) and database failures get their catalogue codes; anything else is code 9 and
// its details go to the log only.
export function toApiError(error: unknown): { apiError: ApiError; unexpected: boolean } {
  if (error instanceof ApiError) return { apiError: error, unexpected: false };
  const known = knownError(error);
  return known
    ? { apiError: known, unexpected: false }
    : { apiError: new ApiError('General'), unexpected: true };
}

interface ErrorLike {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
}

function knownError(error: unknown): ApiError | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const { code, statusCode, message } = error as ErrorLike;
  switch (code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError('UnsupportedMediaType');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('PayloadTooLarge');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return malformedRequest('the request body is empty');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ApiError('NotFound', 'The requested resource does not exist');
    case 'FST_ERR_BAD_URL':
      return malformedRequest('the URL is not validly percent-encoded');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return malformedRequest('the request body does not match its Content-Length');
    case '23505': // unique_violation
      return new ApiError('Conflict');
    case '54000': // program_limit_exceeded: a value too large for an index
    case '22001': // string_data_right_truncation
    case '22003': // numeric_value_out_of_range
      return new ApiError('Validation', 'a value is too large to store');
    case '22021': // character_not_in_repertoire (NUL in text)
      return new ApiError('Validation', 'a value holds a character PostgreSQL cannot store');
    case '22025': // invalid_escape_sequence in a like pattern
      return new ApiError('BadRequest', 'a like pattern has an invalid escape sequence');
  }
  // Worth retrying soon: a lock comes free, a connection slot opens, a restarted server answers again.
  if (code === '55P03') {
    return new ApiError(
      'ServiceUnavailable',
      'A lock another transaction holds did not come free within --db-lock-timeout, try again later',
      retrySoon,
    );
  }
  if (code === '57014') {
    return new ApiError(
      'ServiceUnavailable',
      'The database did not answer within --db-query-timeout, try again later',
      retrySoon,
    );
  }
  if (isDatabaseUnavailable(error))
    return new ApiError('ServiceUnavailable', 'The database is unavailable, try again later', retrySoon);
  if (error instanceof SyntaxError && statusCode === 400) {
    return malformedRequest(`the request body is not valid JSON (${String(message)})`);
  }
  // Any other client error Fastify raised before a handler ran (bad URL encoding and the like).
  if (
    typeof statusCode === 'number' &&
    statusCode >= 400 &&
    statusCode < 500 &&
    String(code).startsWith('FST_')
  ) {
    return malformedRequest(String(message));
  }
  return undefined;
}

const retrySoon = { 'retry-after': '1' };

// Connection failures, connections refused at the server's (or a role's) connection limit, statements
// unanswered past the query timeout, and server shutdown, as pg and the pool report them.
function isDatabaseUnavailable(error: object): boolean {
  const { code, message } = error as ErrorLike;
  if (
    typeof code === 'string' &&
    (code.startsWith('08') ||
      code === '53300' || // too_many_connections
      code === '57P01' ||
      code === '57P02' ||
      code === '57P03')
  ) {
    return true;
  }
  if (
    typeof code === 'string' &&
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND'].includes(code)
  )
    return true;
  return (
    typeof message === 'string' &&
    (message.includes('timeout exceeded when trying to connect') ||
      message.includes('Connection terminated') ||
      message.includes('Query read timeout') ||
      message.includes('Client has encountered a connection error'))
  );
}
