import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalWebPubSub, type LocalWebPubSub } from '../../local/web-pubsub/server';
import { client, startService, waitForJob, type Client, type ServiceUnderTest } from '../support/service';
import { readSse, terminalSseEvents } from '../support/sse';

/**
 * The Cosmos endpoint the service talks to, through a counting proxy: the test sees every event-log query the
 * service sends, which is what the shared poller must keep flat.
 */
interface CountingProxy {
  url: string;
  target: (url: string) => void;
  eventQueries: () => number;
  close: () => Promise<void>;
}

async function startCountingProxy(): Promise<CountingProxy> {
  let setTarget: (url: string) => void = () => undefined;
  const target = new Promise<URL>((resolve) => (setTarget = (url) => resolve(new URL(url))));
  let eventQueries = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.headers['x-ms-documentdb-isquery'] === 'true' && body.includes('c.seq > @after'))
        eventQueries++;
      void target.then((origin) => {
        const upstream = http.request(
          {
            host: origin.hostname,
            port: origin.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        upstream.on('error', () => res.destroy());
        upstream.end(body);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    target: setTarget,
    eventQueries: () => eventQueries,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let proxy: CountingProxy;
let pubsub: LocalWebPubSub;
let service: ServiceUnderTest;
let platformAdmin: Client;
const story = 'As a bank customer, I want to transfer money to another account so that I can pay my rent.';

const plan = (id: string, maxConcurrentStreams: number) => ({
  id,
  name: id,
  limits: {
    requestsPerDay: 100,
    tokensPerDay: 1_000_000,
    maxStoryBytes: 10_000,
    maxIterations: 3,
    maxConcurrentJobs: 3,
    maxQueuedJobs: 3,
    requestsPerMinute: 60,
    monthlyBudgetUsd: 10,
    maxConcurrentStreams,
  },
});

beforeAll(async () => {
  proxy = await startCountingProxy();
  pubsub = await startLocalWebPubSub();
  service = await startService({
    COSMOS_ENDPOINT: proxy.url,
    WEB_PUBSUB_CONNECTION_STRING: pubsub.connectionString,
    WEB_PUBSUB_HUB: 'progress',
  });
  proxy.target(service.cosmosEndpoint);
  platformAdmin = client(
    service.url,
    await service.token({ sub: 'root', tenantId: 'operator', roles: ['platform_admin'] }),
  );
});

afterAll(async () => {
  await service?.stop();
  await pubsub?.close();
  await proxy?.close();
});

/** A user on a plan of its own, with an interactive job that waits for approval (so its log stays quiet). */
async function userWithQuietJob(tenantId: string, maxConcurrentStreams: number) {
  const planId = `streams-${maxConcurrentStreams}`;
  await platformAdmin.post('/api/v1/admin/plans', plan(planId, maxConcurrentStreams));
  expect((await platformAdmin.patch(`/api/v1/admin/tenants/${tenantId}/plan`, { planId })).status).toBe(200);
  const token = await service.token({ sub: `user-of-${tenantId}`, tenantId });
  const api = client(service.url, token);
  const created = await api.post('/api/v1/jobs', { story, mode: 'interactive', iterations: ['validation'] });
  await waitForJob(api, created.json.id, (job) => job.status === 'awaiting_approval');
  const open = (signal?: AbortSignal) =>
    fetch(`${service.url}/api/v1/jobs/${created.json.id}/stream`, {
      headers: { authorization: `Bearer ${token}` },
      ...(signal ? { signal } : {}),
    });
  return { api, jobId: String(created.json.id), open };
}

describe('SSE streams and negotiate tokens', () => {
  it('caps the streams and tokens one user holds, and frees a slot when a stream ends', async () => {
    const { api, jobId, open } = await userWithQuietJob('capped', 3);
    const first = new AbortController();
    const held = [await open(first.signal), await open()];
    expect(held.map((response) => response.status)).toEqual([200, 200]);
    expect((await api.post(`/api/v1/jobs/${jobId}/negotiate`)).status).toBe(200);

    const refused = await open();
    expect(refused.status).toBe(429);
    const problem = (await refused.json()) as Record<string, unknown>;
    expect(problem.code).toBe('concurrency_limit');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const refusedToken = await api.post(`/api/v1/jobs/${jobId}/negotiate`);
    expect([refusedToken.status, refusedToken.json.code]).toEqual([429, 'concurrency_limit']);

    first.abort();
    let reopened: Response | undefined;
    for (let attempt = 0; attempt < 50 && reopened?.status !== 200; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      reopened = await open();
    }
    expect(reopened?.status).toBe(200);
    await reopened?.body?.cancel();
    await held[1]?.body?.cancel();
  });

  it('serves 100 streams on one job from one poll loop (queries counted at the Cosmos endpoint)', async () => {
    const { api, jobId, open } = await userWithQuietJob('wide', 150);
    const streams = await Promise.all(Array.from({ length: 100 }, () => open()));
    expect(streams.every((response) => response.status === 200)).toBe(true);
    const readers = streams.map((response) => readSse(response)[Symbol.asyncIterator]());
    // Every stream has replayed the log up to the approval prompt.
    for (const reader of readers) {
      for (;;) {
        const next = await reader.next();
        if (next.done || next.value.event === 'awaiting_approval') break;
      }
    }

    const before = proxy.eventQueries();
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const quietQueries = proxy.eventQueries() - before;
    // One loop backs off to a query every 2 s on a quiet job: about 2 in 4 s. A loop per stream: 200 or more.
    expect(quietQueries).toBeLessThanOrEqual(6);

    expect((await api.post(`/api/v1/jobs/${jobId}/approval`, { decision: 'stop' })).status).toBe(202);
    const ends = await Promise.all(
      readers.map(async (reader) => {
        for (;;) {
          const next = await reader.next();
          if (next.done) return 'ended without a terminal event';
          if (terminalSseEvents.has(next.value.event)) return next.value.event;
        }
      }),
    );
    expect(new Set(ends)).toEqual(new Set(['complete']));
    process.stdout.write(`100 streams on one quiet job: ${quietQueries} event-log queries in 4 s\n`);
  });
});
