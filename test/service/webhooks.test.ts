import { readFileSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { runInNewContext } from 'node:vm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installNetworkGuard } from '../apps/network-guard-core';
import { distRoot, repoRoot, tempDir } from '../support/local-services';
import { deliveriesOf, startReceiver } from '../support/webhook-receiver';
import {
  client,
  finished,
  startService,
  waitForJob,
  type Client,
  type ServiceUnderTest,
} from '../support/service';

/**
 * The README's verification snippet itself (the `js` block after "Verifying a delivery in Node:"), run as a
 * receiver would run it with nothing but node:crypto, so the README cannot drift from what the service signs.
 */
function readmeVerification(): (secret: string, headers: http.IncomingHttpHeaders, body: string) => boolean {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const snippet = /Verifying a delivery in Node:\s*```js\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!snippet) throw new Error('README.md has no webhook verification snippet.');
  expect(snippet.trim().split('\n').length).toBeLessThanOrEqual(11);
  const sandbox = { require, Buffer };
  return runInNewContext(`${snippet}\nverifyWebhook`, sandbox) as ReturnType<typeof readmeVerification>;
}

let service: ServiceUnderTest;
let alice: Client;
const violationsFile = path.join(tempDir('network'), 'violations.txt');
const violations: string[] = [];
const story = 'As a bank customer, I want to transfer money to another account so that I can pay my rent.';

beforeAll(async () => {
  installNetworkGuard({ answers: {}, onViolation: (target) => violations.push(target) });
  writeFileSync(violationsFile, '');
  service = await startService({
    WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
    WEBHOOK_RETRY_DELAYS_SECONDS: '2,2,2',
    WEBHOOK_SECRET_KEY: Buffer.alloc(32, 9).toString('base64'),
    // The host resolves these names from a table and may connect to nothing beyond loopback.
    NODE_OPTIONS: `--require ${path.join(distRoot, 'test', 'apps', 'network-guard.js')}`,
    TEST_DNS_ANSWERS: JSON.stringify({
      'hooks.internal.test': ['10.0.0.7'],
      'metadata.test': ['169.254.169.254'],
      'mixed.test': ['93.184.216.34', '192.168.1.1'],
    }),
    TEST_NETWORK_VIOLATIONS: violationsFile,
  });
  alice = client(service.url, await service.token({ sub: 'alice', tenantId: 'acme' }));
});

afterAll(async () => {
  await service?.stop();
});

async function until(condition: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 30_000; !condition() && Date.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('webhooks', () => {
  it('signs a job.completed delivery verifiably (Standard Webhooks), without the story unless asked', async () => {
    const receiver = await startReceiver();
    const created = await alice.post('/api/v1/webhooks', { url: receiver.url, events: ['job.completed'] });
    expect(created.status).toBe(201);
    const secret = String(created.json.secret);
    expect(secret).toMatch(/^whsec_/);
    expect(JSON.stringify((await alice.get('/api/v1/webhooks')).json)).not.toContain(secret);
    const withStory = await startReceiver();
    await alice.post('/api/v1/webhooks', {
      url: withStory.url,
      events: ['job.completed'],
      includeStory: true,
    });

    const job = await alice.post('/api/v1/jobs', { story, mode: 'individual', iterations: ['validation'] });
    await waitForJob(alice, job.json.id, finished);
    await deliveriesOf(alice, created.json.id, (items) => items[0]?.status === 'delivered');

    const [request] = receiver.received;
    expect(request).toBeDefined();
    const verifyWebhook = readmeVerification();
    expect(verifyWebhook(secret, request!.headers, request!.body)).toBe(true);
    const payload = new Webhook(secret).verify(request!.body, {
      'webhook-id': String(request!.headers['webhook-id']),
      'webhook-timestamp': String(request!.headers['webhook-timestamp']),
      'webhook-signature': String(request!.headers['webhook-signature']),
    }) as Record<string, any>;
    expect(payload).toMatchObject({
      type: 'job.completed',
      data: { jobId: job.json.id, status: 'completed' },
    });
    expect(request!.body).not.toContain('bank customer');
    expect(
      verifyWebhook('whsec_' + Buffer.alloc(32).toString('base64'), request!.headers, request!.body),
    ).toBe(false);
    await until(() => withStory.received.length > 0);
    expect(JSON.parse(withStory.received[0]!.body).data.story).toContain('bank customer');
    await receiver.close();
    await withStory.close();
  });

  it('retries a failing receiver: 3 failures, then exactly one accepted delivery, one webhook-id', async () => {
    const receiver = await startReceiver([500, 503, 429]);
    const created = await alice.post('/api/v1/webhooks', { url: receiver.url, events: ['job.failed'] });
    const test = await alice.post(`/api/v1/webhooks/${created.json.id}/test`);
    expect(test.status).toBe(202);
    const [delivery] = await deliveriesOf(
      alice,
      created.json.id,
      (items) => items[0]?.status === 'delivered',
    );
    expect(delivery?.attempts.map((attempt: { statusCode: number }) => attempt.statusCode)).toEqual([
      500, 503, 429, 204,
    ]);
    expect(receiver.received.map((request) => request.answered)).toEqual([500, 503, 429, 204]);
    expect(new Set(receiver.received.map((request) => request.headers['webhook-id']))).toEqual(
      new Set([delivery?.messageId]),
    );
    await receiver.close();
  });

  it('marks a delivery dead after its last attempt; redelivery sends it again with the same webhook-id', async () => {
    const receiver = await startReceiver([500, 500, 500, 500]);
    const created = await alice.post('/api/v1/webhooks', { url: receiver.url, events: ['job.failed'] });
    const test = await alice.post(`/api/v1/webhooks/${created.json.id}/test`);
    const [dead] = await deliveriesOf(alice, created.json.id, (items) => items[0]?.status === 'dead');
    expect(dead?.attempts).toHaveLength(4);
    const redelivered = await alice.post(
      `/api/v1/webhooks/${created.json.id}/deliveries/${test.json.id}/redeliver`,
    );
    expect(redelivered.status).toBe(202);
    const [delivered] = await deliveriesOf(
      alice,
      created.json.id,
      (items) => items[0]?.status === 'delivered',
    );
    expect(delivered?.attempts).toHaveLength(5);
    expect(new Set(receiver.received.map((request) => request.headers['webhook-id'])).size).toBe(1);
    await receiver.close();
  });

  it('still delivers when the host is killed mid-backoff (durable timers)', async () => {
    const receiver = await startReceiver([500]);
    const created = await alice.post('/api/v1/webhooks', { url: receiver.url, events: ['job.failed'] });
    await alice.post(`/api/v1/webhooks/${created.json.id}/test`);
    await deliveriesOf(alice, created.json.id, (items) => items[0]?.attempts.length === 1);
    await service.restartHost({ kill: true });
    const [delivery] = await deliveriesOf(
      alice,
      created.json.id,
      (items) => items[0]?.status === 'delivered',
    );
    expect(delivery?.status).toBe('delivered');
    expect(receiver.received.map((request) => request.answered)).toEqual([500, 204]);
    await receiver.close();
  });

  it('refuses private, metadata and mixed resolutions and redirects, end to end', async () => {
    const redirecting = await startReceiver([302, 302, 302, 302]);
    const targets = [
      `http://hooks.internal.test:${redirecting.port}/`,
      `http://metadata.test:${redirecting.port}/`,
      `http://mixed.test:${redirecting.port}/`,
      `http://[::ffff:10.0.0.1]:${redirecting.port}/`,
      redirecting.url,
    ];
    const ids: string[] = [];
    for (const url of targets) {
      const created = await alice.post('/api/v1/webhooks', { url, events: ['job.failed'] });
      ids.push(created.json.id);
      await alice.post(`/api/v1/webhooks/${created.json.id}/test`);
    }
    const outcomes = [];
    for (const id of ids) {
      const [delivery] = await deliveriesOf(alice, id, (items) => items[0]?.status === 'dead');
      outcomes.push([delivery?.status, delivery?.attempts[0]?.error]);
    }
    expect(outcomes).toEqual([
      ['dead', 'address_refused'],
      ['dead', 'address_refused'],
      ['dead', 'address_refused'],
      ['dead', 'address_refused'],
      ['dead', 'redirect_not_followed'],
    ]);
    // The redirect was answered and never followed; nothing beyond loopback was ever dialled.
    expect(redirecting.received).toHaveLength(4);
    expect(readFileSync(violationsFile, 'utf8')).toBe('');
    expect(violations).toEqual([]);
    await redirecting.close();
  });

  it('hides other users’ webhooks and keeps tenant events for admins', async () => {
    const receiver = await startReceiver();
    const created = await alice.post('/api/v1/webhooks', { url: receiver.url, events: ['job.completed'] });
    const bob = client(service.url, await service.token({ sub: 'bob', tenantId: 'acme' }));
    expect((await bob.get(`/api/v1/webhooks/${created.json.id}/deliveries`)).status).toBe(404);
    expect((await bob.delete(`/api/v1/webhooks/${created.json.id}`)).status).toBe(404);
    expect(
      (await bob.post('/api/v1/webhooks', { url: receiver.url, events: ['usage.anomaly'] })).status,
    ).toBe(403);
    expect((await alice.delete(`/api/v1/webhooks/${created.json.id}`)).status).toBe(204);
    await receiver.close();
  });
});
