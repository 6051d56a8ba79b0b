import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { rawText, startLocalWebPubSub, type LocalWebPubSub } from '../../local/web-pubsub/server';
import {
  client,
  startService,
  waitForJob,
  finished,
  type Client,
  type ServiceUnderTest,
} from '../support/service';
import { readSse, terminalSseEvents, type SseEvent } from '../support/sse';

let pubsub: LocalWebPubSub;
let service: ServiceUnderTest;
let alice: Client;
let aliceToken: string;
let mallory: Client;
const story = 'As a bank customer, I want to transfer money to another account so that I can pay my rent.';

beforeAll(async () => {
  pubsub = await startLocalWebPubSub();
  // Slow enough that a stream is opened while the job still runs, and each call streams several chunks.
  service = await startService({
    OFFLINE_LATENCY_MS: '400',
    WEB_PUBSUB_CONNECTION_STRING: pubsub.connectionString,
    WEB_PUBSUB_HUB: 'progress',
    // Function log lines (information) are how a test sees the server end a stream.
    LOG_LEVEL: 'info',
  });
  aliceToken = await service.token({ sub: 'alice', tenantId: 'acme' });
  alice = client(service.url, aliceToken);
  mallory = client(service.url, await service.token({ sub: 'mallory', tenantId: 'evil-corp' }));
});

afterAll(async () => {
  await service?.stop();
  await pubsub?.close();
});

function openStream(
  jobId: string,
  lastEventId?: string,
  signal?: AbortSignal,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${service.url}/api/v1/jobs/${jobId}/stream`, {
    headers: {
      authorization: `Bearer ${aliceToken}`,
      ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
      ...headers,
    },
    ...(signal ? { signal } : {}),
  });
}

async function collect(response: Response, stopAfter = Infinity): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of readSse(response)) {
    events.push(event);
    if (events.length >= stopAfter || terminalSseEvents.has(event.event)) break;
  }
  return events;
}

const createJob = async (iterations: string[]) => {
  const created = await alice.post('/api/v1/jobs', { story, mode: 'workflow', iterations });
  expect(created.status).toBe(202);
  return String(created.json.id);
};

describe('progress over SSE', () => {
  it('resumes with Last-Event-ID after a disconnect: every later event exactly once, in order', async () => {
    const jobId = await createJob(['user-roles', 'validation', 'accessibility']);
    const first = await openStream(jobId);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^text\/event-stream/);
    // Leaving the loop after the 3rd event cancels the body: the client drops the connection mid-job.
    const before = await collect(first, 3);
    expect(before.map((event) => event.event)[0]).toBe('start');
    const lastSeen = before[2]?.id;
    expect(lastSeen).toBe('3');

    const resumed = await collect(await openStream(jobId, lastSeen));
    const full = await collect(await openStream(jobId));

    expect(resumed.at(-1)?.event).toBe('complete');
    expect(full.slice(0, 3)).toEqual(before);
    expect(resumed).toEqual(full.slice(3));
    const ids = full.map((event) => Number(event.id));
    expect(ids).toEqual(ids.map((_, index) => index + 1));
    const names = full.map((event) => event.event);
    expect(names.filter((name) => name === 'iteration:complete')).toHaveLength(3);
    expect(names).toContain('iteration:progress');
    const complete = JSON.parse(full.at(-1)?.data ?? '{}') as {
      jobId: string;
      story: string;
      costUsd: number;
    };
    expect(complete.jobId).toBe(jobId);
    expect(complete.story).toContain('bank customer');
    expect(typeof complete.costUsd).toBe('number');
  });

  it('ends a followed stream on the server as soon as its client disconnects', async () => {
    const created = await alice.post('/api/v1/jobs', {
      story,
      mode: 'interactive',
      iterations: ['user-roles', 'validation'],
    });
    const jobId = String(created.json.id);
    await waitForJob(alice, jobId, (job) => job.status === 'awaiting_approval');
    // Awaiting approval, the job logs nothing more: only the client leaving can end this stream early.
    const correlationId = `sse-leaves-${jobId}`;
    const client = new AbortController();
    const stream = await openStream(jobId, undefined, client.signal, { 'x-correlation-id': correlationId });
    const seen = await collect(stream, 2);
    expect(seen[0]?.event).toBe('start');
    const hostLines = () => service.host.process.output.filter((line) => line.includes(correlationId));
    expect(hostLines().some((line) => line.includes('client disconnected'))).toBe(false);

    client.abort();
    let ended: string | undefined;
    for (let attempt = 0; attempt < 100 && !ended; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      ended = hostLines().find((line) => line.includes('streamJobEvents: client disconnected'));
    }
    expect(ended).toBeDefined();
    expect((await alice.get(`/api/v1/jobs/${jobId}`)).json.status).toBe('awaiting_approval');
    expect((await alice.delete(`/api/v1/jobs/${jobId}`)).status).toBe(202);
  });

  it('stops a sync run’s wait when its client disconnects, and lets the job finish', async () => {
    const carol = client(service.url, await service.token({ sub: 'carol', tenantId: 'acme' }));
    const correlationId = `sync-leaves-${Date.now()}`;
    const caller = new AbortController();
    const run = fetch(`${service.url}/api/v1/iterations/run`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await service.token({ sub: 'carol', tenantId: 'acme' })}`,
        'content-type': 'application/json',
        'x-correlation-id': correlationId,
      },
      body: JSON.stringify({ story, iterations: ['user-roles', 'validation', 'accessibility', 'security'] }),
      signal: caller.signal,
    }).catch((error: unknown) => error);
    let jobId: string | undefined;
    while (!jobId) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      jobId = (await carol.get('/api/v1/jobs')).json.items?.[0]?.id;
    }
    caller.abort();
    expect(await run).toBeInstanceOf(Error);

    let dropped: string | undefined;
    for (let attempt = 0; attempt < 100 && !dropped; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      dropped = service.host.process.output.find(
        (line) => line.includes(correlationId) && line.includes('runIterations: client disconnected'),
      );
    }
    expect(dropped).toBeDefined();
    const done = await waitForJob(carol, jobId, finished);
    expect(done.status).toBe('completed');
    // The wait ended when the caller left, not when the job did.
    const droppedAt = (JSON.parse(String(dropped).replace(/^\[host\] /, '')) as { time: number }).time;
    expect(droppedAt).toBeLessThan(Date.parse(String(done.completedAt)));
  });

  it('answers 404 for a stream or a negotiation of another tenant’s job', async () => {
    const jobId = await createJob(['user-roles']);
    const stream = await mallory.get(`/api/v1/jobs/${jobId}/stream`);
    expect(stream.status).toBe(404);
    expect(stream.json.code).toBe('not_found');
    expect((await mallory.post(`/api/v1/jobs/${jobId}/negotiate`)).status).toBe(404);
    await waitForJob(alice, jobId, finished);
  });

  it('refuses a Last-Event-ID that is not an event id', async () => {
    const jobId = await createJob(['user-roles']);
    const response = await alice.get(`/api/v1/jobs/${jobId}/stream`, { 'last-event-id': 'abc' });
    expect(response.status).toBe(400);
    await waitForJob(alice, jobId, finished);
  });
});

interface Frame {
  type: string;
  event?: string;
  ackId?: number;
  success?: boolean;
  group?: string;
  from?: string;
  data?: { seq: number; event: string; data: { jobId: string } };
}

function connect(
  url: string,
): Promise<{ socket: WebSocket; frames: Frame[]; next: (match: (f: Frame) => boolean) => Promise<Frame> }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'json.webpubsub.azure.v1');
    const frames: Frame[] = [];
    const waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
    socket.on('message', (raw) => {
      const frame = JSON.parse(rawText(raw)) as Frame;
      frames.push(frame);
      for (const waiter of [...waiters]) {
        if (waiter.match(frame)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(frame);
        }
      }
    });
    const next = (match: (f: Frame) => boolean) =>
      new Promise<Frame>((done) => {
        const seen = frames.find(match);
        if (seen) done(seen);
        else waiters.push({ match, resolve: done });
      });
    socket.once('error', reject);
    socket.once('open', () => resolve({ socket, frames, next }));
  });
}

describe('progress over Web PubSub', () => {
  it('publishes every event to the job’s group with a correctly signed request', async () => {
    const jobId = await createJob(['user-roles', 'validation']);
    const negotiated = await alice.post(`/api/v1/jobs/${jobId}/negotiate`);
    expect(negotiated.status).toBe(200);
    expect(negotiated.json.group).toBe(`job-${jobId}`);
    const { socket, next } = await connect(String(negotiated.json.url));
    await next((frame) => frame.type === 'system' && frame.event === 'connected');
    const complete = await next((frame) => frame.type === 'message' && frame.data?.event === 'complete');
    socket.close();
    expect(complete.group).toBe(`job-${jobId}`);

    const sent = pubsub.received.filter((request) => request.group === `job-${jobId}`);
    const seqs = sent.map((request) => (JSON.parse(request.body) as { seq: number }).seq);
    expect(seqs).toEqual(seqs.map((_, index) => index + 1));
    expect(sent.every((request) => request.hub === 'progress' && request.method === 'POST')).toBe(true);
    expect(sent[0]?.path).toBe(`/api/hubs/progress/groups/job-${jobId}/:send`);
    // The same log the SSE stream serves: as many events, the same order.
    const replay = await collect(await openStream(jobId));
    expect(replay.map((event) => event.event)).toEqual(
      sent.map((request) => (JSON.parse(request.body) as { event: string }).event),
    );

    // The server only records requests whose token verified: one signed with another key is refused.
    const url = `${pubsub.url}/api/hubs/progress/groups/job-${jobId}/:send?api-version=2024-12-01`;
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience(url)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('not-the-access-key'));
    const refused = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${forged}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(refused.status).toBe(401);
  });

  it('gives a token that joins its own job’s group and cannot join another one', async () => {
    const mine = await createJob(['user-roles']);
    const other = await createJob(['user-roles']);
    const negotiated = await alice.post(`/api/v1/jobs/${mine}/negotiate`);
    const { socket, frames, next } = await connect(String(negotiated.json.url));
    await next((frame) => frame.type === 'system' && frame.event === 'connected');
    socket.send(JSON.stringify({ type: 'joinGroup', group: `job-${other}`, ackId: 1 }));
    socket.send(JSON.stringify({ type: 'joinGroup', group: `job-${mine}`, ackId: 2 }));
    expect((await next((frame) => frame.type === 'ack' && frame.ackId === 1)).success).toBe(false);
    expect((await next((frame) => frame.type === 'ack' && frame.ackId === 2)).success).toBe(true);
    const done = await next((frame) => frame.type === 'message' && frame.data?.event === 'complete');
    expect(done.data?.data.jobId).toBe(mine);
    await waitForJob(alice, other, finished);
    // Nothing of the other job reached this connection, although it ran at the same time.
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.close();
    const jobsSeen = new Set(frames.flatMap((frame) => (frame.data ? [frame.data.data.jobId] : [])));
    expect([...jobsSeen]).toEqual([mine]);
  });
});
