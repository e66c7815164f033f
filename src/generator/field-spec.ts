import type { FieldType } from '../kinds/framework/fields.ts';
import { referenceSuffix } from '../kinds/framework/relations.ts';
import { keywords } from '../search/lexer.ts';
import { GeneratorError } from './errors.ts';
import { type KindNames, kindNames } from './names.ts';

export interface FieldSpec {
  readonly name: string;
  readonly type: FieldType;
  readonly required: boolean;
  readonly indexed?: boolean; // searched often: the migration gives it indexes (never a `ref`: it has one)
  readonly target?: KindNames; // the Kind a `ref` field references
}

const types: readonly FieldType[] = ['string', 'int', 'int64', 'float', 'bool', 'time', 'ref'];
// Names every resource has already, and words that would shadow the service's own columns.
const reserved = new Set(['id', 'kind', 'href', 'created_at', 'updated_at', 'deleted_at', 'tenant_id']);

// `name:string:required,count:int,owner_id:ref:Owner,...` (docs/generator.md#add-a-kind); fields are
// optional unless `:required`.
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
  for (const { name, type } of specs) {
    const relation = name.slice(0, -referenceSuffix.length);
    if (type === 'ref' && (seen.has(relation) || reserved.has(relation) || keywords.has(relation))) {
      throw new GeneratorError(`field '${name}' names the relation '${relation}', which is taken`);
    }
  }
  return specs;
}

function parseFieldSpec(item: string): FieldSpec {
  const [name = '', type = '', ...more] = item.split(':');
  if (!/^[a-z][a-z0-9_]*$/.test(name) || name.length > 63) {
    throw new GeneratorError(
      `field '${name}' must be a snake_case name (a-z, 0-9, _), starting with a letter`,
    );
  }
  if (reserved.has(name))
    throw new GeneratorError(
      `field '${name}' is reserved: every resource has it already, or the service keeps it`,
    );
  if (keywords.has(name)) {
    throw new GeneratorError(`field '${name}' is a word of the search language: choose another name`);
  }
  if (!(types as readonly string[]).includes(type)) {
    throw new GeneratorError(`field '${name}' has unknown type '${type}': use one of ${types.join(', ')}`);
  }
  const target = type === 'ref' ? more.shift() : undefined;
  const presence = more.filter((modifier) => modifier === 'required' || modifier === 'optional');
  const indexed = more.includes('indexed');
  const allowed = type === 'ref' ? 1 : 2;
  if (
    more.length > allowed ||
    presence.length > 1 ||
    more.some((modifier) => !['required', 'optional', 'indexed'].includes(modifier)) ||
    (indexed && more.length === 2 && more[0] === 'indexed')
  ) {
    throw new GeneratorError(
      `field '${item}': expected name:type, then :required or :optional, then :indexed (name:ref:Kind[:required] for a reference)`,
    );
  }
  const required = presence[0] === 'required';
  if (type !== 'ref') return { name, type: type as FieldType, required, ...(indexed ? { indexed } : {}) };
  if (indexed) throw new GeneratorError(`field '${name}': a reference is always indexed; drop :indexed`);
  if (!target)
    throw new GeneratorError(`field '${name}': a reference names its Kind, e.g. ${name}:ref:Owner`);
  const relation = name.slice(0, -referenceSuffix.length);
  if (!name.endsWith(referenceSuffix) || !/^[a-z]/.test(relation)) {
    throw new GeneratorError(
      `field '${name}' is a reference: name it <relation>${referenceSuffix}, e.g. ${target.toLowerCase()}${referenceSuffix}`,
    );
  }
  try {
    return { name, type: 'ref', required, target: kindNames(target) };
  } catch {
    throw new GeneratorError(
      `field '${name}' references '${target}', which is not a Kind name such as Owner`,
    );
  }
}
