import { type ErrorEntry, errorEntries } from '../errors/catalogue.ts';
import { apiBase, serviceName } from '../service-name.ts';

export interface ErrorBody {
  kind: 'Error';
  id: string;
  href: string;
  code: string;
  reason: string;
  operation_id?: string;
}

export function errorBody(entry: ErrorEntry, reason: string, operationId?: string): ErrorBody {
  return {
    kind: 'Error',
    id: String(entry.code),
    href: `${apiBase}/errors/${entry.code}`,
    code: `${serviceName}-${entry.code}`,
    reason,
    ...(operationId === undefined ? {} : { operation_id: operationId }),
  };
}

// The catalogue as `GET /errors` presents it: each entry with its default reason.
export function catalogueBodies(): ErrorBody[] {
  return errorEntries.map((entry) => errorBody(entry, entry.reason));
}
