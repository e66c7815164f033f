import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { options } from '../../src/config/options.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

// The README's configuration table, row by row: its default and commands columns.
function readmeRow(flag: string): { default: string; commands: string } | undefined {
  const row = new RegExp(`^\\|\\s*\`--${flag}\`\\s*\\|[^|]*\\|([^|]*)\\|([^|]*)\\|`, 'm').exec(readme);
  return row ? { default: (row[1] ?? '').trim(), commands: (row[2] ?? '').trim() } : undefined;
}

// How the README shows an option's default: in backticks, or nothing when there is none.
function shownDefault(value: unknown): string {
  if (value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) return '';
  return `\`${Array.isArray(value) ? value.join(',') : String(value)}\``;
}

describe("the README's configuration reference states what the options are", () => {
  it.each(Object.values(options).map((option) => [option.flag, option] as const))(
    '--%s: its default and its commands',
    (flag, option) => {
      const row = readmeRow(flag);
      expect(row, `no row for --${flag}`).toBeDefined();
      // --enable-jwt has no fixed default: the environment decides, as the row says.
      const expected =
        flag === 'enable-jwt'
          ? 'on; off in development'
          : shownDefault((option as { default?: unknown }).default);
      expect(row?.default).toBe(expected);
      expect(row?.commands).toBe(option.commands.join(', '));
    },
  );
});
