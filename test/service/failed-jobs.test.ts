import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offlineResponder } from '../../local/messages-api/offline-responder';
import { startMessagesApiServer, type MessagesApiServer } from '../../local/messages-api/server';
import {
  client,
  finished,
  startService,
  waitForJob,
  type Client,
  type ServiceUnderTest,
} from '../support/service';

let messages: MessagesApiServer;
let service: ServiceUnderTest;
let alice: Client;
let bob: Client;
let admin: Client;
const story =
  'As a patient, I want to book an appointment online so that I do not have to phone the practice.';

beforeAll(async () => {
  messages = await startMessagesApiServer({ responder: offlineResponder });
  service = await startService({
    LLM_PROVIDER: 'anthropic',
    ANTHROPIC_BASE_URL: messages.url,
    ANTHROPIC_API_KEY: 'test-key-for-the-local-server',
    ANTHROPIC_MAX_RETRIES: '0',
  });
  alice = client(service.url, await service.token({ sub: 'alice', tenantId: 'acme' }));
  bob = client(service.url, await service.token({ sub: 'bob', tenantId: 'acme' }));
  admin = client(service.url, await service.token({ sub: 'ada', tenantId: 'acme', roles: ['tenant_admin'] }));
});

afterAll(async () => {
  await service?.stop();
  await messages?.close();
});

async function failedJob(): Promise<Record<string, any>> {
  messages.injectFaults({ kind: 'bad_request' });
  const created = await alice.post('/api/v1/jobs', { story, mode: 'individual', iterations: ['validation'] });
  const job = await waitForJob(alice, created.json.id, finished);
  expect(job.status).toBe('failed');
  return job;
}

describe('dead-letter list and retry', () => {
  it('lists a tenant’s failed jobs with their last error for its admins, filtered by reason', async () => {
    const failed = await failedJob();
    const done = await alice.post('/api/v1/jobs', { story, mode: 'individual', iterations: ['validation'] });
    await waitForJob(alice, done.json.id, finished);

    const list = await admin.get('/api/v1/admin/jobs?status=failed');
    expect(list.status).toBe(200);
    const ids = list.json.items.map((job: { id: string }) => job.id);
    expect(ids).toContain(failed.id);
    expect(ids).not.toContain(done.json.id);
    expect(list.json.items.find((job: { id: string }) => job.id === failed.id)).toMatchObject({
      userId: 'alice',
      error: { code: 'llm_request_rejected', retryable: false },
      links: { retry: `/api/v1/jobs/${failed.id}/retry` },
    });
    const byReason = await admin.get('/api/v1/admin/jobs?status=failed&reason=llm_request_rejected');
    expect(byReason.json.items.map((job: { id: string }) => job.id)).toContain(failed.id);
    const otherReason = await admin.get('/api/v1/admin/jobs?status=failed&reason=budget_exceeded');
    expect(otherReason.json.items).toEqual([]);

    expect((await alice.get('/api/v1/admin/jobs?status=failed')).status).toBe(403);
    const outsider = client(
      service.url,
      await service.token({ sub: 'eve', tenantId: 'evil-corp', roles: ['tenant_admin'] }),
    );
    expect((await outsider.get('/api/v1/admin/jobs?tenantId=acme')).status).toBe(403);
  });

  it('retries a failed job as a new linked job with the same input, once', async () => {
    const failed = await failedJob();
    const retried = await alice.post(`/api/v1/jobs/${failed.id}/retry`);
    expect(retried.status).toBe(202);
    expect(retried.json.id).not.toBe(failed.id);
    expect(retried.json).toMatchObject({
      retryOf: failed.id,
      story: failed.story,
      mode: failed.mode,
      iterations: failed.iterations,
      productType: failed.productType,
    });
    expect(retried.headers.get('location')).toBe(`/api/v1/jobs/${retried.json.id}`);
    const done = await waitForJob(alice, retried.json.id, finished);
    expect(done.status).toBe('completed');
    expect((await alice.get(`/api/v1/jobs/${failed.id}`)).json.retriedBy).toBe(retried.json.id);

    // A second retry of the same failed job is the same new job, not another.
    expect((await alice.post(`/api/v1/jobs/${failed.id}/retry`)).json.id).toBe(retried.json.id);
  });

  it('refuses to retry a job that did not fail, or someone else’s', async () => {
    const failed = await failedJob();
    expect((await bob.post(`/api/v1/jobs/${failed.id}/retry`)).status).toBe(404);
    const done = await alice.post('/api/v1/jobs', { story, mode: 'individual', iterations: ['validation'] });
    await waitForJob(alice, done.json.id, finished);
    const refused = await alice.post(`/api/v1/jobs/${done.json.id}/retry`);
    expect(refused.status).toBe(409);
    expect(refused.json.code).toBe('conflict');
  });
});
