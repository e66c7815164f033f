import { SearchError } from './errors.ts';

export type TokenType = 'identifier' | 'keyword' | 'string' | 'number' | 'operator' | '(' | ')' | ',' | 'end';

export interface Token {
  readonly type: TokenType;
  readonly text: string; // keywords lower-cased; strings unquoted and unescaped
  readonly position: number;
}

// The words of the language; a field cannot be named after one (the generator refuses them).
export const keywords: ReadonlySet<string> = new Set([
  'and',
  'or',
  'not',
  'like',
  'ilike',
  'in',
  'is',
  'null',
  'between',
  'true',
  'false',
]);
const operators = ['<=', '>=', '!=', '<>', '=', '<', '>'];

// Splits a search expression into tokens. Identifiers are letters, digits, `_` and `.` (for
// `table.field`); strings are single-quoted with `''` for a quote; numbers are decimal.
export function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < input.length) {
    const char = input[index] ?? '';
    if (/\s/.test(char)) {
      index++;
      continue;
    }
    const start = index;
    if (char === '(' || char === ')' || char === ',') {
      tokens.push({ type: char, text: char, position: start });
      index++;
    } else if (char === "'") {
      const { text, end } = readString(input, start);
      tokens.push({ type: 'string', text, position: start });
      index = end;
    } else if (/[0-9]/.test(char) || (char === '-' && /[0-9]/.test(input[index + 1] ?? ''))) {
      const match = /^-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(input.slice(index));
      const text = match?.[0] ?? char;
      if (/[A-Za-z_]/.test(input[index + text.length] ?? ''))
        throw syntax(`unexpected character after number`, index + text.length);
      tokens.push({ type: 'number', text, position: start });
      index += text.length;
    } else if (/[A-Za-z_]/.test(char)) {
      const text = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(input.slice(index))?.[0] ?? char;
      const lower = text.toLowerCase();
      tokens.push(
        keywords.has(lower)
          ? { type: 'keyword', text: lower, position: start }
          : { type: 'identifier', text, position: start },
      );
      index += text.length;
    } else {
      const operator = operators.find((candidate) => input.startsWith(candidate, index));
      if (!operator) throw syntax(`unexpected character '${char}'`, start);
      tokens.push({ type: 'operator', text: operator === '<>' ? '!=' : operator, position: start });
      index += operator.length;
    }
  }
  tokens.push({ type: 'end', text: '', position: input.length });
  return tokens;
}

function readString(input: string, start: number): { text: string; end: number } {
  let text = '';
  let index = start + 1;
  while (index < input.length) {
    const char = input[index];
    if (char === "'") {
      if (input[index + 1] === "'") {
        text += "'";
        index += 2;
        continue;
      }
      return { text, end: index + 1 };
    }
    text += char;
    index++;
  }
  throw syntax('unterminated string', start);
}

function syntax(message: string, position: number): SearchError {
  return new SearchError(message, position, 'syntax');
}
