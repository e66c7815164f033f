import { describe, expect, it } from 'vitest';
import { parseTimestamp } from '../../src/values/timestamp.ts';

// RFC 3339 at its edges, as request bodies (strict) and searches (lenient) read it. The document says
// `format: date-time`; test/integration/validation-document.test.ts holds the service to it.
const iso = (text: string, lenient = false): string | undefined =>
  parseTimestamp(text, { lenient })?.toISOString();

describe('parseTimestamp', () => {
  it('takes a leap second (23:59:60 in UTC) as the start of the next second, as PostgreSQL does', () => {
    expect(iso('2016-12-31T23:59:60Z')).toBe('2017-01-01T00:00:00.000Z');
    expect(iso('2016-12-31T23:59:60.5Z')).toBe('2017-01-01T00:00:00.500Z');
    expect(iso('2017-01-01T00:59:60+01:00')).toBe('2017-01-01T00:00:00.000Z');
    expect(iso('2016-12-31 23:59:60', true)).toBe('2017-01-01T00:00:00.000Z');
    // Only at the end of a UTC day.
    expect(iso('2016-12-31T12:59:60Z')).toBeUndefined();
    expect(iso('2016-12-31T23:59:60+01:00')).toBeUndefined();
    expect(iso('2016-12-31T23:59:61Z')).toBeUndefined();
  });

  it('knows the leap days of years 0 to 99 (Date.UTC would read them as 1900 to 1999)', () => {
    expect(iso('0000-02-29T00:00:00Z')).toBe('0000-02-29T00:00:00.000Z');
    expect(iso('0004-02-29T00:00:00Z')).toBe('0004-02-29T00:00:00.000Z');
    expect(iso('0100-02-29T00:00:00Z')).toBeUndefined();
    expect(iso('0001-02-29T00:00:00Z')).toBeUndefined();
  });

  it('takes instants from year 0000 to 9999 in UTC only, which RFC 3339 can write back', () => {
    expect(iso('0000-01-01T00:00:00Z')).toBe('0000-01-01T00:00:00.000Z');
    expect(iso('9999-12-31T23:59:59.999Z')).toBe('9999-12-31T23:59:59.999Z');
    expect(iso('0000-01-01T00:00:00+00:01')).toBeUndefined();
    expect(iso('9999-12-31T23:59:59-00:01')).toBeUndefined();
    expect(iso('9999-12-31T23:59:60Z')).toBeUndefined();
  });
});
