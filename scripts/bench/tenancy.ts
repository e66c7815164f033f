// What tenancy costs: the same reads against two TRex processes on the same database, one without
// --tenant-claim and one with it, in turns. The seeded rows are spread over ten tenants; the caller's
// token names one of them, so with tenancy each GET and list adds `tenant_id = ...` and reads through the
// index that starts with the tenant.
import { join } from 'node:path';
import type { Request } from 'autocannon';
import { benchCredentials } from './auth.ts';
import { type BenchDatabase, seededId, seededRows, tenantCount } from './database.ts';
import { type LoadResult, measureInTurns } from './load.ts';
import { startTrex } from './trex-process.ts';
import { connections } from './workloads.ts';

export interface TenancyRow {
  readonly name: string;
  readonly without: LoadResult;
  readonly with: LoadResult;
}

// A seeded dinosaur of the caller's tenant (tenant-1: the rows whose number leaves 1 over ten).
const ofTenant = (): string =>
  seededId(1 + tenantCount * Math.floor(Math.random() * (seededRows / tenantCount)));

export async function measureTenancy(
  database: BenchDatabase,
  scratch: string,
  seconds: number,
): Promise<TenancyRow[]> {
  const jwks = join(scratch, 'tenancy-jwks.json');
  const token = await benchCredentials(jwks, { org_id: 'tenant-1' });
  const env = { TREX_ENABLE_JWT: 'true', TREX_JWK_CERT_FILE: jwks, TREX_DB_MAX_OPEN_CONNECTIONS: '20' };
  const without = await startTrex(database.url, env);
  const scoped = await startTrex(database.url, { ...env, TREX_TENANT_CLAIM: 'org_id' });
  try {
    const reads: [string, Request][] = [
      [
        'GET by id',
        {
          method: 'GET',
          setupRequest: (request) => ({ ...request, path: `/api/rh-trex/v1/dinosaurs/${ofTenant()}` }),
        },
      ],
      ['list 100', { method: 'GET', path: '/api/rh-trex/v1/dinosaurs' }],
    ];
    const rows: TenancyRow[] = [];
    for (const [name, request] of reads) {
      process.stderr.write(`bench: tenancy, ${name}\n`);
      const side = (url: string, server: typeof without.server) => ({
        options: { url, connections, headers: { authorization: `Bearer ${token}` }, requests: [request] },
        server,
      });
      const [plain, tenant] = await measureInTurns(
        [side(without.url, without.server), side(scoped.url, scoped.server)],
        seconds,
      );
      if (!plain || !tenant) throw new Error(`no figures for tenancy, ${name}`);
      rows.push({ name, without: plain, with: tenant });
    }
    return rows;
  } finally {
    await Promise.all([without.server.stop(), scoped.server.stop()]);
  }
}
