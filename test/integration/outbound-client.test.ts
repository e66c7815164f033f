import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/app/metrics.ts';
import { runInContext } from '../../src/context/request-context.ts';
import { HttpClient, OutboundError } from '../../src/outbound/http-client.ts';
import { type Receiver, startReceiver } from '../support/receiver.ts';

// The outbound client against a real local receiver.
describe('the outbound HTTP client', () => {
  let receiver: Receiver;
  let metrics: Metrics;
  let client: HttpClient;

  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
  });
  afterEach(() => {
    receiver.react = () => 200;
    receiver.requests.length = 0;
  });

  const fresh = (): HttpClient => {
    metrics = new Metrics();
    client = new HttpClient({ timeoutMs: 2000, retryDelayMs: 10, userAgent: 'trex-test/1' }, metrics);
    return client;
  };

  async function count(code: string): Promise<number> {
    const metric = await metrics.registry.getSingleMetric('api_outbound_request_count')?.get();
    const host = new URL(receiver.url).host;
    return (
      metric?.values.find((sample) => sample.labels.host === host && sample.labels.code === code)?.value ?? 0
    );
  }

  it('answers status, headers and body, and counts the request by host and code', async () => {
    fresh();
    const response = await client.request({ url: `${receiver.url}/hello` });
    expect(response.status).toBe(200);
    expect(response.text).toBe('answered 200');
    expect(receiver.requests[0]?.headers['user-agent']).toBe('trex-test/1');
    expect(await count('200')).toBe(1);
  });

  it('retries a GET that gets 503, and a POST only when told to', async () => {
    fresh();
    receiver.react = (_request, seen) => (seen === 0 ? 503 : 200);
    expect((await client.request({ url: `${receiver.url}/get` })).status).toBe(200);
    expect(receiver.requests.filter((request) => request.path === '/get')).toHaveLength(2);
    expect((await client.request({ method: 'POST', url: `${receiver.url}/post`, body: '{}' })).status).toBe(
      503,
    );
    expect(receiver.requests.filter((request) => request.path === '/post')).toHaveLength(1);
    const told = await client.request({
      method: 'POST',
      url: `${receiver.url}/told`,
      body: '{}',
      retries: 1,
    });
    expect(told.status).toBe(200);
    expect(await count('503')).toBe(3);
    expect(await count('200')).toBe(2);
  });

  it('does not retry a 500 or a 4xx', async () => {
    fresh();
    receiver.react = (request) => (request.path === '/500' ? 500 : 404);
    expect((await client.request({ url: `${receiver.url}/500` })).status).toBe(500);
    expect((await client.request({ url: `${receiver.url}/404` })).status).toBe(404);
    expect(receiver.requests).toHaveLength(2);
  });

  it('gives up on a receiver that does not answer in time, with a timeout error', async () => {
    fresh();
    receiver.react = () => 'hang';
    const error = await client
      .request({ method: 'POST', url: `${receiver.url}/slow`, timeoutMs: 200, body: 'x' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OutboundError);
    expect((error as OutboundError).timedOut).toBe(true);
    expect((error as OutboundError).message).toBe(`POST ${receiver.url}/slow: no answer within 200 ms`);
    expect(await count('timeout')).toBe(1);
  });

  it('reports a refused connection as an error, not a timeout', async () => {
    fresh();
    const closed = await startReceiver();
    await closed.close();
    const error = await client
      .request({ method: 'POST', url: `${closed.url}/closed` })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OutboundError);
    expect((error as OutboundError).timedOut).toBe(false);
    expect((error as OutboundError).message).toContain('ECONNREFUSED');
  });

  it('sends the operation id of the work in progress, or the one given', async () => {
    fresh();
    await runInContext({ actor: 'alice', operationId: 'op-from-context' }, () =>
      client.request({ url: `${receiver.url}/context` }),
    );
    await client.request({ url: `${receiver.url}/given`, operationId: 'op-given' });
    await client.request({ url: `${receiver.url}/none` });
    const header = (path: string) =>
      receiver.requests.find((request) => request.path === path)?.headers['x-operation-id'];
    expect(header('/context')).toBe('op-from-context');
    expect(header('/given')).toBe('op-given');
    expect(header('/none')).toBeUndefined();
  });

  it('never follows a redirect', async () => {
    fresh();
    receiver.react = (request) => (request.path === '/moved' ? 302 : 200);
    const response = await client.request({ url: `${receiver.url}/moved` });
    expect(response.status).toBe(302);
    expect(receiver.requests).toHaveLength(1);
  });
});
