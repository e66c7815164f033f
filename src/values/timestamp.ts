// Timestamps as clients write them. Bodies take RFC 3339 (`2024-01-31T12:00:00.123Z`, `...+02:00`).
// Searches also take a day (`2024-01-31`), a space for the `T`, minutes without seconds, and no offset
// (meaning UTC). Impossible dates such as `2024-02-30` are refused, never rolled over to March.
const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const lenient =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?$/;

export function parseTimestamp(text: string, options: { lenient: boolean }): Date | undefined {
  const match = (options.lenient ? lenient : rfc3339).exec(text);
  if (!match) return undefined;
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = match
    .slice(1, 7)
    .map((part) => Number(part ?? 0));
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  const time = `${match[4] ?? '00'}:${match[5] ?? '00'}:${match[6] ?? '00'}${match[7] ?? ''}`;
  const offset = (match[8] ?? 'Z').replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const date = new Date(`${match[1]}-${match[2]}-${match[3]}T${time}${offset}`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
