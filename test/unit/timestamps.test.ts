// The timestamptz parser the service's pool uses gives the Date pg's own parser gives, for the texts
// PostgreSQL writes: every offset form, fractions of every length, BC, and the texts it hands back to pg's.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { parseTimestamptz } from '../../src/db/timestamps.ts';

const pgParser = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ);
const pad = (value: number, length = 2): string => String(value).padStart(length, '0');

describe('parseTimestamptz', () => {
  it("reads what pg's parser reads, to the millisecond, for 50,000 instants of years 100 to 9999", () => {
    const fractions = (ms: number, us: number): string[] => [
      '',
      `.${pad(ms, 3)}`,
      `.${pad(ms, 3)}${pad(us, 3)}`,
      `.${pad(ms, 3).replace(/0+$/, '') || '0'}`,
    ];
    const offsets = ['+00', '-05', '+05:30', '-03:30', '+01:02:03', '-11:59:59', '+14'];
    for (let n = 0; n < 50_000; n++) {
      const instant = new Date(
        Date.UTC(100, 0, 1) + Math.random() * (Date.UTC(9999, 11, 31) - Date.UTC(100, 0, 1)),
      );
      const fraction = fractions(Math.floor(Math.random() * 1000), Math.floor(Math.random() * 1000))[n % 4];
      const text = `${pad(instant.getUTCFullYear(), 4)}-${pad(instant.getUTCMonth() + 1)}-${pad(instant.getUTCDate())} ${pad(instant.getUTCHours())}:${pad(instant.getUTCMinutes())}:${pad(instant.getUTCSeconds())}${fraction}${offsets[n % offsets.length]}`;
      expect((parseTimestamptz(text) as Date).getTime(), text).toBe((pgParser(text) as Date).getTime());
    }
  });

  it('reads years before 100 and BC as pg does, and the leap day of 1 BC as the leap day of year 0', () => {
    for (const text of [
      '0001-01-01 00:00:00+00 BC',
      '0099-03-04 01:02:03+00',
      '0044-03-15 12:00:00.5+00 BC',
    ]) {
      expect(parseTimestamptz(text), text).toEqual(pgParser(text));
    }
    // pg's parser moves it to the 1st of March.
    expect((parseTimestamptz('0001-02-29 12:34:56.789+00 BC') as Date).toISOString()).toBe(
      '0000-02-29T12:34:56.789Z',
    );
    expect((parseTimestamptz('0001-02-29 00:00:00-05 BC') as Date).toISOString()).toBe(
      '0000-02-29T05:00:00.000Z',
    );
  });

  it("hands infinity and anything else to pg's parser", () => {
    for (const text of [
      'infinity',
      '-infinity',
      '2026-12-06 22:41:03',
      '2026-12-06T22:41:03Z',
      '12026-12-06 22:41:03+00',
    ]) {
      expect(parseTimestamptz(text), text).toEqual(pgParser(text));
    }
  });
});
