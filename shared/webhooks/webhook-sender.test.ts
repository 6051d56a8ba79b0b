import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installNetworkGuard } from '../../test/apps/network-guard-core';
import { AddressGuard } from './address-guard';
import { WebhookSender, type Resolver } from './webhook-sender';

/** Every connection this file attempts outside loopback; the guard refuses them, the last test checks none. */
const violations: string[] = [];
let receiver: http.Server;
let port = 0;
const seen: { path: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  installNetworkGuard({ answers: {}, onViolation: (target) => violations.push(target) });
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ path: req.url ?? '', headers: req.headers, body });
      if (req.url === '/redirect') {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      } else if (req.url === '/slow') {
        setTimeout(() => res.writeHead(200).end(), 2_000);
      } else if (req.url === '/huge') {
        res.writeHead(200);
        res.end(Buffer.alloc(5 * 1024 * 1024, 'x'));
      } else {
        res.writeHead(204).end();
      }
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  port = (receiver.address() as AddressInfo).port;
});

afterAll(async () => {
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
});

/** A resolver standing in for DNS: names map to the addresses a test chooses. */
const resolver =
  (answers: Record<string, string[]>): Resolver =>
  (hostname) =>
    Promise.resolve(
      (answers[hostname] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    );

const sender = (
  options: { httpsOnly?: boolean; answers?: Record<string, string[]>; timeoutMs?: number } = {},
) =>
  new WebhookSender({
    guard: new AddressGuard(['127.0.0.1/32']),
    httpsOnly: options.httpsOnly ?? false,
    timeoutMs: options.timeoutMs ?? 5_000,
    resolve: resolver(options.answers ?? {}),
  });

describe('webhook sender', () => {
  it('posts to the address it checked, with the name only as Host', async () => {
    const result = await sender({ answers: { 'receiver.test': ['127.0.0.1'] } }).send(
      `http://receiver.test:${port}/hook?x=1`,
      { 'webhook-id': 'msg_1' },
      '{"type":"webhook.test"}',
    );
    expect(result).toMatchObject({ delivered: true, statusCode: 204 });
    expect(seen.at(-1)).toMatchObject({
      path: '/hook?x=1',
      body: '{"type":"webhook.test"}',
      headers: { host: `receiver.test:${port}`, 'webhook-id': 'msg_1' },
    });
  });

  it('refuses names resolving to private, metadata or mixed addresses before connecting', async () => {
    const answers = {
      'internal.test': ['10.0.0.7'],
      'metadata.test': ['169.254.169.254'],
      'v6-metadata.test': ['fd00:ec2::254'],
      'mapped.test': ['::ffff:192.168.0.1'],
      // One public and one private answer: the private one could be picked at connect time.
      'mixed.test': ['93.184.216.34', '192.168.1.1'],
      'other-loopback.test': ['127.0.0.2'],
    };
    const before = seen.length;
    for (const name of Object.keys(answers)) {
      const result = await sender({ answers }).send(`http://${name}:${port}/`, {}, '{}');
      expect(result, name).toMatchObject({ delivered: false, error: 'address_refused' });
    }
    for (const literal of ['http://[::1]:1/', 'http://169.254.169.254/', 'http://[::ffff:10.0.0.1]/']) {
      expect((await sender().send(literal, {}, '{}')).error, literal).toBe('address_refused');
    }
    expect(seen.length).toBe(before);
  });

  it('does not follow a redirect', async () => {
    const before = seen.length;
    const result = await sender().send(`http://127.0.0.1:${port}/redirect`, {}, '{}');
    expect(result).toMatchObject({ delivered: false, statusCode: 302, error: 'redirect_not_followed' });
    expect(seen.length).toBe(before + 1);
  });

  it('requires https when told to', async () => {
    const result = await sender({ httpsOnly: true }).send(`http://127.0.0.1:${port}/`, {}, '{}');
    expect(result).toMatchObject({ delivered: false, error: 'https_required' });
  });

  it('gives up at its deadline and reads a huge answer only up to its bound', async () => {
    expect((await sender({ timeoutMs: 300 }).send(`http://127.0.0.1:${port}/slow`, {}, '{}')).error).toBe(
      'timeout',
    );
    const huge = await sender().send(`http://127.0.0.1:${port}/huge`, {}, '{}');
    expect(huge).toMatchObject({ delivered: true, statusCode: 200 });
  });

  it('never tried to connect beyond loopback', () => {
    expect(violations).toEqual([]);
  });
});
