import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';

/*
 * With HTTP streaming on, the Functions host forwards each HTTP invocation to an HTTP server inside the worker,
 * tagged with `x-ms-invocation-id`, and copies that server's response back to the client. `@azure/functions`
 * gives the handler no signal when that response is closed early, and keeps pulling the body into a closed
 * socket (Azure/azure-functions-nodejs-library#294). Node publishes every server request on a diagnostics
 * channel, so the app watches the worker's responses itself: one whose connection closes before it finished
 * means the client went away.
 */
const encoder = new TextEncoder();
const invocationIdHeader = 'x-ms-invocation-id';
const openInvocations = new Map<string, AbortController>();
let watching = false;

function onServerRequest(message: unknown): void {
  const { request, response } = message as { request: IncomingMessage; response: ServerResponse };
  const invocationId = request.headers[invocationIdHeader];
  if (typeof invocationId !== 'string') return;
  const gone = new AbortController();
  openInvocations.set(invocationId, gone);
  response.once('close', () => {
    if (openInvocations.get(invocationId) === gone) openInvocations.delete(invocationId);
    if (!response.writableFinished) gone.abort();
  });
}

/** Starts watching forwarded HTTP invocations; call before the worker serves its first request. */
export function watchClientDisconnects(): void {
  if (watching) return;
  watching = true;
  subscribe('http.server.request.start', onServerRequest);
}

/**
 * Aborts when the client of this HTTP invocation disconnects before its response is complete. Undefined when
 * the invocation was not forwarded over HTTP (streaming off, or called in-process).
 */
export function clientDisconnectSignal(invocationId: string): AbortSignal | undefined {
  return openInvocations.get(invocationId)?.signal;
}

/**
 * A copy of a streamed body that ends normally once `signal` aborts and cancels the source, so the source's
 * timers and queries stop and the runtime's copy loop completes instead of failing the invocation.
 */
export function endWhenAborted(
  body: ReadableStream<Uint8Array> | Readable,
  signal: AbortSignal,
  onAbort: () => void,
): ReadableStream<Uint8Array> {
  // A Node stream built from strings (`Readable.from` of a text generator) yields strings, not bytes.
  const source: ReadableStream<Uint8Array | string> =
    body instanceof Readable ? (Readable.toWeb(body) as ReadableStream<Uint8Array | string>) : body;
  const reader = source.getReader();
  let ended = false;
  let abortListener: (() => void) | undefined;
  const stopListening = () => {
    if (abortListener) signal.removeEventListener('abort', abortListener);
  };
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        abortListener = () => {
          if (ended) return;
          ended = true;
          onAbort();
          controller.close();
          reader.cancel().catch(() => undefined);
        };
        if (signal.aborted) abortListener();
        else signal.addEventListener('abort', abortListener, { once: true });
      },
      async pull(controller) {
        let chunk;
        try {
          chunk = await reader.read();
        } catch (error: unknown) {
          ended = true;
          stopListening();
          throw error;
        }
        const { done, value } = chunk;
        if (ended) return;
        if (done) {
          ended = true;
          stopListening();
          controller.close();
        } else {
          controller.enqueue(typeof value === 'string' ? encoder.encode(value) : value);
        }
      },
      async cancel(reason) {
        ended = true;
        stopListening();
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
