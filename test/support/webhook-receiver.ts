import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a receiver saw: every request, and how it answered. */
export interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  answered: number;
}

/**
 * A loopback receiver answering each request with the next status of `script` (then 204); a 302 points at the
 * cloud metadata address, for the SSRF tests.
 */
export async function startReceiver(script: number[] = []) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const answered = script.shift() ?? 204;
      received.push({ headers: req.headers, body, answered });
      if (answered === 302) res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
      else res.writeHead(answered);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    received,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
