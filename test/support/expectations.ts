import { expect } from 'vitest';
import { SearchError } from '../../src/search/errors.ts';
import type { ApiResponse } from './service.ts';

// The full Error body (docs/errors.md), with the operation id of the response. `reason` undefined: any
// non-empty reason.
export function expectError(
  response: ApiResponse,
  status: number,
  code: number,
  reason?: string | RegExp,
): void {
  const context = `${response.status} ${response.text}`;
  expect(response.status, context).toBe(status);
  expect(response.headers.get('content-type'), context).toMatch(/^application\/json(;|$)/);
  const operationId = response.headers.get('x-operation-id');
  expect(operationId, context).toMatch(/^\S+$/);
  expect(response.body, context).toEqual({
    kind: 'Error',
    id: String(code),
    href: `/api/rh-trex/v1/errors/${code}`,
    code: `rh-trex-${code}`,
    reason:
      reason === undefined
        ? expect.stringMatching(/\S/)
        : typeof reason === 'string'
          ? reason
          : expect.stringMatching(reason),
    operation_id: operationId,
  });
}

// The SearchError `run` throws; fails the test if it throws anything else or nothing.
export function thrownSearchError(run: () => unknown): SearchError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SearchError);
    return error as SearchError;
  }
  throw new Error('expected a SearchError, but nothing was thrown');
}
