import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseMetrics, type Sample, select, total } from '../support/prometheus.ts';
import { serviceForFile } from '../support/service.ts';

const service = serviceForFile();

const collection = '/api/rh-trex/v1/dinosaurs';
const itemTemplate = `${collection}/-`;

async function create(species: string) {
  const response = await service.api(collection, { method: 'POST', body: { species } });
  expect(response.status).toBe(201);
  return response.body;
}

// Retries `check` until it stops throwing: the API server records metrics and log lines once the
// response has gone out, so a test may look a moment before they are written.
async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

async function health(method: string, path: string) {
  const response = await fetch(`${service.healthUrl}${path}`, { method });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: text ? JSON.parse(text) : undefined,
  };
}

async function scrape(): Promise<{ text: string; samples: Sample[]; contentType: string | null }> {
  const response = await fetch(`${service.metricsUrl}/metrics`);
  expect(response.status).toBe(200);
  const text = await response.text();
  return { text, samples: parseMetrics(text), contentType: response.headers.get('content-type') };
}

describe('health server', () => {
  it('GET /healthcheck answers 200 {} when the database answers', async () => {
    const response = await health('GET', '/healthcheck');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({});
    expect((await health('GET', '/readyz')).status).toBe(200);
    expect((await health('GET', '/livez')).status).toBe(200);
  });

  it('maintenance mode: down makes /healthcheck and /readyz 503 with an Error body, up restores them', async () => {
    try {
      expect((await health('POST', '/healthcheck/down')).status).toBe(200);
      for (const path of ['/healthcheck', '/readyz']) {
        const response = await health('GET', path);
        expect(response.status, path).toBe(503);
        expect(response.headers.get('content-type'), path).toMatch(/^application\/json/);
        expect(response.body, path).toMatchObject({
          kind: 'Error',
          id: '27',
          href: '/api/rh-trex/v1/errors/27',
          code: 'rh-trex-27',
          reason: expect.stringMatching(/\S/),
        });
      }
      const live = await health('GET', '/livez');
      expect(live.status).toBe(200);
      // The API itself keeps serving: maintenance only takes the instance out of load balancing.
      expect((await service.api(collection)).status).toBe(200);
    } finally {
      expect((await health('POST', '/healthcheck/up')).status).toBe(200);
    }
    const response = await health('GET', '/healthcheck');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({});
    expect((await health('GET', '/readyz')).status).toBe(200);
  });

  it('is not the API server: API paths are not served there', async () => {
    expect((await health('GET', collection)).status).toBe(404);
  });
});

describe('metrics server', () => {
  it('serves the Prometheus text format', async () => {
    await service.api(collection);
    const { text, contentType } = await scrape();
    expect(contentType).toMatch(/^text\/plain/);
    expect(text).toMatch(/^# TYPE api_inbound_request_count counter$/m);
    expect(text).toMatch(/^# TYPE api_inbound_request_duration histogram$/m);
  });

  it('counts API requests by method, route template (id as "-") and status code', async () => {
    const created = await create('Metricosaurus');
    const item = `${collection}/${created.id}`;
    expect((await service.api(item)).status).toBe(200);
    expect((await service.api(item)).status).toBe(200);
    expect((await service.api(collection)).status).toBe(200);
    expect((await service.api(item, { method: 'PATCH', body: { species: 'Counted' } })).status).toBe(200);
    expect((await service.api(item, { method: 'DELETE' })).status).toBe(204);
    expect((await service.api(item)).status).toBe(404);

    const { samples, text } = await eventually(async () => {
      const scraped = await scrape();
      expect(total(scraped.samples, 'api_inbound_request_count', { method: 'DELETE' })).toBeGreaterThan(0);
      return scraped;
    });
    const count = (method: string, path: string, code: string) =>
      total(samples, 'api_inbound_request_count', { method, path, code });
    expect(count('POST', collection, '201')).toBeGreaterThanOrEqual(1);
    expect(count('GET', itemTemplate, '200')).toBeGreaterThanOrEqual(2);
    expect(count('GET', collection, '200')).toBeGreaterThanOrEqual(1);
    expect(count('PATCH', itemTemplate, '200')).toBeGreaterThanOrEqual(1);
    expect(count('DELETE', itemTemplate, '204')).toBeGreaterThanOrEqual(1);
    expect(count('GET', itemTemplate, '404')).toBeGreaterThanOrEqual(1);
    // Ids never become label values.
    expect(text).not.toContain(created.id);
    expect(
      select(samples, 'api_inbound_request_count').every(
        (sample) => !/:id|\{id\}/.test(sample.labels.path ?? ''),
      ),
    ).toBe(true);
  });

  it('increments a series by exactly the number of requests', async () => {
    const labels = { method: 'GET', path: itemTemplate, code: '404' };
    const before = total((await scrape()).samples, 'api_inbound_request_count', labels);
    for (let i = 0; i < 3; i++) expect((await service.api(`${collection}/missing-${i}`)).status).toBe(404);
    await eventually(async () => {
      expect(total((await scrape()).samples, 'api_inbound_request_count', labels)).toBe(before + 3);
    });
  });

  it('does not make a series per unknown URL', async () => {
    const marker = `zzz${randomBytes(6).toString('hex')}`;
    expect((await service.api(`/api/rh-trex/v1/${marker}`)).status).toBe(404);
    expect((await service.api(`/${marker}/x`)).status).toBe(404);
    const { text } = await eventually(async () => {
      const scraped = await scrape();
      expect(total(scraped.samples, 'api_inbound_request_count', { code: '404' })).toBeGreaterThan(0);
      return scraped;
    });
    expect(text).not.toContain(marker);
  });

  it('counts requests the router rejects before any route matches (bad URL encoding)', async () => {
    const labels = { method: 'GET', code: '400' };
    const before = total((await scrape()).samples, 'api_inbound_request_count', labels);
    expect((await service.api(`${collection}/%E0%A4%A`)).status).toBe(400);
    await eventually(async () => {
      expect(total((await scrape()).samples, 'api_inbound_request_count', labels)).toBe(before + 1);
    });
  });

  it('has a request duration histogram with millisecond buckets, consistent with the counter', async () => {
    await create('Histogrammosaurus');
    const labels = { method: 'POST', path: collection, code: '201' };
    const { samples } = await eventually(async () => {
      const scraped = await scrape();
      expect(select(scraped.samples, 'api_inbound_request_duration_bucket', labels).length).toBeGreaterThan(
        0,
      );
      return scraped;
    });
    const buckets = select(samples, 'api_inbound_request_duration_bucket', labels)
      .map((sample) => ({
        le: Number(sample.labels.le === '+Inf' ? Infinity : sample.labels.le),
        value: sample.value,
      }))
      .sort((a, b) => a.le - b.le);
    expect(buckets.some((bucket) => bucket.le <= 0.001)).toBe(true);
    expect(buckets.at(-1)?.le).toBe(Infinity);
    for (let i = 1; i < buckets.length; i++) {
      expect(buckets[i]?.value).toBeGreaterThanOrEqual(buckets[i - 1]?.value as number);
    }
    const histogramCount = total(samples, 'api_inbound_request_duration_count', labels);
    expect(buckets.at(-1)?.value).toBe(histogramCount);
    expect(histogramCount).toBe(total(samples, 'api_inbound_request_count', labels));
    expect(total(samples, 'api_inbound_request_duration_sum', labels)).toBeGreaterThan(0);
  });

  it('has the database pool gauges', async () => {
    await service.api(collection);
    const { samples } = await scrape();
    const open = select(samples, 'db_pool_connections_total');
    expect(open).toHaveLength(1);
    expect(open[0]?.value).toBeGreaterThanOrEqual(1);
    expect(open[0]?.value).toBeLessThanOrEqual(10);
    const idle = select(samples, 'db_pool_connections_idle');
    expect(idle).toHaveLength(1);
    expect(idle[0]?.value).toBeGreaterThanOrEqual(0);
    expect(idle[0]?.value).toBeLessThanOrEqual(open[0]?.value as number);
    const waiting = select(samples, 'db_pool_requests_waiting');
    expect(waiting).toHaveLength(1);
    expect(waiting[0]?.value).toBe(0);
  });

  it('counts and times advisory locks taken by a DELETE', async () => {
    const created = await create('Lockosaurus');
    const before = (await scrape()).samples;
    const deleted = await service.api(`${collection}/${created.id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    const after = (await scrape()).samples;
    expect(total(after, 'advisory_lock_count')).toBeGreaterThanOrEqual(
      total(before, 'advisory_lock_count') + 1,
    );
    expect(total(after, 'advisory_lock_duration_count')).toBeGreaterThanOrEqual(
      total(before, 'advisory_lock_duration_count') + 1,
    );
    expect(select(after, 'advisory_lock_duration_bucket').length).toBeGreaterThan(0);
  });

  it('includes the default Node.js process metrics', async () => {
    const { samples } = await scrape();
    expect(total(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(total(samples, 'nodejs_heap_size_total_bytes')).toBeGreaterThan(0);
  });
});

describe('request logs', () => {
  function requestLines(operationId: string) {
    return service.logs.filter((line) => line.operation_id === operationId && 'status' in line);
  }

  it('writes exactly one line per API request with method, route, status, duration and operation id', async () => {
    const created = await create('Loggosaurus');
    const cases = [
      { path: collection, init: {}, method: 'GET', status: 200, route: collection },
      { path: `${collection}/${created.id}`, init: {}, method: 'GET', status: 200, route: itemTemplate },
      { path: `${collection}/nope`, init: {}, method: 'GET', status: 404, route: itemTemplate },
      { path: collection, init: { token: null }, method: 'GET', status: 401, route: collection },
      {
        path: collection,
        init: { method: 'POST', body: { species: 'Logged' } },
        method: 'POST',
        status: 201,
        route: collection,
      },
      { path: '/api/rh-trex', init: { token: null }, method: 'GET', status: 200, route: '/api/rh-trex' },
    ];
    for (const { path, init, method, status, route } of cases) {
      const operationId = `log-test.${randomBytes(8).toString('hex')}`;
      const response = await service.api(path, { ...init, headers: { 'x-operation-id': operationId } });
      expect(response.status, path).toBe(status);
      const lines = await eventually(() => {
        const found = requestLines(operationId);
        expect(found.length, `${method} ${path}`).toBeGreaterThan(0);
        return found;
      });
      // Give a duplicate line the chance to show up before counting.
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(requestLines(operationId), `${method} ${path}`).toHaveLength(1);
      const line = lines[0] as Record<string, unknown>;
      expect(line, `${method} ${path}`).toMatchObject({ method, route, status, operation_id: operationId });
      expect(typeof line.duration_ms).toBe('number');
      expect(line.duration_ms as number).toBeGreaterThanOrEqual(0);
      expect(line.duration_ms as number).toBeLessThan(10_000);
      expect(JSON.stringify(line)).not.toContain(created.id);
    }
  });

  it('also logs requests the router rejects (unknown route, bad URL encoding)', async () => {
    for (const [path, status] of [
      ['/api/rh-trex/v1/nothing-here', 404],
      [`${collection}/%E0%A4%A`, 400],
    ] as const) {
      const operationId = `log-test.${randomBytes(8).toString('hex')}`;
      const response = await service.api(path, { headers: { 'x-operation-id': operationId } });
      expect(response.status, path).toBe(status);
      const lines = await eventually(() => {
        const found = requestLines(operationId);
        expect(found, path).toHaveLength(1);
        return found;
      });
      expect(lines[0], path).toMatchObject({ method: 'GET', status, operation_id: operationId });
      expect(typeof lines[0]?.duration_ms).toBe('number');
    }
  });
});
