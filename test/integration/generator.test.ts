import { execFile } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A new service as a user makes one: `trex clone` copies this project under a new name (this project's
// node_modules linked in), then `trex generate` adds and changes a Kind in it; after each step the new
// service's own type check, lint and tests must pass.
const root = fileURLToPath(new URL('../..', import.meta.url));
const minutes = 60_000;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cwd: string, command: string, args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env: process.env, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

const trex = (cwd: string, ...args: string[]): Promise<Result> =>
  run(cwd, 'node', [join(cwd, 'bin/trex.js'), ...args]);
const npx = (cwd: string, ...args: string[]): Promise<Result> =>
  run(cwd, join(cwd, 'node_modules/.bin', args[0] ?? ''), args.slice(1));

async function expectPasses(result: Promise<Result>): Promise<void> {
  const { code, stdout, stderr } = await result;
  expect(code, `${stdout.slice(-3000)}\n${stderr.slice(-3000)}`).toBe(0);
}

// The service type-checks, lints (formatting and the import layers), and passes the given tests. The
// three run at once: the type check is CPU-bound while the tests mostly wait on PostgreSQL.
async function checksPass(service: string, tests: string[]): Promise<void> {
  await Promise.all([
    expectPasses(npx(service, 'tsc', '-p', '.')),
    expectPasses(run(service, 'npm', ['run', '-s', 'lint'])),
    expectPasses(npx(service, 'vitest', 'run', ...tests)),
  ]);
}

// The new Kind's tests, and the OpenAPI document's: the generator regenerated the document and client, and
// the service must serve what it committed.
const kindTests = ['test/integration/gadgets.test.ts', 'test/integration/openapi.test.ts'];

describe('a new service: trex clone, then trex generate', () => {
  let scratch: string;
  let copy: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'trex-clone-'));
    chmodSync(scratch, 0o755); // the embedded PostgreSQL of the copy's tests runs as another user
    copy = join(scratch, 'my-service');
  });
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it('clones the project as a renamed service', async () => {
    await expectPasses(trex(root, 'clone', '--name', 'my-service', '--destination', copy));
    symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));

    expect(readFileSync(join(copy, 'src/service-name.ts'), 'utf8')).toContain("serviceName = 'my-service'");
    expect(JSON.parse(readFileSync(join(copy, 'package.json'), 'utf8')).name).toBe('my-service');
    expect(readFileSync(join(copy, 'README.md'), 'utf8')).toContain('/api/my-service/v1/dinosaurs');
    expect(statSync(join(copy, 'bin/trex.js')).mode & 0o777).toBe(
      statSync(join(root, 'bin/trex.js')).mode & 0o777,
    );
    expect(existsSync(join(copy, 'node_modules/.bin/tsc'))).toBe(true);
  });

  // `order` and `user` are SQL keywords: the generated SQL must quote them.
  const fields =
    'title:string:required:indexed,count:int,weight:float,serial:int64:required,active:bool,seen_at:time,order:int,user:string,maker_id:ref:Dinosaur:required';

  it(
    "adds a Kind with every field type; the service type-checks, lints, and passes its tests and the Kind's",
    async () => {
      await expectPasses(trex(copy, 'generate', '--kind', 'Gadget', '--fields', fields));
      for (const file of ['model.ts', 'plugin.ts', 'extensions.ts'])
        expect(existsSync(join(copy, 'src/kinds/gadgets', file))).toBe(true);
      expect(readdirSync(join(copy, 'src/kinds/gadgets/migrations'))).toEqual([
        expect.stringMatching(/^\d{12}_create_gadgets\.ts$/),
      ]);
      expect(readFileSync(join(copy, 'src/kinds/plugins.ts'), 'utf8')).toMatch(/gadgetPlugin/);
      // The renamed service's own tests too: its unit tests, and the example Kind at the HTTP edge.
      await checksPass(copy, [
        ...kindTests,
        'test/unit',
        'test/integration/dinosaurs.test.ts',
        'test/integration/edge.test.ts',
      ]);
    },
    6 * minutes,
  );

  it(
    'round trip: hand-written rules, routes, controllers and background work survive a regeneration; the types follow the fields',
    async () => {
      const gadgets = join(copy, 'src/kinds/gadgets');
      const extensions = join(gadgets, 'extensions.ts');
      writeFileSync(extensions, handWrittenExtensions(''));
      // Hand-written code that reads a field the Kind does not have yet: the type check refuses it.
      const probe = join(gadgets, 'colour-of.ts');
      writeFileSync(probe, colourProbe);
      const before = await npx(copy, 'tsc', '-p', '.');
      expect(before.code).not.toBe(0);
      expect(before.stdout).toMatch(/colour-of\.ts.*Property 'colour' does not exist/);

      // The regeneration runs the compiled command, as it does after `npm start` or `npm test` built it.
      await expectPasses(run(copy, 'npm', ['run', '-s', 'build']));
      const model = readFileSync(join(gadgets, 'model.ts'), 'utf8');
      const changed =
        'title:string:required:indexed,count:int:required:indexed,serial:int64:required,active:bool,seen_at:time,order:int,user:string,maker_id:ref:Dinosaur:required,colour:string:indexed,find_id:ref:Fossil';
      const unchanged = (): void => {
        expect(readFileSync(join(gadgets, 'model.ts'), 'utf8')).toBe(model);
        expect(readdirSync(join(gadgets, 'migrations'))).toHaveLength(1);
      };

      // Dropping `weight` loses its values: refused in one line, and nothing written.
      const refused = await trex(copy, 'generate', '--kind', 'Gadget', '--fields', changed);
      expect(refused.code, refused.stderr).toBe(2);
      expect(refused.stderr.trim().split('\n')).toEqual([expect.stringMatching(/weight.*--force/)]);
      unchanged();

      // A dry run prints the plan even when it is refused, and writes nothing.
      const dryRefused = await trex(copy, 'generate', '--kind', 'Gadget', '--fields', changed, '--dry-run');
      expect(dryRefused.code).toBe(2);
      expect(dryRefused.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^trex: refused: .*weight/),
      ]);
      expect(dryRefused.stdout).toMatch(/^update src\/kinds\/gadgets\/model\.ts$/m);
      expect(dryRefused.stdout).toMatch(
        /^create src\/kinds\/gadgets\/migrations\/\d{12}_alter_gadgets\.ts$/m,
      );
      expect(dryRefused.stdout).toMatch(/sql: alter table "gadgets" drop column "weight"/);
      expect(dryRefused.stdout).not.toMatch(/extensions\.ts/);
      unchanged();
      const dryForced = await trex(
        copy,
        'generate',
        '--kind',
        'Gadget',
        '--fields',
        changed,
        '--dry-run',
        '--force',
      );
      expect(dryForced.code).toBe(0);
      expect(dryForced.stdout).toMatch(/dry run: nothing written/);
      unchanged();

      // ... and the Kind becomes tenant-scoped on the way.
      await expectPasses(
        trex(copy, 'generate', '--kind', 'Gadget', '--fields', changed, '--force', '--tenant-scoped'),
      );
      expect(readFileSync(join(gadgets, 'model.ts'), 'utf8')).toContain('tenantScoped: true');
      // Every hand-written line is as it was.
      expect(readFileSync(extensions, 'utf8')).toBe(handWrittenExtensions(''));
      expect(readFileSync(probe, 'utf8')).toBe(colourProbe);
      const migrations = readdirSync(join(gadgets, 'migrations')).sort();
      expect(migrations).toEqual([
        expect.stringMatching(/_create_gadgets\.ts$/),
        expect.stringMatching(/_alter_gadgets\.ts$/),
      ]);
      const alter = readFileSync(join(gadgets, 'migrations', migrations[1] ?? ''), 'utf8');
      expect(alter).toMatch(/drop column "weight"/);
      expect(alter).toMatch(/add column "colour" text/);
      expect(alter).toMatch(/add column "find_id" text references "fossils" \(id\) on delete restrict/);
      expect(alter).toMatch(/create index "gadgets_find_id" on "gadgets" \("find_id"\)/);
      expect(alter).toMatch(/add column tenant_id text not null default ''/);
      expect(alter).toMatch(
        /create index "gadgets_tenant_live_order" on "gadgets" \(tenant_id, created_at, id\)/,
      );

      // The next hand edit uses the new field; the service type-checks and lints, the test run migrates a
      // fresh template database through both migrations, and the Kind's tests pass with its new fields, with
      // the hand-written test of the rule, route, controller and background work.
      writeFileSync(extensions, handWrittenExtensions(colourRule));
      writeFileSync(join(copy, 'test/integration/gadget-extensions.test.ts'), extensionsTest);
      // Formatted as a person's editor would.
      await expectPasses(
        npx(copy, 'biome', 'format', '--write', extensions, 'test/integration/gadget-extensions.test.ts'),
      );
      await checksPass(copy, [...kindTests, 'test/integration/gadget-extensions.test.ts']);
    },
    8 * minutes,
  );

  it('refuses a bad field list in one line and writes nothing', async () => {
    const result = await trex(copy, 'generate', '--kind', 'Widget', '--fields', 'name:strng');
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/unknown type 'strng'/)]);
    expect(existsSync(join(copy, 'src/kinds/widgets'))).toBe(false);
  });
});

// The file a person owns, as one would write it: a rule, a route, a controller and background work.
function handWrittenExtensions(moreRules: string): string {
  return `import { validationFailed } from '../../errors/catalogue.ts';
import { errorResponses } from '../../http/openapi-responses.ts';
import { apiBase } from '../../service-name.ts';
import type { KindExtensions } from '../framework/plugin.ts';
import type { gadgetKind } from './model.ts';

// Hand-written: a rule, a route, a controller and background work.
export const gadgetExtensions: KindExtensions<typeof gadgetKind.fields> = {
  rules: () => ({
    async check(values) {
      if (values.title === 'forbidden') throw validationFailed('title must not be forbidden');${moreRules}
    },
  }),
  routes: ({ service }) => ({
    schemas: [],
    register(app) {
      app.get(
        \`\${apiBase}/gadgets/-/titles\`,
        {
          schema: {
            tags: ['gadgets'],
            security: [{ Bearer: [] }],
            operationId: 'listGadgetTitles',
            summary: 'The titles of the first 100 gadgets',
            response: {
              200: {
                description: 'The titles',
                type: 'object',
                properties: { titles: { type: 'array', items: { type: 'string' } } },
                required: ['titles'],
              },
              ...errorResponses(401, 403, 500, 503),
            },
          },
          config: { kind: 'Gadget', verb: 'list' },
        },
        async () => {
          const { rows } = await service.list({ where: undefined, orderBy: [], offset: 0, limit: 100 });
          return { titles: rows.map((row) => row.title) };
        },
      );
    },
  }),
  controllers: ({ service, logger }) => ({
    onUpsert: async (event) => {
      const gadget = await service.getIncludingDeleted(event.sourceId);
      logger.info({ title: gadget.title, serial: gadget.serial }, 'hand-written controller saw a gadget');
    },
  }),
  background: ({ logger }) => {
    let timer: NodeJS.Timeout | undefined;
    return {
      start: () => {
        timer = setInterval(() => logger.debug('hand-written worker ticks'), 60_000);
        logger.info('hand-written worker started');
      },
      stop: async () => {
        clearInterval(timer);
      },
    };
  },
};
`;
}

const colourRule = `
      if (values.colour === 'plaid') throw validationFailed('colour must not be plaid');`;

const colourProbe = `import type { KindRow } from '../framework/kind.ts';
import type { gadgetKind } from './model.ts';

export function colourOf(gadget: KindRow<typeof gadgetKind.fields>): string | null {
  return gadget.colour;
}
`;

// The hand-written test of the hand-written parts, in the new service.
const extensionsTest = `import { afterAll, beforeAll, expect, it } from 'vitest';
import { validGadget } from '../support/factories/gadgets.ts';
import { startTestService, type TestService } from '../support/service.ts';

let service: TestService;
let makerId: string;
beforeAll(async () => {
  service = await startTestService();
  const maker = await service.api('/api/my-service/v1/dinosaurs', { method: 'POST', body: { species: 'Maker' } });
  makerId = maker.body.id;
});
afterAll(async () => {
  await service.stop();
});

const gadget = (changes: Record<string, unknown>) => ({ ...validGadget(), maker_id: makerId, ...changes });

it('the hand-written rules refuse what they should, on the old and the new field', async () => {
  for (const body of [gadget({ title: 'forbidden' }), gadget({ colour: 'plaid' })]) {
    const refused = await service.api('/api/my-service/v1/gadgets', { method: 'POST', body });
    expect(refused.status).toBe(400);
    expect(refused.body.reason).toMatch(/must not be/);
  }
});

it('the hand-written route, controller and background work run', async () => {
  const created = await service.api('/api/my-service/v1/gadgets', { method: 'POST', body: gadget({ colour: 'teal' }) });
  expect(created.status).toBe(201);
  expect(created.body.colour).toBe('teal');
  const titles = await service.api('/api/my-service/v1/gadgets/-/titles');
  expect(titles.status).toBe(200);
  expect(titles.body.titles).toContain(created.body.title);
  await expect
    .poll(() => service.logs.some((line) => line.msg === 'hand-written controller saw a gadget' && line.title === created.body.title))
    .toBe(true);
  expect(service.logs.some((line) => line.msg === 'hand-written worker started')).toBe(true);
});
`;
