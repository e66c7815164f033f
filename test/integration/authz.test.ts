import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.ts';
import { cleanEnvironment, freePorts, runTrex } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { jwksFile, signingKey } from '../support/identity-provider.ts';
import type { ApiResponse, TestService } from '../support/service.ts';
import { openSse } from '../support/sse.ts';
import { startTracedService } from '../support/traced-service.ts';

const apiBase = '/api/rh-trex/v1';
const dinosaurs = `${apiBase}/dinosaurs`;
const events = `${apiBase}/events`;
const jwtShape = /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/;

const secrets = new Set<string>();
const allLogs: Record<string, unknown>[][] = [];
const directory = mkdtempSync(join(tmpdir(), 'trex-authz-'));
chmodSync(directory, 0o755);
afterAll(() => rmSync(directory, { recursive: true, force: true }));

let fileCount = 0;
function writeFile(name: string, text: string): string {
  const file = join(directory, `${++fileCount}-${name}`);
  writeFileSync(file, text);
  return file;
}

async function traced(flags: Parameters<typeof startTracedService>[0]): Promise<TestService> {
  const service = await startTracedService(flags);
  allLogs.push(service.logs);
  return service;
}

async function tokenFor(service: TestService, claims: JWTPayload): Promise<string> {
  const token = await service.keys.mint(claims);
  secrets.add(token);
  return token;
}

function expectError(response: ApiResponse, status: number, code: number, label: string): string {
  expect(response.status, `${label}: ${response.text}`).toBe(status);
  expect(response.body, label).toMatchObject({
    kind: 'Error',
    id: String(code),
    href: `${apiBase}/errors/${code}`,
    code: `rh-trex-${code}`,
    operation_id: response.headers.get('x-operation-id'),
  });
  return String(response.body.reason);
}

async function count(service: TestService, table: string): Promise<number> {
  const [row] = await service.database.query<{ count: string }>(`select count(*) from ${table}`);
  return Number(row?.count);
}

const publicRoutes = [
  '/api/rh-trex',
  apiBase,
  `${apiBase}/errors`,
  `${apiBase}/errors/4`,
  `${apiBase}/openapi`,
  `${apiBase}/openapi.html`,
];

const docsPolicy = `
- claim: groups # administrators may do anything
  pattern: trex-admins
  kinds: ["*"]
  verbs: ["*"]
- kinds: [Dinosaur, Event] # everyone else may read
  verbs: [list, get]
- claim: username # and alice may also create dinosaurs
  pattern: alice
  kinds: [Dinosaur]
  verbs: [create]
`;

describe('ACL (--acl-file)', () => {
  let service: TestService;

  beforeAll(async () => {
    const aclFile = writeFile(
      'acl.yaml',
      `
- claim: email
  pattern: '.*@example\\.com'
- claim: groups
  pattern: trex-users
`,
    );
    service = await traced({ aclFile });
  });
  afterAll(async () => {
    await service?.stop();
  });

  const get = async (claims: JWTPayload, path = dinosaurs) =>
    await service.api(path, { token: await tokenFor(service, claims) });

  it('admits a token whose email matches', async () => {
    for (const email of ['alice@example.com', 'x.y+tag@example.com']) {
      const response = await get({ username: 'alice', email });
      expect(response.status, `${email}: ${response.text}`).toBe(200);
    }
    const token = await tokenFor(service, { username: 'alice', email: 'alice@example.com' });
    const created = await service.api(dinosaurs, { method: 'POST', body: { species: 'Aclosaurus' }, token });
    expect(created.status).toBe(201);
  });

  it('refuses a token that matches no entry with 403 code 11 naming the username, and writes nothing', async () => {
    const reason = expectError(
      await get({ username: 'mallory', email: 'mallory@example.org' }),
      403,
      11,
      'no',
    );
    expect(reason).toContain('mallory');
    const before = await count(service, 'dinosaurs');
    const token = await tokenFor(service, { username: 'mallory', email: 'mallory@example.org' });
    const created = await service.api(dinosaurs, { method: 'POST', body: { species: 'Nope' }, token });
    expectError(created, 403, 11, 'POST');
    expect(await count(service, 'dinosaurs')).toBe(before);
    expectError(await get({ username: 'mallory' }, events), 403, 11, 'events');
    expectError(await get({ username: 'nobody' }), 403, 11, 'no claims at all');
  });

  it('matches the pattern against the whole value', async () => {
    for (const email of [
      'mallory@example.com.evil',
      'mallory@sub.example.com',
      'mallory@example.comx',
      'mallory@exampleXcom',
      'example.com',
      '@example.com\nmallory@evil.org',
      'mallory@evil.org\nx@example.com',
    ]) {
      expectError(await get({ username: 'mallory', email }), 403, 11, JSON.stringify(email));
    }
    for (const groups of [['trex-users-evil'], ['xtrex-users'], ['trex-user'], 'trex-users2']) {
      expectError(await get({ username: 'mallory', groups }), 403, 11, JSON.stringify(groups));
    }
  });

  it('matches a list claim by any one element', async () => {
    for (const groups of [['a', 'trex-users'], ['trex-users'], 'trex-users', ['trex-users', 'b']]) {
      const response = await get({ username: 'grouped', groups });
      expect(response.status, `${JSON.stringify(groups)}: ${response.text}`).toBe(200);
    }
    for (const groups of [[], ['a', 'b'], [['trex-users']]]) {
      expectError(await get({ username: 'grouped', groups }), 403, 11, JSON.stringify(groups));
    }
  });

  it('authenticates first: no token or a bad one is 401 code 15, not 403', async () => {
    const missing = await service.api(dinosaurs, { token: null });
    expectError(missing, 401, 15, 'missing');
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
    expectError(await service.api(dinosaurs, { token: 'not.a.token' }), 401, 15, 'bad');
  });

  it('leaves the public routes open', async () => {
    for (const path of publicRoutes) {
      expect((await service.api(path, { token: null })).status, path).toBe(200);
    }
  });
});

describe('a broken ACL or policy file stops the service at start-up', () => {
  const broken: [string, string][] = [
    ['bad YAML', '- claim: email\n  pattern: [unclosed\n'],
    ['a missing pattern', '- claim: email\n'],
    ['a missing claim', "- pattern: '.*'\n"],
    ['an invalid pattern', "- claim: email\n  pattern: '(unclosed'\n"],
    ['not a list', 'claim: email\npattern: x\n'],
  ];

  it.each(broken)('an ACL file with %s', async (_label, text) => {
    const file = writeFile('broken-acl.yaml', text);
    const error = await startTracedService({ aclFile: file }).then(
      (started) => started.stop().then(() => new Error('the service started')),
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).not.toContain('\n');
  });

  it('a missing ACL file', async () => {
    const file = join(directory, 'no-such-acl.yaml');
    await expect(startTracedService({ aclFile: file })).rejects.toThrow(file);
  });

  const brokenPolicies: [string, string, string][] = [
    ['an unknown verb', '- kinds: [Dinosaur]\n  verbs: [list, read]\n', 'read'],
    ['bad YAML', '- kinds: [Dinosaur\n  verbs: [list]\n', ''],
    ['no verbs', '- kinds: [Dinosaur]\n', 'verbs'],
    ['no kinds', '- verbs: [list]\n', 'kinds'],
    ['an invalid pattern', "- claim: groups\n  pattern: '[x'\n  kinds: ['*']\n  verbs: ['*']\n", ''],
    ['a pattern but no claim', "- pattern: admins\n  kinds: ['*']\n  verbs: ['*']\n", 'claim'],
    ['allTenants but no claim', "- kinds: ['*']\n  verbs: ['*']\n  allTenants: true\n", 'allTenants'],
    [
      'allTenants not a boolean',
      "- claim: groups\n  pattern: admins\n  kinds: ['*']\n  verbs: ['*']\n  allTenants: yes-please\n",
      'allTenants',
    ],
  ];

  it.each(brokenPolicies)('a policy file with %s', async (_label, text, named) => {
    const file = writeFile('broken-policy.yaml', text);
    const error = await startTracedService({ authzPolicyFile: file }).then(
      (started) => started.stop().then(() => new Error('the service started')),
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toContain(named);
    expect((error as Error).message).not.toContain('\n');
  });

  it.each([
    ['--acl-file', "- claim: email\n  pattern: '(unclosed'\n"],
    ['--authz-policy-file', '- kinds: [Dinosaur]\n  verbs: [read]\n'],
  ])(
    '`trex serve %s=<broken file>` exits non-zero with one line naming the file',
    async (flag, text) => {
      const file = writeFile('cli-broken.yaml', text);
      const database = await createTestDatabase();
      try {
        const keys = jwksFile([await signingKey('cli-key')]);
        const [api, metrics, health] = await freePorts(3);
        const result = await runTrex(
          [
            'serve',
            `${flag}=${file}`,
            `--jwk-cert-file=${keys}`,
            '--db-url',
            database.url,
            `--api-server-bindaddress=127.0.0.1:${api}`,
            `--metrics-server-bindaddress=127.0.0.1:${metrics}`,
            `--health-check-server-bindaddress=127.0.0.1:${health}`,
          ],
          { cwd: directory, env: cleanEnvironment({ TREX_ENV: 'integration_testing' }), timeoutMs: 30_000 },
        );
        expect(result.code).not.toBe(0);
        const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
        expect(lines, result.stderr).toHaveLength(1);
        expect(lines[0]).toContain(file);
      } finally {
        await database.drop();
      }
    },
    60_000,
  );
});

describe('authorization policy (--authz-policy-file)', () => {
  let service: TestService;
  let admin: string;
  let reader: string;
  let alice: string;

  beforeAll(async () => {
    service = await traced({ authzPolicyFile: writeFile('policy.yaml', docsPolicy) });
    admin = await tokenFor(service, { username: 'root', groups: ['staff', 'trex-admins'] });
    reader = await tokenFor(service, { username: 'carol', groups: ['staff'] });
    alice = await tokenFor(service, { username: 'alice' });
  });
  afterAll(async () => {
    await service?.stop();
  });

  async function createAsAdmin(species: string): Promise<string> {
    const created = await service.api(dinosaurs, { method: 'POST', body: { species }, token: admin });
    expect(created.status, created.text).toBe(201);
    return created.body.id as string;
  }

  it('lets administrators do everything', async () => {
    const id = await createAsAdmin('Adminosaurus');
    const item = `${dinosaurs}/${id}`;
    expect((await service.api(dinosaurs, { token: admin })).status).toBe(200);
    expect((await service.api(item, { token: admin })).status).toBe(200);
    const patched = await service.api(item, {
      method: 'PATCH',
      body: { species: 'Rootosaurus' },
      token: admin,
    });
    expect(patched.status, patched.text).toBe(200);
    expect((await service.api(item, { method: 'DELETE', token: admin })).status).toBe(204);
    const list = await service.api(events, { token: admin });
    expect(list.status).toBe(200);
    expect(list.body.items.length).toBeGreaterThan(0);
    expect((await service.api(`${events}/${list.body.items[0].id}`, { token: admin })).status).toBe(200);
  });

  it('lets everyone else list and get Dinosaurs and Events', async () => {
    const id = await createAsAdmin('Readosaurus');
    expect((await service.api(dinosaurs, { token: reader })).status).toBe(200);
    const got = await service.api(`${dinosaurs}/${id}`, { token: reader });
    expect(got.status).toBe(200);
    expect(got.body.species).toBe('Readosaurus');
    const list = await service.api(events, { token: reader });
    expect(list.status).toBe(200);
    expect((await service.api(`${events}/${list.body.items[0].id}`, { token: reader })).status).toBe(200);
  });

  it('refuses everyone else create, update and delete with 403 code 4, and writes nothing', async () => {
    const id = await createAsAdmin('Keptosaurus');
    const item = `${dinosaurs}/${id}`;
    const rowsBefore = await count(service, 'dinosaurs');
    const eventsBefore = await count(service, 'events');

    const created = await service.api(dinosaurs, {
      method: 'POST',
      body: { species: 'Nope' },
      token: reader,
    });
    const reason = expectError(created, 403, 4, 'POST');
    expect(reason).toContain('carol');
    expect(reason).toContain('create');
    expectError(
      await service.api(item, { method: 'PATCH', body: { species: 'Changed' }, token: reader }),
      403,
      4,
      'PATCH',
    );
    expectError(await service.api(item, { method: 'DELETE', token: reader }), 403, 4, 'DELETE');
    // Refused before the body is read: an unreadable body is still 403, not 400.
    expectError(
      await service.api(dinosaurs, { method: 'POST', body: '{not json', token: reader }),
      403,
      4,
      'bad body',
    );

    expect(await count(service, 'dinosaurs')).toBe(rowsBefore);
    expect(await count(service, 'events')).toBe(eventsBefore);
    const [row] = await service.database.query<{ species: string; deleted_at: Date | null }>(
      'select * from dinosaurs where id = $1',
      [id],
    );
    expect(row?.species).toBe('Keptosaurus');
    expect((await service.api(item, { token: reader })).status).toBe(200);
  });

  it('lets alice create dinosaurs but not update or delete them', async () => {
    const before = await count(service, 'dinosaurs');
    const created = await service.api(dinosaurs, {
      method: 'POST',
      body: { species: 'Alicesaurus' },
      token: alice,
    });
    expect(created.status, created.text).toBe(201);
    expect(await count(service, 'dinosaurs')).toBe(before + 1);
    const item = `${dinosaurs}/${created.body.id}`;
    expectError(
      await service.api(item, { method: 'PATCH', body: { species: 'Changed' }, token: alice }),
      403,
      4,
      'alice PATCH',
    );
    expectError(await service.api(item, { method: 'DELETE', token: alice }), 403, 4, 'alice DELETE');
    const got = await service.api(item, { token: alice });
    expect(got.body.species).toBe('Alicesaurus');
  });

  it('matches the whole claim value: "malice" and "alice2" are not alice, nor is an admin group look-alike', async () => {
    for (const claims of [
      { username: 'malice' },
      { username: 'alice2' },
      { username: 'ALICE' },
      { username: 'carol', groups: ['trex-admins-not'] },
      { username: 'carol', groups: 'my-trex-admins' },
    ]) {
      const token = await tokenFor(service, claims);
      const response = await service.api(dinosaurs, { method: 'POST', body: { species: 'Nope' }, token });
      expectError(response, 403, 4, JSON.stringify(claims));
    }
  });

  it('authenticates before it authorizes: no token is 401 code 15', async () => {
    const response = await service.api(dinosaurs, { method: 'POST', body: { species: 'Nope' }, token: null });
    expectError(response, 401, 15, 'no token');
  });
});

describe('authorization verbs per route', () => {
  let service: TestService;
  let lister: string;
  let getter: string;
  let writer: string;

  beforeAll(async () => {
    const policy = writeFile(
      'verbs.yaml',
      `
- claim: username
  pattern: lister
  kinds: [Dinosaur]
  verbs: [list]
- claim: username
  pattern: getter
  kinds: [Dinosaur, Event]
  verbs: [get]
- claim: username
  pattern: writer
  kinds: [Dinosaur]
  verbs: [create, update, delete]
`,
    );
    service = await traced({ authzPolicyFile: policy });
    lister = await tokenFor(service, { username: 'lister' });
    getter = await tokenFor(service, { username: 'getter' });
    writer = await tokenFor(service, { username: 'writer' });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('maps each route to its verb', async () => {
    const created = await service.api(dinosaurs, {
      method: 'POST',
      body: { species: 'Verbosaurus' },
      token: writer,
    });
    expect(created.status, created.text).toBe(201);
    const item = `${dinosaurs}/${created.body.id}`;

    expect((await service.api(dinosaurs, { token: lister })).status).toBe(200);
    expectError(await service.api(item, { token: lister }), 403, 4, 'lister get');
    expectError(await service.api(events, { token: lister }), 403, 4, 'lister events');

    expect((await service.api(item, { token: getter })).status).toBe(200);
    expect(expectError(await service.api(dinosaurs, { token: getter }), 403, 4, 'getter list')).toContain(
      'list',
    );
    const head = await service.api(dinosaurs, { method: 'HEAD', token: getter });
    expect(head.status).toBe(403);
    // `get` on a missing one is authorized, then not found.
    expect((await service.api(`${dinosaurs}/no-such-id`, { token: getter })).status).toBe(404);

    expectError(await service.api(dinosaurs, { token: writer }), 403, 4, 'writer list');
    expectError(await service.api(item, { token: writer }), 403, 4, 'writer get');
    const patched = await service.api(item, { method: 'PATCH', body: { species: 'Patched' }, token: writer });
    expect(patched.status, patched.text).toBe(200);
    expect((await service.api(item, { method: 'DELETE', token: writer })).status).toBe(204);
  });

  it('treats watching a collection as list', async () => {
    const allowed = await openSse(`${service.apiUrl}${dinosaurs}?watch=true`, {
      authorization: `Bearer ${lister}`,
    });
    try {
      expect(allowed.status).toBe(200);
      expect(String(allowed.headers['content-type'])).toMatch(/^text\/event-stream/);
    } finally {
      allowed.close();
    }
    for (const token of [getter, writer]) {
      const refused = await openSse(`${service.apiUrl}${dinosaurs}?watch=true`, {
        authorization: `Bearer ${token}`,
      });
      try {
        expect(refused.status).toBe(403);
        expect(JSON.parse(refused.body)).toMatchObject({ kind: 'Error', code: 'rh-trex-4' });
      } finally {
        refused.close();
      }
    }
  });
});

describe('authorization switched off or without a policy', () => {
  async function expectEverythingAllowed(service: TestService, label: string): Promise<void> {
    const token = await tokenFor(service, { username: 'carol' });
    const created = await service.api(dinosaurs, { method: 'POST', body: { species: 'Freeosaurus' }, token });
    expect(created.status, `${label}: ${created.text}`).toBe(201);
    const item = `${dinosaurs}/${created.body.id}`;
    expect((await service.api(dinosaurs, { token })).status, label).toBe(200);
    expect((await service.api(item, { token })).status, label).toBe(200);
    expect((await service.api(item, { method: 'PATCH', body: { species: 'X' }, token })).status, label).toBe(
      200,
    );
    expect((await service.api(item, { method: 'DELETE', token })).status, label).toBe(204);
    expect((await service.api(events, { token })).status, label).toBe(200);
    // Authentication still applies.
    expectError(await service.api(dinosaurs, { token: null }), 401, 15, `${label}: no token`);
  }

  it('--enable-authz=false with the policy file allows every authenticated caller', async () => {
    const service = await traced({
      authzPolicyFile: writeFile('policy.yaml', docsPolicy),
      enableAuthz: 'false',
    });
    try {
      await expectEverythingAllowed(service, 'authz off');
    } finally {
      await service.stop();
    }
  });

  it('--enable-authz with no policy file allows every authenticated caller', async () => {
    const service = await traced({ enableAuthz: 'true' });
    try {
      await expectEverythingAllowed(service, 'no policy');
    } finally {
      await service.stop();
    }
  });

  it('a policy that grants nobody anything still leaves the public routes open', async () => {
    const denyAll = writeFile(
      'deny-all.yaml',
      '- claim: groups\n  pattern: nobody-is-in-this-group\n  kinds: ["*"]\n  verbs: ["*"]\n',
    );
    const service = await traced({ authzPolicyFile: denyAll });
    try {
      for (const path of publicRoutes) {
        expect((await service.api(path, { token: null })).status, path).toBe(200);
      }
      const token = await tokenFor(service, { username: 'carol', groups: ['trex-admins'] });
      expectError(await service.api(dinosaurs, { token }), 403, 4, 'list');
      expectError(await service.api(events, { token }), 403, 4, 'events');
      expectError(
        await service.api(dinosaurs, { method: 'POST', body: { species: 'N' }, token }),
        403,
        4,
        'POST',
      );
      expectError(await service.api(dinosaurs, { token: null }), 401, 15, 'no token');
    } finally {
      await service.stop();
    }
  });
});

describe('log hygiene', () => {
  it('never writes a token to any log line', () => {
    expect(secrets.size).toBeGreaterThan(20);
    const lines = allLogs.flat().map((line) => JSON.stringify(line));
    expect(lines.some((line) => line.includes('"status":403'))).toBe(true);
    for (const line of lines) {
      expect(line).not.toMatch(jwtShape);
      expect(line).not.toMatch(/authorization/i);
      for (const secret of secrets) expect(line).not.toContain(secret);
    }
  });
});
