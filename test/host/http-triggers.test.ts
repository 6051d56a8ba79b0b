import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, startHost, type Azurite, type StartedProcess } from '../support/local-services';

let azurite: Azurite;
let host: { url: string; process: StartedProcess };

beforeAll(async () => {
  azurite = await startAzurite();
  host = await startHost({
    main: 'dist/test/apps/basic-app/*.js',
    env: { AzureWebJobsStorage: azurite.connectionString, TEST_TIMER_SCHEDULE: '0 0 0 1 1 *' },
  });
});

afterAll(async () => {
  await host?.process.stop();
  await azurite?.stop();
});

describe('local Functions host: HTTP triggers', () => {
  it('answers at the func start route with the status, headers and body the function returned', async () => {
    const response = await fetch(`${host.url}/things/42/echo?colour=blue`, {
      method: 'POST',
      headers: { 'x-test-header': 'present', 'content-type': 'text/plain' },
      body: 'hello body',
    });
    expect(response.status).toBe(207);
    expect(response.headers.get('x-echo-id')).toBe('42');
    expect(await response.json()).toEqual({
      id: '42',
      method: 'POST',
      query: { colour: 'blue' },
      body: 'hello body',
      header: 'present',
    });
  });

  it('prefers a literal route segment over a parameter, whatever the registration order', async () => {
    const response = await fetch(`${host.url}/things/current/echo`);
    expect(await response.json()).toEqual({ literal: true });
  });

  it('delivers a streamed response in chunks as the function produces them', async () => {
    const arrivals: { at: number; text: string }[] = [];
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      http
        .get(`${host.url}/stream`, (response) => {
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => arrivals.push({ at: Date.now() - started, text: chunk }));
          response.on('end', () => resolve());
        })
        .on('error', reject);
    });
    expect(arrivals.map((arrival) => arrival.text).join('')).toBe('chunk-0\nchunk-1\nchunk-2\n');
    expect(arrivals.length).toBeGreaterThanOrEqual(3);
    const first = arrivals[0];
    const last = arrivals[arrivals.length - 1];
    // The producer sleeps 300 ms between chunks: a buffered response would arrive all at once.
    expect(last && first ? last.at - first.at : 0).toBeGreaterThanOrEqual(450);
  });

  it('answers an unknown route with 404 problem+json', async () => {
    const response = await fetch(`${host.url}/no/such/route`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('answers a method the route does not allow with 405', async () => {
    const response = await fetch(`${host.url}/stream`, { method: 'DELETE' });
    expect(response.status).toBe(405);
  });

  it('turns a throwing function into a 500 that does not leak the error text', async () => {
    const response = await fetch(`${host.url}/throws`);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toContain('secret-looking');
    expect(JSON.parse(text)).toMatchObject({ code: 'internal' });
  });

  it('applies pre- and post-invocation hooks, sharing hook data between them', async () => {
    const response = await fetch(`${host.url}/hooked`);
    expect(await response.json()).toEqual({ seenByPreHook: 'pre-hook-ran' });
    expect(response.headers.get('x-post-hook')).toBe('pre-hook');
  });
});
