import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  client,
  finished,
  startService,
  waitForJob,
  type Client,
  type ServiceUnderTest,
} from '../support/service';

let service: ServiceUnderTest;
let alice: Client;
let mallory: Client;
let bob: Client;
const story = 'As a bank customer, I want to transfer money to another account so that I can pay my rent.';

beforeAll(async () => {
  // Each offline LLM call takes 1.5 s, so a job is reliably mid-call when the test cancels it.
  service = await startService({ OFFLINE_LATENCY_MS: '1500', DEFAULT_PLAN: 'free' });
  alice = client(service.url, await service.token({ sub: 'alice', tenantId: 'acme' }));
  bob = client(service.url, await service.token({ sub: 'bob', tenantId: 'acme' }));
  mallory = client(service.url, await service.token({ sub: 'mallory', tenantId: 'evil-corp' }));
});

afterAll(async () => {
  await service?.stop();
});

describe('job controls', () => {
  it('cancels a job mid-call: the call is aborted, the job ends cancelled, finished iterations are kept', async () => {
    const created = await alice.post('/api/v1/jobs', {
      story,
      mode: 'interactive',
      iterations: ['user-roles', 'validation'],
    });
    const id = created.json.id;
    await waitForJob(alice, id, (job) => job.status === 'awaiting_approval');
    await alice.post(`/api/v1/jobs/${id}/approval`, { decision: 'continue' });
    await waitForJob(alice, id, (job) => job.status === 'running' && job.progress.current === 'validation');
    const cancelledAt = Date.now();
    const cancel = await alice.delete(`/api/v1/jobs/${id}`);
    expect(cancel.status).toBe(202);
    const done = await waitForJob(alice, id, finished);
    expect(done.status).toBe('cancelled');
    // Well under the 1.5 s the in-flight call would still have taken.
    expect(Date.now() - cancelledAt).toBeLessThan(1500 + 1000);
    expect(
      done.result.iterations.map((iteration: { id: string; status: string }) => [
        iteration.id,
        iteration.status,
      ]),
    ).toEqual([['user-roles', 'applied']]);
    expect(done.result.story).toContain('bank customer');

    expect((await alice.delete(`/api/v1/jobs/${id}`)).status).toBe(202);
  });

  it('answers 409 job_finished when cancelling a completed job', async () => {
    const created = await alice.post('/api/v1/jobs', {
      story,
      mode: 'individual',
      iterations: ['validation'],
    });
    await waitForJob(alice, created.json.id, finished);
    const response = await alice.delete(`/api/v1/jobs/${created.json.id}`);
    expect(response.status).toBe(409);
    expect(response.json.code).toBe('job_finished');
  });

  it('honours Idempotency-Key: same body gives the same job, another body gives 422', async () => {
    const key = `key-${Date.now()}`;
    const body = { story, mode: 'individual', iterations: ['validation'] };
    const first = await alice.post('/api/v1/jobs', body, { 'idempotency-key': key });
    const again = await alice.post(
      '/api/v1/jobs',
      { iterations: ['validation'], mode: 'individual', story },
      { 'idempotency-key': key },
    );
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.json.id).toBe(first.json.id);
    const other = await alice.post(
      '/api/v1/jobs',
      { ...body, story: `${story} Also exports.` },
      { 'idempotency-key': key },
    );
    expect(other.status).toBe(422);
    expect(other.json.code).toBe('idempotency_key_reused');
    // Keys are per user: the same key from another user is a new job.
    const bobs = await bob.post('/api/v1/jobs', body, { 'idempotency-key': key });
    expect(bobs.status).toBe(202);
    expect(bobs.json.id).not.toBe(first.json.id);
  });

  it('hides another tenant’s and another user’s jobs behind 404 on every job route', async () => {
    const created = await alice.post('/api/v1/jobs', {
      story,
      mode: 'individual',
      iterations: ['validation'],
    });
    const id = created.json.id;
    for (const intruder of [mallory, bob]) {
      const responses = [
        await intruder.get(`/api/v1/jobs/${id}`),
        await intruder.delete(`/api/v1/jobs/${id}`),
        await intruder.post(`/api/v1/jobs/${id}/approval`, { decision: 'continue' }),
      ];
      expect(responses.map((response) => response.status)).toEqual([404, 404, 404]);
      expect(responses.every((response) => response.json.code === 'not_found')).toBe(true);
      expect(JSON.stringify(responses.map((response) => response.json))).not.toContain('bank customer');
      const listed = await intruder.get('/api/v1/jobs');
      expect(listed.json.items.map((job: { id: string }) => job.id)).not.toContain(id);
    }
    expect((await alice.get(`/api/v1/jobs/${id}`)).status).toBe(200);
  });

  it('refuses a story over the plan limit with 413 and an oversized body before parsing', async () => {
    const tooLong = await alice.post('/api/v1/jobs', { story: 'x'.repeat(11 * 1024) });
    expect(tooLong.status).toBe(413);
    expect(tooLong.json.code).toBe('payload_too_large');
    const huge = await alice.post('/api/v1/jobs', `{"story":"${'y'.repeat(300 * 1024)}"}`);
    expect(huge.status).toBe(413);
  });

  it('refuses more iterations than the plan allows per job with 413', async () => {
    const response = await alice.post('/api/v1/jobs', {
      story,
      mode: 'individual',
      iterations: ['user-roles', 'validation', 'security', 'performance'],
    });
    expect(response.status).toBe(413);
    expect(response.json.detail).toContain('at most 3');
  });

  it('answers 415 for a body that is not JSON and 400 for malformed JSON or schema violations', async () => {
    const notJson = await alice.post('/api/v1/jobs', 'story=hello', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(notJson.status).toBe(415);
    expect(notJson.json.code).toBe('unsupported_media_type');
    const malformed = await alice.post('/api/v1/jobs', '{"story":', { 'content-type': 'application/json' });
    expect(malformed.status).toBe(400);
    const invalid = await alice.post('/api/v1/jobs', { story: 'ok', productType: 'fridge' });
    expect(invalid.status).toBe(400);
    expect(invalid.json).toMatchObject({ code: 'validation_failed' });
    expect(invalid.json.detail).toContain('body.productType');
    const individualWithout = await alice.post('/api/v1/jobs', { story: 'ok', mode: 'individual' });
    expect(individualWithout.status).toBe(400);
  });

  it('ignores fields that repeat path or query parameters in a body, as OpenWebUI sends them', async () => {
    const created = await alice.post('/api/v1/jobs', {
      story,
      mode: 'individual',
      iterations: ['validation'],
    });
    await waitForJob(alice, created.json.id, finished);
    const response = await alice.post(`/api/v1/jobs/${created.json.id}/approval`, {
      jobId: created.json.id,
      decision: 'continue',
    });
    expect(response.status).toBe(409);
  });

  it('answers every error as problem+json with a correlation id, echoing a caller-supplied one', async () => {
    const response = await fetch(`${service.url}/api/v1/jobs/nope`, {
      headers: {
        authorization: `Bearer ${await service.token({ sub: 'alice', tenantId: 'acme' })}`,
        'x-correlation-id': 'trace-123',
      },
    });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.headers.get('x-correlation-id')).toBe('trace-123');
    expect(await response.json()).toMatchObject({
      correlationId: 'trace-123',
      code: 'not_found',
      instance: '/api/v1/jobs/nope',
    });
  });
});
