import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { loopbackCertificate } from './loopback-certificate';

/**
 * A loopback Application Insights ingestion endpoint that records what the real Azure Monitor exporter
 * sends (`POST /v2.1/track`, gzipped JSON arrays of envelopes) and accepts it all. The exporter insists on
 * HTTPS, so the recorder serves a certificate made for 127.0.0.1 at start; a process that sends to it trusts
 * that certificate through `NODE_EXTRA_CA_CERTS` (`caFile`), which Node reads at start-up.
 */
export interface Envelope {
  name: string;
  time: string;
  tags?: Record<string, string>;
  data: { baseType: string; baseData: Record<string, unknown> & { properties?: Record<string, string> } };
}

export interface IngestionRecorder {
  /** For `APPLICATIONINSIGHTS_CONNECTION_STRING`: a dummy instrumentation key and this endpoint. */
  connectionString: string;
  caFile: string;
  envelopes: Envelope[];
  /** Every request body as received (decompressed), to search for text that must never be sent. */
  rawBodies: string[];
  close(): Promise<void>;
}

export async function startIngestionRecorder(): Promise<IngestionRecorder> {
  const { key, cert, caFile } = await loopbackCertificate();
  const envelopes: Envelope[] = [];
  const rawBodies: string[] = [];
  const server = createServer({ key, cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const text = body.toString('utf8');
      rawBodies.push(text);
      const received = JSON.parse(text) as Envelope[];
      envelopes.push(...received);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ itemsReceived: received.length, itemsAccepted: received.length, errors: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    connectionString: `InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:${port}/`,
    caFile,
    envelopes,
    rawBodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
