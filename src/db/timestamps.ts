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
  // setUTCFullYear, as Date.UTC takes years 0 to 99 for 1900 to 1999; n BC is the year 1 - n.
  const wallClock = new Date(0);
  wallClock.setUTCFullYear(bc ? 1 - year : year, digits(text, 5, 2) - 1, digits(text, 8, 2));
  wallClock.setUTCHours(digits(text, 11, 2), digits(text, 14, 2), digits(text, 17, 2), millisecond);
  const time = wallClock.getTime() - (sign === 43 ? 1 : -1) * offsetSeconds * 1000;
  return Number.isNaN(time) ? fallback(text) : new Date(time);
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
