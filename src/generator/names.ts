import pluralize from 'pluralize';
import { GeneratorError } from './errors.ts';

export interface KindNames {
  readonly name: string; // Rocket, FizzBuzz
  readonly plural: string; // rockets, fizz_buzzes: the table, the path segment and the folder
  readonly camel: string; // rocket, fizzBuzz
  readonly eventSource: string; // Rockets, FizzBuzzes
}

// Plurals the service already uses for its own routes and folders.
const reservedPlurals = new Set([
  'events',
  'errors',
  'openapi',
  'framework',
  'schema_migrations',
  'idempotency_keys',
]);

// Every name of a Kind, from its PascalCase name: `Person` → `people`, `FizzBuzz` → `fizz_buzzes`.
export function kindNames(name: string): KindNames {
  if (!/^[A-Z][A-Za-z0-9]*$/.test(name)) {
    throw new GeneratorError(`--kind '${name}' must be a PascalCase name such as Rocket or FizzBuzz`);
  }
  const words = name.match(/[A-Z][a-z0-9]*|[0-9]+/g) ?? [name];
  const last = words.at(-1) ?? name;
  const pluralWords = [...words.slice(0, -1), pluralize(last)].map((word) => word.toLowerCase());
  const plural = pluralWords.join('_');
  if (reservedPlurals.has(plural))
    throw new GeneratorError(`--kind '${name}' clashes with the service's own '${plural}'`);
  return {
    name,
    plural,
    camel: name.charAt(0).toLowerCase() + name.slice(1),
    eventSource: pluralWords.map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join(''),
  };
}
