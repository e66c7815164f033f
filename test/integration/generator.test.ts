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

// The service type-checks, lints, and passes the given tests. The three run at once: the type check is
// CPU-bound while the tests mostly wait on PostgreSQL.
async function checksPass(service: string, tests: string[]): Promise<void> {
  await Promise.all([
    expectPasses(npx(service, 'tsc', '-p', '.')),
    expectPasses(npx(service, 'biome', 'check', '.')),
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
    'title:string:required,count:int,weight:float,serial:int64:required,active:bool,seen_at:time,order:int,user:string,maker_id:ref:Dinosaur:required';

  it(
    "adds a Kind with every field type; the service type-checks, lints, and passes its tests and the Kind's",
    async () => {
      await expectPasses(trex(copy, 'generate', '--kind', 'Gadget', '--fields', fields));
      for (const file of ['model.ts', 'plugin.ts', 'controllers.ts'])
        expect(existsSync(join(copy, 'src/kinds/gadgets', file))).toBe(true);
      expect(readdirSync(join(copy, 'src/kinds/gadgets/migrations'))).toEqual([
        expect.stringMatching(/^\d{12}_create_gadgets\.ts$/),
      ]);
      expect(readFileSync(join(copy, 'src/app/plugins.ts'), 'utf8')).toMatch(/gadgetPlugin/);
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
    'regenerates for a new field list: refuses losses without --force, keeps hand-written code, migrates',
    async () => {
      const controllers = join(copy, 'src/kinds/gadgets/controllers.ts');
      writeFileSync(
        controllers,
        `${readFileSync(controllers, 'utf8')}\n// Hand-written: must survive.\nexport function handWritten(): string {\n  return 'kept';\n}\n`,
      );
      const model = readFileSync(join(copy, 'src/kinds/gadgets/model.ts'), 'utf8');
      const changed =
        'title:string:required,count:int:required,serial:int64:required,active:bool,seen_at:time,order:int,user:string,maker_id:ref:Dinosaur:required,colour:string,find_id:ref:Fossil';

      const refused = await trex(copy, 'generate', '--kind', 'Gadget', '--fields', changed);
      expect(refused.code).toBe(2);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(refused.stderr).toMatch(/weight.*--force|--force/);
      expect(readFileSync(join(copy, 'src/kinds/gadgets/model.ts'), 'utf8')).toBe(model);
      expect(readdirSync(join(copy, 'src/kinds/gadgets/migrations'))).toHaveLength(1);

      await expectPasses(trex(copy, 'generate', '--kind', 'Gadget', '--fields', changed, '--force'));
      expect(readFileSync(controllers, 'utf8')).toContain(
        "export function handWritten(): string {\n  return 'kept';\n}",
      );
      const migrations = readdirSync(join(copy, 'src/kinds/gadgets/migrations')).sort();
      expect(migrations).toEqual([
        expect.stringMatching(/_create_gadgets\.ts$/),
        expect.stringMatching(/_alter_gadgets\.ts$/),
      ]);
      const alter = readFileSync(join(copy, 'src/kinds/gadgets/migrations', migrations[1] ?? ''), 'utf8');
      expect(alter).toMatch(/drop column "weight"/);
      expect(alter).toMatch(/add column "colour" text/);
      expect(alter).toMatch(/add column "find_id" text references "fossils" \(id\) on delete restrict/);
      expect(alter).toMatch(/create index "gadgets_find_id" on "gadgets" \("find_id"\)/);
      // The test run migrates a fresh template database through both migrations, then tests the Kind
      // with its new fields.
      await checksPass(copy, kindTests);
    },
    6 * minutes,
  );

  it('refuses a bad field list in one line and writes nothing', async () => {
    const result = await trex(copy, 'generate', '--kind', 'Widget', '--fields', 'name:strng');
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/unknown type 'strng'/)]);
    expect(existsSync(join(copy, 'src/kinds/widgets'))).toBe(false);
  });
});
