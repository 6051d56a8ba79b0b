import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientDisconnectSignal, endWhenAborted, watchClientDisconnects } from './client-disconnect';

// A real server standing in for the worker's forwarding target: requests carry `x-ms-invocation-id` like the
// Functions host's, and each handler parks its response until the test decides how it ends.
let server: http.Server;
let port: number;
const parked = new Map<string, http.ServerResponse>();
const seenSignals = new Map<string, AbortSignal | undefined>();

beforeAll(async () => {
  watchClientDisconnects();
  server = http.createServer((req, res) => {
    const id = String(req.headers['x-ms-invocation-id'] ?? req.url);
    seenSignals.set(id, clientDisconnectSignal(id));
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first chunk');
    parked.set(id, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Sends a request and resolves once its first chunk arrived, handing back the client request. */
function openRequest(headers: Record<string, string>, path = '/'): Promise<http.ClientRequest> {
  return new Promise((resolve, reject) => {
    const request = http.get({ port, host: '127.0.0.1', path, headers, agent: false }, (response) => {
      response.once('data', () => resolve(request));
      response.resume();
    });
    request.on('error', (error) => {
      if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(error);
    });
  });
}

const until = async (condition: () => boolean) => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  return condition();
};

describe('client disconnect signal', () => {
  it('aborts when the client closes the connection before the response is complete', async () => {
    const request = await openRequest({ 'x-ms-invocation-id': 'gone-early' });
    const signal = seenSignals.get('gone-early');
    expect(signal?.aborted).toBe(false);
    request.destroy();
    expect(await until(() => signal?.aborted === true)).toBe(true);
    expect(clientDisconnectSignal('gone-early')).toBeUndefined();
  });

  it('does not abort when the response completes, and forgets the invocation', async () => {
    await openRequest({ 'x-ms-invocation-id': 'completes' });
    const signal = seenSignals.get('completes');
    parked.get('completes')?.end(' and the last');
    expect(await until(() => clientDisconnectSignal('completes') === undefined)).toBe(true);
    expect(signal?.aborted).toBe(false);
  });

  it('has no signal for a request that the Functions host did not forward', async () => {
    const request = await openRequest({}, '/not-forwarded');
    expect(seenSignals.has('/not-forwarded')).toBe(true);
    expect(seenSignals.get('/not-forwarded')).toBeUndefined();
    request.destroy();
  });
});

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  return text;
}

describe('endWhenAborted', () => {
  it('passes a body through unchanged when the client stays', async () => {
    const gone = new AbortController();
    let told = false;
    const copy = endWhenAborted(Readable.from(['a,', 'b,', 'c']), gone.signal, () => {
      told = true;
    });
    expect(await readAll(copy)).toBe('a,b,c');
    expect(told).toBe(false);
  });

  it('ends the copy normally and cancels the source once the client is gone', async () => {
    const gone = new AbortController();
    let cancelled = false;
    let told = 0;
    const encoder = new TextEncoder();
    const endless = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        controller.enqueue(encoder.encode('tick\n'));
      },
      cancel: () => {
        cancelled = true;
      },
    });
    const copy = endWhenAborted(endless, gone.signal, () => (told += 1));
    const reading = readAll(copy);
    await new Promise((resolve) => setTimeout(resolve, 30));
    gone.abort();
    const text = await reading;
    expect(text.startsWith('tick\n')).toBe(true);
    expect(cancelled).toBe(true);
    expect(told).toBe(1);
  });

  it('passes a source failure on instead of hiding it', async () => {
    const failing = new ReadableStream<Uint8Array>({
      pull: (controller) => controller.error(new Error('query failed')),
    });
    const copy = endWhenAborted(failing, new AbortController().signal, () => undefined);
    await expect(readAll(copy)).rejects.toThrow('query failed');
  });
});
