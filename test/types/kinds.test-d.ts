import { describe, expectTypeOf, it } from 'vitest';
import type { components } from '../../src/client/schema.ts';
import type { dinosaurKind } from '../../src/kinds/dinosaurs/model.ts';
import type { Fields } from '../../src/kinds/framework/fields.ts';
import type { FieldValues, KindDefinition, KindRow, Resource } from '../../src/kinds/framework/kind.ts';
import type { KindExtensions } from '../../src/kinds/framework/plugin.ts';
import type { KindService } from '../../src/kinds/framework/service.ts';
import type { plugins } from '../../src/kinds/plugins.ts';

// Type-level tests, checked by the TypeScript compiler (vitest's typecheck mode): they pass when the
// types agree, and fail the run when they do not.

type Writable<T> = { -readonly [K in keyof T]: T[K] extends object ? Writable<T[K]> : T[K] };
type Schemas = components['schemas'];
type Plugin = (typeof plugins)[number];
type FieldsOf<P> = P extends { kind: KindDefinition<infer F extends Fields> } ? F : never;

// Every Kind of the plugin list by its name: the resource the service presents, and the client's schema.
type ServiceResources = { [P in Plugin as P['kind']['name']]: Resource<FieldsOf<P>> };
type ClientResources = {
  [N in keyof ServiceResources]: N extends keyof Schemas ? Writable<Schemas[N]> : never;
};

type DinosaurFields = typeof dinosaurKind.fields;

describe('Kind types', () => {
  it("every Kind's resource type is the typed client's schema of it (generated Kinds included)", () => {
    expectTypeOf<ServiceResources>().toEqualTypeOf<ClientResources>();
  });

  it("a Kind's service returns rows whose fields have their types", () => {
    type Row = Awaited<ReturnType<KindService<DinosaurFields>['get']>>;
    expectTypeOf<Row['species']>().toEqualTypeOf<string>();
    expectTypeOf<Row['created_at']>().toEqualTypeOf<Date>();
    expectTypeOf<Row>().not.toHaveProperty('colour');
  });

  it('a write takes field values of the right types, and nothing else', () => {
    expectTypeOf<FieldValues<DinosaurFields>>().toEqualTypeOf<{ species?: string }>();
    expectTypeOf<KindService<DinosaurFields>['patch']>()
      .parameter(1)
      .toEqualTypeOf<FieldValues<DinosaurFields>>();
  });

  it("a Kind's controllers and rules see its typed service and values", () => {
    type Hooks = Required<KindExtensions<DinosaurFields>>;
    expectTypeOf<Parameters<Hooks['controllers']>[0]['service']>().toEqualTypeOf<
      KindService<DinosaurFields>
    >();
    type Checked = Parameters<ReturnType<Hooks['rules']>['check']>[0];
    expectTypeOf<Checked['species']>().toEqualTypeOf<string | undefined>();
  });

  it('a row of any Kind is still a row', () => {
    expectTypeOf<KindRow<DinosaurFields>>().toExtend<KindRow>();
  });
});
