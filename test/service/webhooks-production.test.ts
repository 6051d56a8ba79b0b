import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installNetworkGuard } from '../apps/network-guard-core';
import { loopbackCertificate } from '../support/loopback-certificate';
import { distRoot, tempDir } from '../support/local-services';
import { client, startService, type Client, type ServiceUnderTest } from '../support/service';
import { deliveriesOf, startReceiver } from '../support/webhook-receiver';

/**
 * Webhooks with production's guard on (`WEBHOOK_HTTPS_ONLY=true`): receivers are HTTPS on loopback, with a
 * certificate made here that the host trusts through `NODE_EXTRA_CA_CERTS`, so TLS is verified as it is in
 * production. The host answers DNS from a table (private, metadata, mixed and IPv4-mapped addresses) and may
 * connect to nothing beyond loopback; `receiver.test` is the one name that answers 127.0.0.1, the only range
 * `WEBHOOK_ALLOWED_CIDRS` exempts.
 */
let service: ServiceUnderTest;
let alice: Client;
const receiverName = 'receiver.test';
const violationsFile = path.join(tempDir('network'), 'violations.txt');
const violations: string[] = [];
let certificate: Awaited<ReturnType<typeof loopbackCertificate>>;

beforeAll(async () => {
  installNetworkGuard({ answers: {}, onViolation: (target) => violations.push(target) });
  writeFileSync(violationsFile, '');
  certificate = await loopbackCertificate([receiverName]);
  service = await startService({
    WEBHOOK_HTTPS_ONLY: 'true',
    WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
    WEBHOOK_RETRY_DELAYS_SECONDS: '1,1',
    WEBHOOK_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
    NODE_EXTRA_CA_CERTS: certificate.caFile,
    NODE_OPTIONS: `--require ${path.join(distRoot, 'test', 'apps', 'network-guard.js')}`,
    TEST_DNS_ANSWERS: JSON.stringify({
      [receiverName]: ['127.0.0.1'],
      'hooks.internal.test': ['10.0.0.7'],
      'metadata.test': ['169.254.169.254'],
      'metadata-v6.test': ['fd00:ec2::254'],
      'loopback.test': ['127.0.0.2'],
      'mixed.test': ['93.184.216.34', '192.168.1.1'],
      'mixed-loopback.test': ['127.0.0.1', '169.254.169.254'],
      'mapped.test': ['::ffff:10.0.0.1'],
      'mapped-metadata.test': ['::ffff:169.254.169.254'],
    }),
    TEST_NETWORK_VIOLATIONS: violationsFile,
  });
  alice = client(service.url, await service.token({ sub: 'alice', tenantId: 'acme' }));
});

afterAll(async () => {
  await service?.stop();
});

describe('webhooks in production mode (https only)', () => {
  it('refuses plain http URLs at registration with 400 problem+json, storing nothing', async () => {
    const receiver = await startReceiver();
    for (const url of [`http://${receiverName}:${receiver.port}/hook`, receiver.url]) {
      const refused = await alice.post('/api/v1/webhooks', { url, events: ['job.failed'] });
      expect(refused.status).toBe(400);
      expect(refused.headers.get('content-type')).toBe('application/problem+json');
      expect(refused.json).toMatchObject({ status: 400, code: 'validation_failed' });
      expect(refused.json.detail).toContain('https');
    }
    expect((await alice.get('/api/v1/webhooks')).json.items).toEqual([]);
    expect(receiver.received).toEqual([]);
    await receiver.close();
  });

  it('delivers a signed event over verified TLS to a receiver the host trusts', async () => {
    const receiver = await startReceiver([], { tls: certificate, hostname: receiverName });
    const created = await alice.post('/api/v1/webhooks', { url: receiver.url, events: ['job.failed'] });
    expect(created.status).toBe(201);
    await alice.post(`/api/v1/webhooks/${created.json.id}/test`);
    const [delivery] = await deliveriesOf(alice, created.json.id, (items) => items[0]?.status !== 'pending');
    expect(delivery).toMatchObject({ status: 'delivered', attempts: [{ statusCode: 204 }] });
    const [request] = receiver.received;
    expect(request?.headers.host).toBe(`${receiverName}:${receiver.port}`);
    const payload = new Webhook(String(created.json.secret)).verify(request!.body, {
      'webhook-id': String(request!.headers['webhook-id']),
      'webhook-timestamp': String(request!.headers['webhook-timestamp']),
      'webhook-signature': String(request!.headers['webhook-signature']),
    });
    expect(payload).toMatchObject({ type: 'webhook.test' });
    await alice.delete(`/api/v1/webhooks/${created.json.id}`);
    await receiver.close();
  });

  it('refuses private, metadata, loopback, mixed and mapped resolutions and a redirect, end to end', async () => {
    const redirecting = await startReceiver([302, 302, 302], { tls: certificate, hostname: receiverName });
    const port = redirecting.port;
    const targets: [url: string, error: string, detail?: string][] = [
      [`https://hooks.internal.test:${port}/`, 'address_refused', 'private address'],
      [`https://metadata.test:${port}/`, 'address_refused', 'linkLocal address'],
      [`https://metadata-v6.test:${port}/`, 'address_refused', 'uniqueLocal address'],
      [`https://loopback.test:${port}/`, 'address_refused', 'loopback address'],
      [`https://mixed.test:${port}/`, 'address_refused', 'private address'],
      [`https://mixed-loopback.test:${port}/`, 'address_refused', 'linkLocal address'],
      [`https://mapped.test:${port}/`, 'address_refused', 'private address'],
      [`https://mapped-metadata.test:${port}/`, 'address_refused', 'linkLocal address'],
      [`https://[::ffff:10.0.0.1]:${port}/`, 'address_refused', 'private address'],
      [`https://169.254.169.254:${port}/`, 'address_refused', 'linkLocal address'],
      [redirecting.url, 'redirect_not_followed'],
    ];
    const ids: string[] = [];
    for (const [url] of targets) {
      const created = await alice.post('/api/v1/webhooks', { url, events: ['job.failed'] });
      expect(created.status).toBe(201);
      ids.push(created.json.id);
      expect((await alice.post(`/api/v1/webhooks/${created.json.id}/test`)).status).toBe(202);
    }
    const outcomes = [];
    for (const id of ids) {
      const [delivery] = await deliveriesOf(alice, id, (items) => items[0]?.status === 'dead');
      const attempts = (delivery?.attempts ?? []) as { error?: string; detail?: string }[];
      outcomes.push({
        status: delivery?.status,
        attempts: attempts.length,
        errors: [...new Set(attempts.map((attempt) => [attempt.error, attempt.detail].join(' ').trim()))],
      });
    }
    expect(outcomes).toEqual(
      targets.map(([, error, detail]) => ({
        status: 'dead',
        attempts: 3,
        errors: [[error, detail].join(' ').trim()],
      })),
    );
    // Only the redirect reached a receiver (over verified TLS), once per attempt; it was never followed, and
    // nothing beyond loopback was ever dialled, by the host or by this test.
    expect(redirecting.received.map((request) => request.answered)).toEqual([302, 302, 302]);
    expect(readFileSync(violationsFile, 'utf8')).toBe('');
    expect(violations).toEqual([]);
    await redirecting.close();
  });
});
