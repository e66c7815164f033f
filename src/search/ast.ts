// The syntax tree of a search expression (docs/search.md#the-search-language). Positions are 0-based
// offsets into the input, kept so that errors found after parsing (unknown field, wrong type) can say where.

export interface FieldPath {
  readonly parts: readonly string[]; // `dinosaurs.species` → ['dinosaurs', 'species']
  readonly position: number;
}

export type LiteralValue = string | number | boolean;

export interface Literal {
  readonly value: LiteralValue;
  readonly position: number;
}

export type ComparisonOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type SearchExpression =
  | { readonly type: 'and' | 'or'; readonly left: SearchExpression; readonly right: SearchExpression }
  | { readonly type: 'not'; readonly expression: SearchExpression }
  | {
      readonly type: 'compare';
      readonly field: FieldPath;
      readonly operator: ComparisonOperator;
      readonly value: Literal;
    }
  | {
      readonly type: 'like';
      readonly field: FieldPath;
      readonly pattern: Literal;
      readonly caseInsensitive: boolean;
      readonly negated: boolean;
    }
  | {
      readonly type: 'in';
      readonly field: FieldPath;
      readonly values: readonly Literal[];
      readonly negated: boolean;
    }
  | { readonly type: 'null'; readonly field: FieldPath; readonly negated: boolean }
  | {
      readonly type: 'between';
      readonly field: FieldPath;
      readonly low: Literal;
      readonly high: Literal;
      readonly negated: boolean;
    };
