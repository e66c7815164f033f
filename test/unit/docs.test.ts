import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { environmentVariable, options } from '../../src/config/options.ts';
import { errorEntries } from '../../src/errors/catalogue.ts';

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('docs stay in step with the code', () => {
  it('docs/errors.md lists exactly the catalogue: code, HTTP status and name', () => {
    const rows = [...read('docs/errors.md').matchAll(/^\|\s*(\d+)\s*\|\s*(\d{3})\s*\|\s*(\w+)\s*\|/gm)].map(
      ([, code, status, name]) => ({
        code: Number(code),
        httpStatus: Number(status),
        name,
      }),
    );
    expect(rows).toEqual(errorEntries.map(({ code, httpStatus, name }) => ({ code, httpStatus, name })));
  });

  it("the README's configuration reference names every flag with its variable", () => {
    const readme = read('README.md');
    for (const { flag } of Object.values(options)) {
      // The formatter pads table cells, so the row is matched with any spacing.
      const row = new RegExp(`^\\|\\s*\`--${flag}\`\\s*\\|\\s*\`${environmentVariable(flag)}\`\\s*\\|`, 'm');
      expect(readme).toMatch(row);
    }
  });
});
