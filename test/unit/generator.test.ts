import { describe, expect, it } from 'vitest';
import { renamed } from '../../src/generator/clone.ts';
import { GeneratorError } from '../../src/generator/errors.ts';
import { parseFieldSpecs } from '../../src/generator/field-spec.ts';
import { kindNames } from '../../src/generator/names.ts';
import { addPluginEntry } from '../../src/generator/plugin-list.ts';
import { schemaChange } from '../../src/generator/schema-change.ts';
import { createMigrationFile, extensionsFile, modelFile } from '../../src/generator/templates.ts';
import { serviceName } from '../../src/service-name.ts';

const refusal = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(GeneratorError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a GeneratorError');
};

describe('kind names', () => {
  it.each([
    ['Box', 'boxes', 'box', 'Boxes'],
    ['FizzBuzz', 'fizz_buzzes', 'fizzBuzz', 'FizzBuzzes'],
    ['Person', 'people', 'person', 'People'],
    ['Dinosaur', 'dinosaurs', 'dinosaur', 'Dinosaurs'],
    ['Category', 'categories', 'category', 'Categories'],
    ['HttpRoute', 'http_routes', 'httpRoute', 'HttpRoutes'],
  ])('%s → /%s', (name, plural, camel, eventSource) => {
    expect(kindNames(name)).toEqual({ name, plural, camel, eventSource });
  });

  it.each(['rocket', 'Fizz_Buzz', 'Rocket!', '', '9Lives', 'Event', 'Error'])('refuses %j', (name) => {
    expect(refusal(() => kindNames(name))).toMatch(/--kind/);
  });
});

describe('field lists', () => {
  it('reads name:type[:required|:optional], optional by default', () => {
    expect(parseFieldSpecs('name:string:required, fuel:float,launched_at:time:optional')).toEqual([
      { name: 'name', type: 'string', required: true },
      { name: 'fuel', type: 'float', required: false },
      { name: 'launched_at', type: 'time', required: false },
    ]);
  });

  it.each([
    ['a:strin', /unknown type 'strin'/],
    ['id:string', /reserved/],
    ['created_at:time', /reserved/],
    ['a:string,a:int', /given twice/],
    ['A:string', /snake_case/],
    ['a-b:string', /snake_case/],
    ['a:string:maybe', /expected name:type/],
    ['a', /unknown type ''/],
    ['between:int', /search language/],
    ['null:string', /search language/],
    ['owner_id:ref', /a reference names its Kind, e.g. owner_id:ref:Owner/],
    ['owner:ref:Owner', /name it <relation>_id, e.g. owner_id/],
    ['_id:ref:Owner', /snake_case/],
    ['owner_id:ref:owner', /references 'owner', which is not a Kind name/],
    ['owner_id:ref:Owner:maybe', /expected name:type/],
    ['a:string:indexed:required', /then :indexed/],
    ['a:string:required:optional', /expected name:type/],
    ['a:string:required:indexed:indexed', /expected name:type/],
    ['owner_id:ref:Owner:indexed', /a reference is always indexed/],
    ['owner:string,owner_id:ref:Owner', /names the relation 'owner', which is taken/],
    ['kind_id:ref:Owner', /names the relation 'kind', which is taken/],
    ['and_id:ref:Owner', /names the relation 'and', which is taken/],
  ])('refuses %j in one line', (spec, reason) => {
    expect(refusal(() => parseFieldSpecs(spec))).toMatch(reason);
  });

  it('reads name:ref:Kind[:required] as a reference to that Kind', () => {
    expect(parseFieldSpecs('owner_id:ref:Owner:required,pet_food_id:ref:PetFood')).toEqual([
      { name: 'owner_id', type: 'ref', required: true, target: kindNames('Owner') },
      { name: 'pet_food_id', type: 'ref', required: false, target: kindNames('PetFood') },
    ]);
  });
});

describe('indexed fields', () => {
  it('reads :indexed after the presence, and writes it into the model', () => {
    const fields = parseFieldSpecs('name:string:required:indexed,fuel:float:indexed,note:string');
    expect(fields).toEqual([
      { name: 'name', type: 'string', required: true, indexed: true },
      { name: 'fuel', type: 'float', required: false, indexed: true },
      { name: 'note', type: 'string', required: false },
    ]);
    const model = modelFile(kindNames('Rocket'), fields, false);
    expect(model).toContain("name: defineField('string', { required: true, indexed: true }),");
    expect(model).toContain("fuel: defineField('float', { indexed: true }),");
    expect(model).toContain("note: defineField('string'),");
  });

  it('gives text a hash and a prefix index, and other types a btree, over live rows', () => {
    const migration = createMigrationFile(
      kindNames('Rocket'),
      '202601010000_create_rockets',
      parseFieldSpecs('name:string:required:indexed,fuel:float:indexed,note:string'),
      false,
    );
    expect(migration).toContain(
      'create index "rockets_name" on "rockets" using hash ("name") where deleted_at is null',
    );
    expect(migration).toContain(
      'create index "rockets_name_prefix" on "rockets" (left("name", 200) text_pattern_ops) where deleted_at is null',
    );
    expect(migration).toContain(
      'create index "rockets_fuel" on "rockets" ("fuel", id) where deleted_at is null',
    );
    expect(migration).not.toContain('rockets_note');
  });

  it('creates and drops the indexes as a field becomes indexed or stops being, with no loss', () => {
    const plain = parseFieldSpecs('name:string:required,fuel:float:indexed');
    const indexed = parseFieldSpecs('name:string:required:indexed,fuel:float');
    expect(schemaChange('rockets', plain, indexed)).toEqual({
      statements: [
        'create index "rockets_name" on "rockets" using hash ("name") where deleted_at is null',
        'create index "rockets_name_prefix" on "rockets" (left("name", 200) text_pattern_ops) where deleted_at is null',
        'create index "rockets_name_order" on "rockets" (left("name", 200)) where deleted_at is null',
        'drop index if exists "rockets_fuel"',
      ],
      losses: [],
    });
    // A new indexed field comes with its indexes; a retyped one gets those of its new type.
    expect(
      schemaChange('rockets', plain, [...plain, ...parseFieldSpecs('code:int:indexed')]).statements,
    ).toEqual([
      'alter table "rockets" add column "code" integer',
      'create index "rockets_code" on "rockets" ("code", id) where deleted_at is null',
    ]);
  });
});

describe('schema changes', () => {
  const before = parseFieldSpecs('name:string:required,fuel:float,mass:int64,crew:int:required');

  it('adds, relaxes and keeps without loss', () => {
    const after = parseFieldSpecs(
      'name:string:required,fuel:float,mass:int64,crew:int,launched:bool:required,note:string',
    );
    expect(schemaChange('rockets', before, after)).toEqual({
      statements: [
        'alter table "rockets" alter column "crew" drop not null',
        'alter table "rockets" add column "launched" boolean not null default false',
        'alter table "rockets" alter column "launched" drop default',
        'alter table "rockets" add column "note" text',
      ],
      losses: [],
    });
  });

  it('names every loss: a dropped field, a new type, a field made required', () => {
    const after = parseFieldSpecs('name:string:required,fuel:float:required,mass:string');
    const { statements, losses } = schemaChange('rockets', before, after);
    expect(statements).toEqual([
      'update "rockets" set "fuel" = 0 where "fuel" is null',
      'alter table "rockets" alter column "fuel" set not null',
      'alter table "rockets" drop column "mass"',
      'alter table "rockets" add column "mass" text',
      'alter table "rockets" drop column "crew"',
    ]);
    expect(losses).toHaveLength(3);
    expect(losses.join(' ')).toMatch(/fuel.*mass.*crew/);
  });

  it('adds an optional reference with its foreign key and index', () => {
    const after = parseFieldSpecs(
      'name:string:required,fuel:float,mass:int64,crew:int:required,pad_id:ref:Pad',
    );
    expect(schemaChange('rockets', before, after)).toEqual({
      statements: [
        'alter table "rockets" add column "pad_id" text references "pads" (id) on delete restrict',
        'create index "rockets_pad_id" on "rockets" ("pad_id")',
      ],
      losses: [],
    });
  });

  it('refuses a required reference for existing rows, which have nothing to reference', () => {
    const withPad = parseFieldSpecs('name:string:required,pad_id:ref:Pad');
    expect(
      refusal(() => schemaChange('rockets', before, [...withPad, ...parseFieldSpecs('x_id:ref:X:required')])),
    ).toMatch(/'x_id' cannot become a required reference of the existing rockets/);
    expect(
      refusal(() =>
        schemaChange('rockets', withPad, parseFieldSpecs('name:string:required,pad_id:ref:Pad:required')),
      ),
    ).toMatch(/'pad_id' cannot become a required reference/);
  });

  it('a reference retargeted is a loss: the column is dropped and added again', () => {
    const withPad = parseFieldSpecs('name:string:required,pad_id:ref:Pad');
    const { statements, losses } = schemaChange(
      'rockets',
      withPad,
      parseFieldSpecs('name:string:required,pad_id:ref:Site'),
    );
    expect(statements).toEqual([
      'alter table "rockets" drop column "pad_id"',
      'alter table "rockets" add column "pad_id" text references "sites" (id) on delete restrict',
      'create index "rockets_pad_id" on "rockets" ("pad_id")',
    ]);
    expect(losses).toEqual(["changing 'pad_id' from ref to Pad to ref to Site deletes its values"]);
  });

  it('is empty when nothing changed', () => {
    expect(schemaChange('rockets', before, before)).toEqual({ statements: [], losses: [] });
  });
});

describe('the plugin list', () => {
  const source = `import { dinosaurPlugin } from './dinosaurs/plugin.ts';
import type { KindPlugin } from './framework/plugin.ts';

export const plugins = [
  dinosaurPlugin,
] as const satisfies readonly KindPlugin[];
`;

  it('gains the import and the entry once', () => {
    const once = addPluginEntry(source, kindNames('FizzBuzz'));
    expect(once).toContain("import { fizzBuzzPlugin } from './fizz_buzzes/plugin.ts';\n");
    expect(once).toContain('= [dinosaurPlugin, fizzBuzzPlugin] as const satisfies readonly KindPlugin[];');
    expect(addPluginEntry(once, kindNames('FizzBuzz'))).toBe(once);
  });

  it('refuses a file without the list', () => {
    expect(refusal(() => addPluginEntry('export const x = 1;\n', kindNames('Box')))).toMatch(
      /plugin list|plugins/,
    );
  });
});

describe('the hand-owned extensions.ts', () => {
  it('holds the controllers of a new Kind', () => {
    const file = extensionsFile(kindNames('FizzBuzz'), false);
    expect(file).toContain('export const fizzBuzzExtensions: KindExtensions<typeof fizzBuzzKind.fields> = {');
    expect(file).toContain('controllers: ({ service, logger }) => ({');
    expect(file).not.toContain('controllers.ts');
  });

  it("keeps a Kind's older controllers.ts in use", () => {
    const file = extensionsFile(kindNames('FizzBuzz'), true);
    expect(file).toContain("import { fizzBuzzControllers } from './controllers.ts';");
    expect(file).toContain('controllers: ({ service, logger }) => fizzBuzzControllers(service, logger),');
  });
});

describe('a tenant-scoped Kind (--tenant-scoped)', () => {
  const fields = parseFieldSpecs('name:string:required');

  it('says so in its model, and its migration adds the tenant column and the index lists use', () => {
    expect(modelFile(kindNames('Rocket'), fields, true)).toContain('  tenantScoped: true,\n});');
    expect(modelFile(kindNames('Rocket'), fields, false)).not.toContain('tenantScoped');
    const migration = createMigrationFile(kindNames('Rocket'), '202612061200_create_rockets', fields, true);
    expect(migration).toContain(`alter table "rockets" add column tenant_id text not null default ''`);
    expect(migration).toContain(
      'create index "rockets_tenant_live_order" on "rockets" (tenant_id, created_at, id) where deleted_at is null',
    );
    expect(
      createMigrationFile(kindNames('Rocket'), '202612061200_create_rockets', fields, false),
    ).not.toContain('tenant_id');
  });
});

describe('clone renaming', () => {
  // Written from serviceName, so the test holds in a clone too, where the name is already another.
  const old = serviceName;
  const lines = (name: string): string[] => [
    `export const serviceName = '${name}';`,
    `"name": "${name}",`,
    `curl localhost:8000/api/${name}/v1/dinosaurs`,
    `code: '${name}-7', \`${name}-$\{code}\`, ${name}-N`,
    `the ${name} API and the ${name} service`,
    "modelled on Red Hat's rh-trex (Go); rh-trex's k6 script; github.com/openshift-online/rh-trex",
  ];

  it('renames the API root, the error codes and the name literals, and keeps mentions of rh-trex', () => {
    expect(renamed(lines(old).join('\n'), 'new-service')).toBe(lines('new-service').join('\n'));
  });

  it('renames every mention in deployment files: Kubernetes object names, labels, the image', () => {
    const manifest = (name: string): string =>
      `metadata:\n  name: ${name}-metrics\n  labels:\n    app.kubernetes.io/name: ${name}\nimage: ${name}`;
    expect(renamed(manifest(old), 'new-service', true)).toBe(manifest('new-service'));
  });
});
