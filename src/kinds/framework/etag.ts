import { hash } from 'node:crypto';
import type { KindRow } from './kind.ts';

/**
 * A strong validator of a row (docs/events.md#optimistic-concurrency): a digest of every column (but its
 * tenant, which no write changes), so any write that changes the row changes its tag, and an unchanged PATCH keeps it. Computed on every GET, so
 * kept cheap: columns in code-unit order (not the locale's), one one-shot digest.
 */
export function entityTag(row: KindRow): string {
  const columns = Object.entries(row)
    .filter(([name]) => name !== 'deleted_at' && name !== 'tenant_id')
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, value]) => [name, value instanceof Date ? value.getTime() : value]);
  return `"${hash('sha256', JSON.stringify(columns), 'base64url').slice(0, 27)}"`;
}

/**
 * Whether an `If-Match` header lets a write go ahead: `*`, or a list holding `tag`. `If-Match` uses the
 * strong comparison: a weak tag (W/"...") never matches.
 */
export function ifMatchHolds(header: string, tag: string): boolean {
  return header.trim() === '*' || listedTags(header).includes(tag);
}

/**
 * Whether an `If-None-Match` header holds: true when no listed tag is `tag` (answer in full), false on a
 * match or `*` (304). `If-None-Match` uses the weak comparison: W/"x" and "x" are the same.
 */
export function ifNoneMatchHolds(header: string, tag: string): boolean {
  if (header.trim() === '*') return false;
  return !listedTags(header).some((listed) => listed.replace(/^W\//, '') === tag);
}

function listedTags(header: string): string[] {
  return header
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
