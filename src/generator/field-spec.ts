import type { FieldType } from '../kinds/framework/fields.ts';
import { keywords } from '../search/lexer.ts';
import { GeneratorError } from './errors.ts';

export interface FieldSpec {
  readonly name: string;
  readonly type: FieldType;
  readonly required: boolean;
}

const types: readonly FieldType[] = ['string', 'int', 'int64', 'float', 'bool', 'time'];
// Names every resource has already, and words that would shadow the service's own columns.
const reserved = new Set(['id', 'kind', 'href', 'created_at', 'updated_at', 'deleted_at']);

// `name:string:required,count:int,...` (SPEC §10); fields are optional unless `:required`.
export function parseFieldSpecs(text: string): FieldSpec[] {
  const specs = text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map(parseFieldSpec);
  const seen = new Set<string>();
  for (const { name } of specs) {
    if (seen.has(name)) throw new GeneratorError(`field '${name}' is given twice`);
    seen.add(name);
  }
  return specs;
}

function parseFieldSpec(item: string): FieldSpec {
  const [name = '', type = '', modifier, ...rest] = item.split(':');
  if (!/^[a-z][a-z0-9_]*$/.test(name) || name.length > 63) {
    throw new GeneratorError(
      `field '${name}' must be a snake_case name (a-z, 0-9, _), starting with a letter`,
    );
  }
  if (reserved.has(name))
    throw new GeneratorError(`field '${name}' is reserved: every resource has it already`);
  if (keywords.has(name)) {
    throw new GeneratorError(`field '${name}' is a word of the search language: choose another name`);
  }
  if (!(types as readonly string[]).includes(type)) {
    throw new GeneratorError(`field '${name}' has unknown type '${type}': use one of ${types.join(', ')}`);
  }
  if (rest.length > 0 || (modifier !== undefined && modifier !== 'required' && modifier !== 'optional')) {
    throw new GeneratorError(`field '${item}': expected name:type, name:type:required or name:type:optional`);
  }
  return { name, type: type as FieldType, required: modifier === 'required' };
}
