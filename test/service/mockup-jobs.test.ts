import { BlockBlobClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offlineResponder } from '../../local/messages-api/offline-responder';
import { startMessagesApiServer, type MessagesApiServer } from '../../local/messages-api/server';
import { png, svg } from '../support/mockup-files';
import { readSse } from '../support/sse';
import { client, startService, waitForJob, type Client, type ServiceUnderTest } from '../support/service';

/**
 * A job with two mockups end to end, through the real Anthropic SDK against the local Messages API server:
 * the mockups are read with image and document blocks before the iterations, their inventory is part of
 * every iteration's cached context, the events stream, and the vision calls are priced usage records.
 */
let messages: MessagesApiServer;
let service: ServiceUnderTest;
let alice: Client;
const tenantId = 'tenant-mockup-jobs';

beforeAll(async () => {
  messages = await startMessagesApiServer({
    responder: offlineResponder,
    latency: { baseMs: 20, perOutputTokenMs: 0 },
  });
  service = await startService({
    LLM_PROVIDER: 'anthropic',
    ANTHROPIC_BASE_URL: messages.url,
    ANTHROPIC_API_KEY: 'test-key-for-the-local-server',
    ANTHROPIC_MAX_RETRIES: '0',
    LOCAL_BLOB_POLL_MS: '200',
  });
  alice = client(service.url, await service.token({ sub: 'alice', tenantId }));
});

afterAll(async () => {
  await service?.stop();
  await messages?.close();
});

async function readyUpload(bytes: Buffer, fileName: string, contentType: string): Promise<string> {
  const ticket = await alice.post('/api/v1/uploads', { fileName, contentType, sizeBytes: bytes.length });
  expect(ticket.status).toBe(201);
  await new BlockBlobClient(String(ticket.json.uploadUrl)).uploadData(bytes);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const upload = await alice.get(`/api/v1/uploads/${String(ticket.json.uploadId)}`);
    if (upload.json.status === 'ready') return String(ticket.json.uploadId);
    expect(upload.json.status).toBe('pending');
    if (Date.now() > deadline) throw new Error(`${fileName} was not checked in time.`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

type Block = { type: string; text?: string; cache_control?: unknown; source?: { media_type?: string } };
const userBlocks = (params: { messages: { content: unknown }[] }): Block[] => {
  const content = params.messages[0]?.content;
  return Array.isArray(content) ? (content as Block[]) : [];
};

describe('a job with mockups', () => {
  it('reads each mockup with vision input first, and gives every iteration the inventory as cached context', async () => {
    const screenshot = await readyUpload(png(120, 80), 'login.png', 'image/png');
    const drawing = await readyUpload(
      svg('<rect id="email-input" width="200" height="20"/><g id="sign-in-button"><text>Sign in</text></g>'),
      'login.svg',
      'image/svg+xml',
    );
    const created = await alice.post('/api/v1/jobs', {
      story: 'As a member, I want to sign in with my email and password so that I can see my bookings.',
      mode: 'individual',
      iterations: ['interactive-elements', 'validation'],
      uploads: [screenshot, drawing],
    });
    expect(created.status).toBe(202);
    const jobId = String(created.json.id);
    const job = await waitForJob(
      alice,
      jobId,
      (current) => current.status !== 'queued' && current.status !== 'running',
      60_000,
    );
    expect(job.status, JSON.stringify(job.error)).toBe('completed');

    // Events: both mockups analysed before the first iteration starts.
    const stream = await fetch(`${service.url}/api/v1/jobs/${jobId}/stream?follow=false`, {
      headers: { authorization: `Bearer ${await service.token({ sub: 'alice', tenantId })}` },
    });
    const events: { event: string; data: Record<string, unknown> }[] = [];
    for await (const event of readSse(stream))
      events.push({ event: event.event, data: JSON.parse(event.data) });
    const names = events.map((event) => event.event);
    const firstIteration = names.indexOf('iteration:start');
    for (const [uploadId, fileName] of [
      [screenshot, 'login.png'],
      [drawing, 'login.svg'],
    ] as const) {
      for (const kind of ['mockup:analyzing', 'mockup:complete']) {
        const index = events.findIndex((event) => event.event === kind && event.data.uploadId === uploadId);
        expect(index, `${kind} ${fileName}`).toBeGreaterThanOrEqual(0);
        expect(index).toBeLessThan(firstIteration);
        expect(events[index]?.data).toEqual({ jobId, uploadId, fileName });
      }
    }

    // What the Messages API received: one vision call per mockup, with the file as an image or document block.
    const received = messages.stats.received.filter((entry) => entry.params.messages.length > 0);
    const visionCalls = received.filter((entry) => entry.purpose?.kind === 'mockup');
    expect(visionCalls.map((entry) => entry.purpose?.iterationId).sort()).toEqual(
      [screenshot, drawing].sort(),
    );
    const imageCall = visionCalls.find((entry) => entry.purpose?.iterationId === screenshot);
    expect(imageCall?.attachments).toEqual([
      { kind: 'image', mediaType: 'image/png', bytes: png(120, 80).length },
    ]);
    expect(userBlocks(imageCall!.params).some((block) => block.type === 'image')).toBe(true);
    const svgCall = visionCalls.find((entry) => entry.purpose?.iterationId === drawing);
    expect(svgCall?.attachments[0]).toMatchObject({ kind: 'text', mediaType: 'text/plain' });

    // Every iteration call carries the inventory inside its cached context block.
    const iterationCalls = received.filter((entry) => entry.purpose?.kind === 'iteration');
    expect(iterationCalls.length).toBeGreaterThanOrEqual(2);
    for (const call of iterationCalls) {
      const contextBlock = userBlocks(call.params)[0];
      expect(contextBlock?.cache_control).toEqual({ type: 'ephemeral' });
      expect(contextBlock?.text).toContain('<mockup_inventory format="json">');
      expect(contextBlock?.text).toContain('COMP-001');
      expect(contextBlock?.text).toContain('sign-in-button');
      expect(contextBlock?.text).toContain('120x80 px');
    }
    // Consolidation and the judge read the same inventory, so items naming a component are not taken for inventions.
    const passCalls = received.filter(
      (entry) => entry.purpose?.kind === 'consolidation' || entry.purpose?.kind === 'review',
    );
    expect(passCalls.map((entry) => entry.purpose?.kind)).toEqual(
      expect.arrayContaining(['consolidation', 'review']),
    );
    for (const call of passCalls) {
      expect(userBlocks(call.params)[0]?.text).toContain('<mockup_inventory format="json">');
    }
    const system = iterationCalls[0]?.params.system;
    expect(JSON.stringify(system)).toContain('mockup_inventory');

    // Usage: the two vision calls are priced records of the job, and the job's totals include them.
    const admin = client(
      service.url,
      await service.token({ sub: 'root', tenantId: 'platform', roles: ['platform_admin'] }),
    );
    const month = new Date().toISOString().slice(0, 7);
    const exported = await admin.get(`/api/v1/admin/usage/export?month=${month}&format=jsonl`);
    const text = typeof exported.json === 'string' ? exported.json : JSON.stringify(exported.json);
    const records = text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { jobId: string; purpose: string; costMicroUsd: number });
    const jobRecords = records.filter((record) => record.jobId === jobId);
    const vision = jobRecords.filter((record) => record.purpose === 'mockup');
    expect(vision).toHaveLength(2);
    for (const record of vision) expect(record.costMicroUsd).toBeGreaterThan(0);
    const totalMicroUsd = jobRecords.reduce((sum, record) => sum + record.costMicroUsd, 0);
    expect(Math.round(Number(job.usage.costUsd) * 1_000_000)).toBe(totalMicroUsd);
  });
});
