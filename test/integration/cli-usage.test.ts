import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { options } from '../../src/config/options.ts';
import { cloneProject } from '../../src/generator/clone.ts';
import { cleanEnvironment, runTrex, waitFor } from '../support/cli.ts';
import { finalLines, runTrexInTerminal } from '../support/terminal.ts';

// The command line as a person meets it: complete help, one-line errors with a non-zero exit, and
// progress for the long steps when (and only when) stderr is a terminal.
const root = fileURLToPath(new URL('../..', import.meta.url));
const commands = ['serve', 'migrate', 'token', 'generate', 'clone', 'rotate-webhook-key'] as const;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function temporaryDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'trex-usage-'));
  chmodSync(directory, 0o755); // as root, the embedded PostgreSQL runs as `postgres` and must reach it
  cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

// Help and usage errors touch no files: they share one working directory, so they can run concurrently.
let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'trex-usage-'));
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});
const trex = (args: string[], env: Record<string, string> = {}) =>
  runTrex(args, { cwd: scratch, env: cleanEnvironment(env), timeoutMs: 30_000 });

// The option rows of a help text: the flags and their description (wrapped lines folded in).
function optionRows(help: string): { flags: string; description: string }[] {
  const section = help.split(/^Options:$/m)[1]?.split(/^\S/m)[0] ?? '';
  const rows: { flags: string; description: string }[] = [];
  for (const line of section.split('\n')) {
    const row = /^ {2}(-\S.*?)(?: {2,}(.*))?$/.exec(line);
    if (row) rows.push({ flags: row[1] ?? '', description: row[2] ?? '' });
    else if (line.trim() !== '' && rows.length > 0) {
      const last = rows[rows.length - 1];
      if (last) last.description += ` ${line.trim()}`;
    }
  }
  return rows;
}

describe.concurrent('help', () => {
  it('`trex --help` (and `trex` alone) lists every command with a summary, and exits 0', async () => {
    const help = await trex(['--help']);
    expect(help.code).toBe(0);
    expect(help.stderr).toBe('');
    for (const command of commands)
      expect(help.stdout).toMatch(new RegExp(`^ {2}${command} .*\\S {2,}\\w`, 'm'));
    expect(help.stdout).toMatch(/-V, --version/);
    expect(help.stdout).toMatch(/TREX_ENV/);
    expect((await trex([])).stdout).toBe(help.stdout);
    const version = await trex(['--version']);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  }, 60_000);

  it.each(commands)(
    '`trex %s --help` describes the command and every option, and exits 0',
    async (command) => {
      const help = await trex([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stderr).toBe('');
      expect(help.stdout).toMatch(new RegExp(`^Usage: trex ${command} \\[options\\]\\n\\n\\S.{20,}`));
      const rows = optionRows(help.stdout);
      expect(rows.length).toBeGreaterThan(1);
      for (const { flags, description } of rows) expect(description, flags).toMatch(/\w{3,}/);
      // The configuration flags of serve and migrate, each with the variable that also sets it.
      for (const spec of Object.values(options)) {
        if (!(spec.commands as readonly string[]).includes(command)) continue;
        const row = rows.find(({ flags }) => flags.startsWith(`--${spec.flag} `));
        expect(row?.description, spec.flag).toContain(`TREX_${spec.flag.toUpperCase().replaceAll('-', '_')}`);
      }
      if (command === 'generate') expect((await trex(['help', command])).stdout).toBe(help.stdout);
    },
    60_000,
  );
});

describe.concurrent('errors', () => {
  it.each([
    ['an unknown command', ['bogus'], /^trex: unknown command 'bogus' \(see `trex --help`\)$/],
    ['a misspelt command', ['serv'], /^trex: unknown command 'serv' \(Did you mean serve\?\)/],
    ['help on an unknown command', ['help', 'bogus'], /^trex: unknown command 'bogus'/],
    [
      'an unknown flag',
      ['serve', '--no-such-flag=1'],
      /^trex: unknown option '--no-such-flag=1' \(see `trex serve --help`\)$/,
    ],
    ['a stray argument', ['migrate', 'now'], /^trex: too many arguments for 'migrate'/],
    [
      'a missing required flag',
      ['generate', '--fields', 'a:string'],
      /^trex: required option '--kind <Name>' not specified/,
    ],
    ['a flag without its value', ['clone', '--name'], /^trex: option '--name <name>' argument missing/],
    [
      'a bad duration',
      ['serve', '--http-read-timeout=abc'],
      /^trex: --http-read-timeout: 'abc' is not a duration/,
    ],
    ['a bad integer', ['migrate', '--db-max-open-connections', 'many'], /^trex: --db-max-open-connections/],
    ['a bad boolean', ['serve', '--enable-jwt=perhaps'], /^trex: --enable-jwt/],
    ['a bad token lifetime', ['token', '--expires-in', 'forever'], /^trex: --expires-in forever: expected/],
    ['a bad claim', ['token', '--claim', 'nonsense'], /^trex: --claim nonsense: expected name=value$/],
    [
      'a bad field type',
      ['generate', '--kind', 'Rocket', '--fields', 'name:strng'],
      /^trex: .*unknown type 'strng'/,
    ],
    [
      'a bad service name',
      ['clone', '--name', 'Bad Name', '--destination', 'x'],
      /^trex: --name 'Bad Name' must be/,
    ],
  ])(
    '%s: one line on stderr, nothing on stdout, exit code 2',
    async (_case, args, message) => {
      const result = await trex(args, { TREX_ENV: 'development' });
      expect(result.stdout).toBe('');
      expect(result.stderr.split('\n')).toEqual([expect.stringMatching(message), '']);
      expect(result.code, result.stderr).toBe(2);
    },
    60_000,
  );

  it('a failure of the work itself (no database there): one line, no stack trace, exit code 1', async () => {
    const result = await trex(['migrate', '--db-url', 'postgres://postgres@127.0.0.1:1/none']);
    expect(result.stderr.split('\n')).toEqual([expect.stringMatching(/^trex: .*ECONNREFUSED/), '']);
    expect(result.code).toBe(1);
  }, 60_000);
});

describe('progress in a terminal', () => {
  it('`trex clone` shows its copy step in a terminal, and nothing on stderr elsewhere', async () => {
    const cwd = temporaryDirectory();
    const env = cleanEnvironment();
    const inTerminal = await runTrexInTerminal(
      ['clone', '--name', 'shown-svc', '--destination', join(cwd, 'a')],
      { cwd: root, env },
    );
    expect(inTerminal.code, inTerminal.screen).toBe(0);
    expect(finalLines(inTerminal.screen)).toContainEqual(
      expect.stringMatching(/^✔ Copying the project into \S+\/a \(\d+\.\ds\)$/),
    );
    const piped = await runTrex(['clone', '--name', 'quiet-svc', '--destination', join(cwd, 'b')], {
      cwd: root,
      env,
    });
    expect(piped.code).toBe(0);
    expect(piped.stderr).toBe('');
    expect(piped.stdout).toMatch(/^cloned \d+ files into/);
  }, 60_000);

  it("shows the embedded PostgreSQL's first start (initdb) in a terminal, and later starts quietly", async () => {
    const cwd = temporaryDirectory();
    const env = cleanEnvironment({ TREX_ENV: 'development', TREX_LOG_LEVEL: 'warn' });
    const dataDirectory = join(cwd, '.trex', 'postgres');
    cleanups.push(async () => {
      // Should a run have left the server up, stop it (fast shutdown) before its directory goes.
      const pidFile = join(dataDirectory, 'postmaster.pid');
      if (!existsSync(pidFile)) return;
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      try {
        process.kill(pid, 'SIGINT');
        await waitFor(() => !existsSync(pidFile), 'the embedded PostgreSQL stopped', 30_000);
      } catch {
        // already gone
      }
    });
    const first = await runTrexInTerminal(['migrate'], { cwd, env, timeoutMs: 120_000 });
    expect(first.code, first.screen).toBe(0);
    const lines = finalLines(first.screen);
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^✔ Initialising the embedded PostgreSQL in \.trex\/postgres \(first start only\) \(\d+\.\ds\)$/,
      ),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^✔ Starting the embedded PostgreSQL \(\d+\.\ds\)$/));

    const again = await runTrexInTerminal(['migrate'], { cwd, env, timeoutMs: 120_000 });
    expect(again.code, again.screen).toBe(0);
    expect(again.screen).not.toMatch(/Initialising|Starting/);
  }, 180_000);

  it('`trex generate` shows writing and regenerating the OpenAPI document, which then has the new Kind', async () => {
    const copy = temporaryDirectory();
    cloneProject({ root, name: 'rh-trex', destination: join(copy, 'project') });
    const project = join(copy, 'project');
    symlinkSync(join(root, 'node_modules'), join(project, 'node_modules'));
    const result = await runTrexInTerminal(
      ['generate', '--kind', 'Gizmo', '--fields', 'label:string:required'],
      {
        cwd: project,
        env: cleanEnvironment(),
        timeoutMs: 120_000,
      },
    );
    expect(result.code, result.screen).toBe(0);
    const lines = finalLines(result.screen);
    expect(lines).toContainEqual(expect.stringMatching(/^✔ Writing and formatting \d+ files \(\d+\.\ds\)$/));
    expect(lines).toContainEqual(
      expect.stringMatching(/^✔ Regenerating the OpenAPI document and the typed client \(\d+\.\ds\)$/),
    );
    expect(readFileSync(join(project, 'openapi/openapi.yaml'), 'utf8')).toContain(
      '/api/rh-trex/v1/gizmos/{id}:',
    );
    expect(readFileSync(join(project, 'src/client/schema.ts'), 'utf8')).toContain(
      '"/api/rh-trex/v1/gizmos/{id}"',
    );
  }, 180_000);
});
