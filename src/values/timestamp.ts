// Timestamps as clients write them. Bodies take RFC 3339 (`2024-01-31T12:00:00.123Z`, `...+02:00`).
// Searches also take a day (`2024-01-31`), a space for the `T`, minutes without seconds, and no offset
// (meaning UTC). Impossible dates such as `2024-02-30` are refused, never rolled over to March. A leap
// second (23:59:60 in UTC, which RFC 3339 allows) is the next second's start, as PostgreSQL takes it;
// an instant outside years 0000 to 9999 in UTC is refused, as RFC 3339 could not write it back.
const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const lenient =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?$/;
const firstInstant = Date.parse('0000-01-01T00:00:00.000Z');
const lastInstant = Date.parse('9999-12-31T23:59:59.999Z');

export function parseTimestamp(text: string, options: { lenient: boolean }): Date | undefined {
  const match = (options.lenient ? lenient : rfc3339).exec(text);
  if (!match) return undefined;
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = match
    .slice(1, 7)
    .map((part) => Number(part ?? 0));
  // setUTCFullYear, unlike Date.UTC, takes years 0 to 99 as they are.
  const daysInMonth = new Date(new Date(0).setUTCFullYear(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 60) {
    return undefined;
  }
  const leap = second === 60;
  const time = `${match[4] ?? '00'}:${match[5] ?? '00'}:${leap ? '59' : (match[6] ?? '00')}${match[7] ?? ''}`;
  const offset = (match[8] ?? 'Z').replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const date = new Date(`${match[1]}-${match[2]}-${match[3]}T${time}${offset}`);
  if (leap && (date.getUTCHours() !== 23 || date.getUTCMinutes() !== 59)) return undefined;
  const instant = date.getTime() + (leap ? 1000 : 0);
  return instant >= firstInstant && instant <= lastInstant ? new Date(instant) : undefined;
}
