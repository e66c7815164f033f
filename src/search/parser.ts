import type { ComparisonOperator, FieldPath, Literal, SearchExpression } from './ast.ts';
import { SearchError } from './errors.ts';
import { type Token, type TokenType, tokenize } from './lexer.ts';

// Deep enough for any hand-written query, shallow enough that the recursion can never exhaust the stack.
const maxDepth = 64;
// More terms than any real filter needs; PostgreSQL takes at most 65535 bound values per statement.
const maxLiterals = 1000;

// Parses a search expression: `or` binds loosest, then `and`, then `not`; parentheses group.
export function parseSearch(input: string): SearchExpression {
  return new Parser(tokenize(input)).parse();
}

class Parser {
  private index = 0;
  private depth = 0;
  private literals = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  parse(): SearchExpression {
    const expression = this.or();
    if (this.peek().type !== 'end') throw this.unexpected('end of query');
    return expression;
  }

  private or(): SearchExpression {
    let left = this.and();
    while (this.acceptKeyword('or')) left = { type: 'or', left, right: this.and() };
    return left;
  }

  private and(): SearchExpression {
    let left = this.not();
    while (this.acceptKeyword('and')) left = { type: 'and', left, right: this.not() };
    return left;
  }

  private not(): SearchExpression {
    if (this.acceptKeyword('not')) return this.nested(() => ({ type: 'not', expression: this.not() }));
    return this.primary();
  }

  private primary(): SearchExpression {
    if (this.accept('(')) {
      const expression = this.nested(() => this.or());
      this.expect(')', "')'");
      return expression;
    }
    return this.condition(this.field());
  }

  private condition(field: FieldPath): SearchExpression {
    const token = this.peek();
    if (token.type === 'operator') {
      this.index++;
      return { type: 'compare', field, operator: token.text as ComparisonOperator, value: this.literal() };
    }
    if (this.acceptKeyword('is')) {
      const negated = this.acceptKeyword('not');
      this.expectKeyword('null');
      return { type: 'null', field, negated };
    }
    const negated = this.acceptKeyword('not');
    if (this.acceptKeyword('like'))
      return { type: 'like', field, pattern: this.literal(), caseInsensitive: false, negated };
    if (this.acceptKeyword('ilike'))
      return { type: 'like', field, pattern: this.literal(), caseInsensitive: true, negated };
    if (this.acceptKeyword('in')) return { type: 'in', field, values: this.literalList(), negated };
    if (this.acceptKeyword('between')) {
      const low = this.literal();
      this.expectKeyword('and');
      return { type: 'between', field, low, high: this.literal(), negated };
    }
    throw this.unexpected('an operator (=, !=, <, <=, >, >=, like, ilike, in, between, is)');
  }

  private field(): FieldPath {
    const token = this.peek();
    if (token.type !== 'identifier') throw this.unexpected('a field name');
    this.index++;
    const parts = token.text.split('.');
    if (parts.some((part) => part === ''))
      throw new SearchError(`malformed field name '${token.text}'`, token.position, 'syntax');
    return { parts, position: token.position };
  }

  private literalList(): Literal[] {
    this.expect('(', "'('");
    const values = [this.literal()];
    while (this.accept(',')) values.push(this.literal());
    this.expect(')', "')' or ','");
    return values;
  }

  private literal(): Literal {
    const token = this.peek();
    if (++this.literals > maxLiterals)
      throw new SearchError(`more than ${maxLiterals} values`, token.position, 'syntax');
    this.index++;
    if (token.type === 'string') return { value: token.text, position: token.position };
    if (token.type === 'number') return { value: Number(token.text), position: token.position };
    if (token.type === 'keyword' && (token.text === 'true' || token.text === 'false')) {
      return { value: token.text === 'true', position: token.position };
    }
    this.index--;
    throw this.unexpected("a value (a 'quoted string', a number, true or false)");
  }

  private nested<T>(parse: () => T): T {
    if (++this.depth > maxDepth)
      throw new SearchError(`nested more than ${maxDepth} levels deep`, this.peek().position, 'syntax');
    const result = parse();
    this.depth--;
    return result;
  }

  private peek(): Token {
    return this.tokens[this.index] ?? (this.tokens.at(-1) as Token);
  }

  private accept(type: TokenType): boolean {
    if (this.peek().type !== type) return false;
    this.index++;
    return true;
  }

  private acceptKeyword(keyword: string): boolean {
    const token = this.peek();
    if (token.type !== 'keyword' || token.text !== keyword) return false;
    this.index++;
    return true;
  }

  private expect(type: TokenType, description: string): void {
    if (!this.accept(type)) throw this.unexpected(description);
  }

  private expectKeyword(keyword: string): void {
    if (!this.acceptKeyword(keyword)) throw this.unexpected(`'${keyword}'`);
  }

  private unexpected(expected: string): SearchError {
    const token = this.peek();
    const found = token.type === 'end' ? 'the end' : token.type === 'string' ? 'a string' : `'${token.text}'`;
    return new SearchError(`expected ${expected} but found ${found}`, token.position, 'syntax');
  }
}
