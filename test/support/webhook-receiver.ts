import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { LoopbackCertificate } from './loopback-certificate';
import type { Client } from './service';

/** What a receiver saw: every request, and how it answered. */
export interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  answered: number;
}

/**
 * A loopback receiver answering each request with the next status of `script` (then 204); a 302 points at the
 * cloud metadata address, for the SSRF tests. With `tls` it serves HTTPS with that certificate, and its URL
 * names `hostname` (which the test's resolver must answer with 127.0.0.1) instead of the address.
 */
export async function startReceiver(
  script: number[] = [],
  options: { tls?: LoopbackCertificate; hostname?: string } = {},
) {
  const received: Received[] = [];
  const handle: http.RequestListener = (req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const answered = script.shift() ?? 204;
      received.push({ headers: req.headers, body, answered });
      if (answered === 302) res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
      else res.writeHead(answered);
      res.end();
    });
  };
  const server = options.tls
    ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, handle)
    : http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${options.tls ? 'https' : 'http'}://${options.hostname ?? '127.0.0.1'}:${port}/hook`,
    port,
    received,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Polls an endpoint's deliveries (newest first) until `accept` says so, or 45 s pass; returns the last page. */
export async function deliveriesOf(
  api: Client,
  webhookId: string,
  accept: (items: Record<string, any>[]) => boolean,
): Promise<Record<string, any>[]> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const items = (await api.get(`/api/v1/webhooks/${webhookId}/deliveries`)).json.items as Record<
      string,
      any
    >[];
    if (accept(items) || Date.now() > deadline) return items;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
