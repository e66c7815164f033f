import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { serviceForFile } from '../support/service.ts';

// A list's total (docs/api.md#totals): exact up to --exact-count-limit rows (5 here), PostgreSQL's
// estimate beyond, said in Preference-Applied; `Prefer: count=exact|estimated` asks for either.
const service = serviceForFile({ exactCountLimit: '5' });
const collection = '/api/rh-trex/v1/dinosaurs';

async function dinosaurs(count: number): Promise<string> {
  const tag = `n${randomBytes(4).toString('hex')}`;
  for (let index = 0; index < count; index++) {
    const response = await service.api(collection, { method: 'POST', body: { species: `${tag} ${index}` } });
    expect(response.status, response.text).toBe(201);
  }
  return tag;
}

async function list(tag: string, params: Record<string, string> = {}, prefer?: string) {
  const query = new URLSearchParams({ search: `species like '${tag}%'`, ...params });
  const response = await service.api(`${collection}?${query}`, {
    headers: prefer === undefined ? {} : { prefer },
  });
  expect(response.status, response.text).toBe(200);
  return { body: response.body, applied: response.headers.get('preference-applied') };
}

describe('list totals', () => {
  it('counts exactly up to the limit, as every list did', async () => {
    const tag = await dinosaurs(5);
    const { body, applied } = await list(tag, { size: '2' });
    expect(body.total).toBe(5);
    expect(applied).toBe('count=exact');
  });

  it('estimates beyond the limit, says so, and never below the limit or the pages shown', async () => {
    const tag = await dinosaurs(8);
    const first = await list(tag, { size: '3' });
    expect(first.applied).toBe('count=estimated');
    expect(first.body.total).toBeGreaterThanOrEqual(6); // more than the limit matched
    expect(first.body.items).toHaveLength(3);
    // The last full page leaves room for another; the last page shows how many there were at least.
    const third = await list(tag, { size: '3', page: '3' });
    expect(third.body.items).toHaveLength(2);
    expect(third.body.total).toBeGreaterThanOrEqual(8);
    // size=0 asks for the total alone, counted the same way.
    expect((await list(tag, { size: '0' })).applied).toBe('count=estimated');
  });

  it('counts exactly when asked, however many rows match', async () => {
    const tag = await dinosaurs(8);
    const { body, applied } = await list(tag, { size: '3' }, 'count=exact');
    expect(body.total).toBe(8);
    expect(applied).toBe('count=exact');
  });

  it('only estimates when asked to, even below the limit', async () => {
    const tag = await dinosaurs(2);
    const { body, applied } = await list(tag, {}, 'return=minimal, count=estimated');
    expect(applied).toBe('count=estimated');
    expect(body.total).toBeGreaterThanOrEqual(2);
    expect(body.items).toHaveLength(2);
  });

  it('ignores a count it does not offer, and other preferences', async () => {
    const tag = await dinosaurs(3);
    const { body, applied } = await list(tag, {}, 'count=planned, return=minimal');
    expect(body.total).toBe(3);
    expect(applied).toBe('count=exact');
  });
});
