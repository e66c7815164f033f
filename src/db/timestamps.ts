import pg from 'pg';

const fallback = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ);

/**
 * A timestamptz as PostgreSQL writes it in the ISO DateStyle (`2026-12-06 22:41:03.123456+00`, the
 * offset as ±HH, ±HH:MM or ±HH:MM:SS, ` BC` after a year before 1), read by position into a Date, to the
 * millisecond: pg's own parser runs three regular expressions per value, which was a quarter of what a
 * list of 100 allocated, and moves the leap day of 1 BC (JavaScript's year 0) to the 1st of March. Any
 * other text (a year of 10,000 or more, infinity) goes to pg's parser.
 */
export function parseTimestamptz(text: string): Date | number | null {
  const bc = text.endsWith(' BC');
  const end = text.length - (bc ? 3 : 0);
  if (
    end < 22 ||
    text.charCodeAt(4) !== 45 || // -
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 32 || // space
    text.charCodeAt(13) !== 58 || // :
    text.charCodeAt(16) !== 58
  ) {
    return fallback(text);
  }
  const year = digits(text, 0, 4);
  let at = 19;
  let millisecond = 0;
  if (text.charCodeAt(at) === 46) {
    // .ffffff: the first three digits are the milliseconds; the rest is below what a Date holds.
    at++;
    for (let place = 100; isDigit(text.charCodeAt(at)); at++, place /= 10) {
      if (place >= 1) millisecond += (text.charCodeAt(at) - 48) * place;
    }
  }
  const sign = text.charCodeAt(at);
  const offsetEnd = end - at;
  if ((sign !== 43 && sign !== 45) || (offsetEnd !== 3 && offsetEnd !== 6 && offsetEnd !== 9)) {
    return fallback(text);
  }
  const offsetSeconds =
    digits(text, at + 1, 2) * 3600 +
    (offsetEnd >= 6 ? digits(text, at + 4, 2) * 60 : 0) +
    (offsetEnd === 9 ? digits(text, at + 7, 2) : 0);
  const month = digits(text, 5, 2) - 1;
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  // Date.UTC allocates nothing, but takes the years 0 to 99 for 1900 to 1999: those, and the years BC
  // (n BC is the year 1 - n), go through setUTCFullYear.
  const wallClockTime =
    !bc && year >= 100
      ? Date.UTC(year, month, day, hour, minute, second, millisecond)
      : earlyWallClockTime(bc ? 1 - year : year, month, day, hour, minute, second, millisecond);
  const time = wallClockTime - (sign === 43 ? 1 : -1) * offsetSeconds * 1000;
  return Number.isNaN(time) ? fallback(text) : new Date(time);
}

function earlyWallClockTime(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  millisecond: number,
): number {
  const wallClock = new Date(0);
  wallClock.setUTCFullYear(year, month, day);
  wallClock.setUTCHours(hour, minute, second, millisecond);
  return wallClock.getTime();
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

// The number the `count` decimal digits at `from` write; NaN where one is not a digit.
function digits(text: string, from: number, count: number): number {
  let value = 0;
  for (let at = from; at < from + count; at++) {
    const code = text.charCodeAt(at);
    if (!isDigit(code)) return Number.NaN;
    value = value * 10 + code - 48;
  }
  return value;
}
