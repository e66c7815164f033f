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
import { cloneProject } from '../../src/generator/clone.ts';
import { serviceName } from '../../src/service-name.ts';

// The generator and clone, end to end: each works on a copy of this project (with this project's
// node_modules linked in), and the copy's own type check, lint and tests must pass.
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

function copyOfProject(name: string): string {
  const destination = mkdtempSync(join(tmpdir(), 'trex-copy-'));
  chmodSync(destination, 0o755); // the embedded PostgreSQL of the copy's tests runs as another user
  cloneProject({ root, name, destination });
  symlinkSync(join(root, 'node_modules'), join(destination, 'node_modules'));
  return destination;
}

async function expectPasses(result: Promise<Result>): Promise<void> {
  const { code, stdout, stderr } = await result;
  expect(code, `${stdout.slice(-3000)}\n${stderr.slice(-3000)}`).toBe(0);
}

// The copy type-checks, lints, and passes the new Kind's tests and the OpenAPI document's. The three run at
// once: the type check is CPU-bound while the tests mostly wait on PostgreSQL.
async function checksPass(copy: string): Promise<void> {
  await Promise.all([
    expectPasses(npx(copy, 'tsc', '-p', '.')),
    expectPasses(npx(copy, 'biome', 'check', '.')),
    expectPasses(
      npx(copy, 'vitest', 'run', 'test/integration/gadgets.test.ts', 'test/integration/openapi.test.ts'),
    ),
  ]);
}

describe('trex generate, in a copy of the project', () => {
  let copy: string;
  beforeAll(() => {
    copy = copyOfProject(serviceName);
  });
  afterAll(() => {
    rmSync(copy, { recursive: true, force: true });
  });

  // `order` and `user` are SQL keywords: the generated SQL must quote them.
  const fields =
    'title:string:required,count:int,weight:float,serial:int64:required,active:bool,seen_at:time,order:int,user:string,maker_id:ref:Dinosaur:required';

  it(
    'adds a Kind with every field type, which type-checks, lints and passes its own tests',
    async () => {
      await expectPasses(trex(copy, 'generate', '--kind', 'Gadget', '--fields', fields));
      for (const file of ['model.ts', 'plugin.ts', 'controllers.ts'])
        expect(existsSync(join(copy, 'src/kinds/gadgets', file))).toBe(true);
      expect(readdirSync(join(copy, 'src/kinds/gadgets/migrations'))).toEqual([
        expect.stringMatching(/^\d{12}_create_gadgets\.ts$/),
      ]);
      expect(readFileSync(join(copy, 'src/app/plugins.ts'), 'utf8')).toMatch(/gadgetPlugin/);
      // The generator regenerated the OpenAPI document and client: the copy serves what it committed.
      await checksPass(copy);
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
      // The copy's test run migrates a fresh template database through both migrations, then tests the
      // Kind with its new fields; the regenerated OpenAPI document and client are what the copy serves.
      await checksPass(copy);
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

describe('trex clone', () => {
  let clone: string;
  afterAll(() => {
    rmSync(clone, { recursive: true, force: true });
  });

  it(
    'copies the project as a renamed service whose own checks and tests pass',
    async () => {
      clone = mkdtempSync(join(tmpdir(), 'trex-clone-'));
      chmodSync(clone, 0o755);
      const destination = join(clone, 'my-service');
      await expectPasses(trex(root, 'clone', '--name', 'my-service', '--destination', destination));
      symlinkSync(join(root, 'node_modules'), join(destination, 'node_modules'));

      expect(readFileSync(join(destination, 'src/service-name.ts'), 'utf8')).toContain(
        "serviceName = 'my-service'",
      );
      expect(JSON.parse(readFileSync(join(destination, 'package.json'), 'utf8')).name).toBe('my-service');
      expect(readFileSync(join(destination, 'README.md'), 'utf8')).toContain('/api/my-service/v1/dinosaurs');
      expect(statSync(join(destination, 'bin/trex.js')).mode & 0o777).toBe(
        statSync(join(root, 'bin/trex.js')).mode & 0o777,
      );
      expect(existsSync(join(destination, 'node_modules/.bin/tsc'))).toBe(true);

      await Promise.all([
        expectPasses(npx(destination, 'tsc', '-p', '.')),
        expectPasses(
          npx(
            destination,
            'vitest',
            'run',
            'test/unit',
            'test/integration/dinosaurs.test.ts',
            'test/integration/edge.test.ts',
          ),
        ),
      ]);
    },
    6 * minutes,
  );
});
