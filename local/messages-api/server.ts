import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { isAppError } from '../../shared/errors';
import { parsePurpose, PURPOSE_HEADER } from '../../shared/llm/prompt-layout';
import { FAULT_HEADER, faultSchema, parseFaultHeader, type Fault, type FaultInput } from './faults';
import { countBreakpoints, DEFAULT_MIN_CACHEABLE_TOKENS, estimateTokens, PromptCache } from './prompt-cache';
import {
  errorBody,
  messagesRequestSchema,
  type MessagesRequest,
  type WireErrorType,
  type WireUsage,
  requestAttachments,
} from './wire';
import type { Attachment } from '../../shared/llm/port';

/** What the responder learns about a request besides its body. */
export interface ResponderContext {
  /** `StructuredRequest.purpose`, when the client sent the purpose header (the project's adapter does). */
  purpose: ReturnType<typeof parsePurpose>;
  headers: IncomingHttpHeaders;
}

/**
 * Produces the assistant's text (for structured output, the JSON text) for a request. Pluggable so the
 * server can answer with the offline engine, a test double or anything else.
 */
export type Responder = (params: MessagesRequest, context: ResponderContext) => Promise<string>;

/**
 * Simulated generation time: `baseMs` from the request's arrival to the first token (the server's own work
 * included, so a loaded machine does not lengthen it), then `perOutputTokenMs` per output token.
 */
export interface LatencyModel {
  baseMs: number;
  perOutputTokenMs: number;
}

export interface MessagesApiServerOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  responder: Responder;
  latency?: LatencyModel;
  /** When set, requests must present exactly this key; otherwise any non-empty key is accepted. */
  apiKey?: string;
  /** Shortest prefix that gets cached (default 1,024 tokens, as for Sonnet-class models). */
  minCacheableTokens?: number;
  /** Reported in `anthropic-ratelimit-*` headers per one-minute window; not enforced. */
  rateLimits?: { requestsPerMinute: number; inputTokensPerMinute: number; outputTokensPerMinute: number };
  /** How many received requests `stats.received` keeps (oldest dropped first); default 1,000. */
  keepRequests?: number;
}

/** One request as the server saw it, for tests and benchmarks. */
export interface ReceivedRequest {
  requestId: string;
  params: MessagesRequest;
  purpose: ReturnType<typeof parsePurpose>;
  status: number;
  fault?: Fault['kind'];
  usage?: WireUsage;
  /** The image and document blocks it carried (vision input), without their data. */
  attachments: { kind: Attachment['kind']; mediaType: string; bytes: number }[];
  /** When it arrived and when its answer ended, in ms on the server's clock (`performance.now()`). */
  arrivedAtMs: number;
  finishedAtMs: number;
}

export interface MessagesApiStats {
  requests: number;
  byStatus: Record<number, number>;
  faultsInjected: number;
  received: ReceivedRequest[];
}

export interface MessagesApiServer {
  /** Base URL for `ANTHROPIC_BASE_URL` / the SDK's `baseURL`, e.g. `http://127.0.0.1:4010`. */
  url: string;
  port: number;
  stats: MessagesApiStats;
  /** Queues faults; each is consumed by the next request that has no fault header. */
  injectFaults(...faults: FaultInput[]): void;
  clearFaults(): void;
  /** Accepts only this key from now on (a rotation: the previous key gets 401 `authentication_error`). */
  setApiKey(apiKey: string): void;
  /** Stops listening, ends in-flight responses and cancels their timers. */
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;
const CHUNK_TOKENS = 4;

/**
 * A local server speaking Anthropic's Messages API wire protocol: `POST /v1/messages` as JSON or SSE, error
 * bodies, `request-id` and `anthropic-ratelimit-*` headers, cache usage that reflects the prefixes it has
 * seen, a latency model and faults on demand. Admin routes: `POST /_admin/faults` (`{ faults: [...] }`),
 * `DELETE /_admin/faults`, `GET /_admin/stats`.
 */
export async function startMessagesApiServer(options: MessagesApiServerOptions): Promise<MessagesApiServer> {
  const latency = options.latency ?? { baseMs: 0, perOutputTokenMs: 0 };
  const cache = new PromptCache(options.minCacheableTokens ?? DEFAULT_MIN_CACHEABLE_TOKENS);
  const limits = options.rateLimits ?? {
    requestsPerMinute: 4_000,
    inputTokensPerMinute: 2_000_000,
    outputTokensPerMinute: 400_000,
  };
  const keep = options.keepRequests ?? 1_000;
  let acceptedKey = options.apiKey;
  const queue: Fault[] = [];
  const live = new Set<AbortController>();
  const stats: MessagesApiStats = { requests: 0, byStatus: {}, faultsInjected: 0, received: [] };
  let rateWindow = { startedAt: Date.now(), requests: 0, inputTokens: 0, outputTokens: 0 };

  const rateLimitHeaders = (): Record<string, string> => {
    const now = Date.now();
    if (now - rateWindow.startedAt >= 60_000)
      rateWindow = { startedAt: now, requests: 0, inputTokens: 0, outputTokens: 0 };
    const reset = new Date(rateWindow.startedAt + 60_000).toISOString();
    const entry = (name: string, limit: number, used: number) => ({
      [`anthropic-ratelimit-${name}-limit`]: String(limit),
      [`anthropic-ratelimit-${name}-remaining`]: String(Math.max(0, limit - used)),
      [`anthropic-ratelimit-${name}-reset`]: reset,
    });
    return {
      ...entry('requests', limits.requestsPerMinute, rateWindow.requests),
      ...entry(
        'tokens',
        limits.inputTokensPerMinute + limits.outputTokensPerMinute,
        rateWindow.inputTokens + rateWindow.outputTokens,
      ),
      ...entry('input-tokens', limits.inputTokensPerMinute, rateWindow.inputTokens),
      ...entry('output-tokens', limits.outputTokensPerMinute, rateWindow.outputTokens),
    };
  };

  const record = (entry: ReceivedRequest) => {
    stats.requests += 1;
    stats.byStatus[entry.status] = (stats.byStatus[entry.status] ?? 0) + 1;
    if (entry.fault) stats.faultsInjected += 1;
    stats.received.push(entry);
    if (stats.received.length > keep) stats.received.shift();
  };

  const sendJson = (
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const sendError = (
    res: ServerResponse,
    status: number,
    type: WireErrorType,
    message: string,
    requestId: string,
    extra: { headers?: Record<string, string>; errorCode?: string } = {},
  ) =>
    sendJson(res, status, errorBody(type, message, requestId, extra.errorCode), {
      'request-id': requestId,
      ...extra.headers,
    });

  async function handleMessages(
    req: IncomingMessage,
    res: ServerResponse,
    signal: AbortSignal,
  ): Promise<void> {
    // The latency model counts from here: the server's own work (parsing, the responder) is part of the
    // modelled time to first token, not added to it.
    const arrivedAt = performance.now();
    const requestId = `req_${randomUUID().replaceAll('-', '')}`;
    const credential = credentialOf(req.headers);
    if (!credential || (acceptedKey !== undefined && credential !== acceptedKey)) {
      stats.requests += 1;
      stats.byStatus[401] = (stats.byStatus[401] ?? 0) + 1;
      return sendError(res, 401, 'authentication_error', 'invalid x-api-key', requestId);
    }

    let raw: string;
    try {
      raw = await readBody(req);
    } catch {
      return sendError(res, 413, 'invalid_request_error', 'request body too large', requestId);
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return sendError(res, 400, 'invalid_request_error', 'request body is not valid JSON', requestId);
    }
    const parsed = messagesRequestSchema.safeParse(json);
    if (!parsed.success) {
      return sendError(res, 400, 'invalid_request_error', z.prettifyError(parsed.error), requestId);
    }
    const params = parsed.data;
    const purpose = parsePurpose(headerValue(req.headers, PURPOSE_HEADER));
    const entry: ReceivedRequest = {
      requestId,
      params,
      purpose,
      status: 0,
      attachments: [],
      arrivedAtMs: arrivedAt,
      finishedAtMs: 0,
    };
    const finish = (status: number) => {
      entry.status = status;
      entry.finishedAtMs = performance.now();
      record(entry);
    };

    const headerFault = headerValue(req.headers, FAULT_HEADER);
    let fault: Fault | undefined;
    if (headerFault !== undefined) {
      const result = parseFaultHeader(headerFault);
      if ('error' in result) {
        finish(400);
        return sendError(res, 400, 'invalid_request_error', result.error, requestId);
      }
      fault = result.fault;
    } else {
      fault = queue.shift();
    }
    if (fault) entry.fault = fault.kind;

    const rejection = rejectUnsupported(params);
    if (!rejection) entry.attachments = describeAttachments(params);
    if (rejection) {
      finish(400);
      return sendError(res, 400, 'invalid_request_error', rejection, requestId);
    }
    const limitHeaders = rateLimitHeaders();
    switch (fault?.kind) {
      case 'rate_limit': {
        finish(429);
        const headers: Record<string, string> = {
          ...limitHeaders,
          'retry-after': String(fault.retryAfterSeconds),
        };
        if (fault.retryAfterMs !== undefined) headers['retry-after-ms'] = String(fault.retryAfterMs);
        return sendError(
          res,
          429,
          'rate_limit_error',
          'Number of request tokens has exceeded your rate limit.',
          requestId,
          {
            headers,
          },
        );
      }
      case 'spend_limit':
        finish(429);
        return sendError(
          res,
          429,
          'rate_limit_error',
          'Your workspace has reached its spend limit.',
          requestId,
          {
            headers: limitHeaders,
            errorCode: 'enforced_spend_limit_reached',
          },
        );
      case 'overloaded':
        finish(529);
        return sendError(res, 529, 'overloaded_error', 'Overloaded', requestId);
      case 'server_error':
        finish(500);
        return sendError(res, 500, 'api_error', 'Internal server error', requestId);
      case 'bad_request':
        finish(400);
        return sendError(res, 400, 'invalid_request_error', 'messages: injected invalid request', requestId);
      case 'echo_credentials':
        finish(401);
        return sendError(res, 401, 'authentication_error', `invalid x-api-key: ${credential}`, requestId);
      default:
        break;
    }

    let text: string;
    try {
      text = await options.responder(params, { purpose, headers: req.headers });
    } catch (error: unknown) {
      // A responder that rejects the request itself (e.g. not an engine prompt) answers 400, which clients
      // do not retry; anything else is a server fault.
      if (isAppError(error) && error.status < 500) {
        finish(400);
        return sendError(res, 400, 'invalid_request_error', error.message, requestId);
      }
      finish(500);
      return sendError(res, 500, 'api_error', 'The responder failed.', requestId);
    }
    let stopReason: 'end_turn' | 'max_tokens' = 'end_turn';
    if (estimateTokens(text) > params.max_tokens) {
      text = text.slice(0, params.max_tokens * 4);
      stopReason = 'max_tokens';
    }
    const outputTokens = estimateTokens(text);
    const plan = cache.plan(params);
    const usage: WireUsage = { ...plan.usage, output_tokens: outputTokens };
    entry.usage = usage;
    rateWindow.requests += 1;
    rateWindow.inputTokens +=
      usage.input_tokens + usage.cache_creation_input_tokens + usage.cache_read_input_tokens;
    rateWindow.outputTokens += outputTokens;

    const startDelay =
      Math.max(0, latency.baseMs - (performance.now() - arrivedAt)) +
      (fault?.kind === 'slow' ? fault.delayMs : 0);
    const message = {
      id: `msg_${randomUUID().replaceAll('-', '')}`,
      type: 'message',
      role: 'assistant',
      model: params.model,
      stop_sequence: null,
    };
    const headers = { 'request-id': requestId, ...rateLimitHeaders() };

    if (!params.stream) {
      await wait(startDelay + latency.perOutputTokenMs * outputTokens, signal);
      plan.commit();
      finish(200);
      return sendJson(
        res,
        200,
        { ...message, content: [{ type: 'text', text }], stop_reason: stopReason, usage },
        headers,
      );
    }

    await wait(startDelay, signal);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      ...headers,
    });
    const send = (event: string, data: unknown) =>
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    // The real API makes a prefix readable once the writing response has begun, not when it ends.
    plan.commit();
    send('message_start', {
      type: 'message_start',
      message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } },
    });
    send('content_block_start', {
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'text', text: '' },
    });
    send('ping', { type: 'ping' });
    const chunks = chunk(text, CHUNK_TOKENS * 4);
    for (const [index, piece] of chunks.entries()) {
      await wait(latency.perOutputTokenMs * estimateTokens(piece), signal);
      // The break comes after the wait, so the client has had time to receive the chunks already sent.
      if ((fault?.kind === 'mid_stream' || fault?.kind === 'drop_connection') && index === fault.afterChunks)
        break;
      send('content_block_delta', {
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'text_delta', text: piece },
      });
    }
    if (fault?.kind === 'drop_connection') {
      finish(200);
      res.socket?.destroy();
      return;
    }
    if (fault?.kind === 'mid_stream') {
      finish(200);
      send(
        'error',
        errorBody(
          fault.errorType,
          fault.errorType === 'overloaded_error' ? 'Overloaded' : 'Internal server error',
          requestId,
        ),
      );
      res.end();
      return;
    }
    send('content_block_stop', { type: 'content_block_stop', index: 0 });
    send('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: {
        output_tokens: usage.output_tokens,
        input_tokens: usage.input_tokens,
        cache_creation_input_tokens: usage.cache_creation_input_tokens,
        cache_read_input_tokens: usage.cache_read_input_tokens,
      },
    });
    send('message_stop', { type: 'message_stop' });
    finish(200);
    res.end();
  }

  async function handleAdmin(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (path === '/_admin/stats' && req.method === 'GET') return sendJson(res, 200, stats);
    if (path === '/_admin/faults' && req.method === 'DELETE') {
      queue.length = 0;
      return sendJson(res, 200, { queued: 0 });
    }
    if (path === '/_admin/faults' && req.method === 'POST') {
      let json: unknown;
      try {
        json = JSON.parse(await readBody(req));
      } catch {
        return sendJson(res, 400, errorBody('invalid_request_error', 'body must be JSON'));
      }
      const parsed = z.object({ faults: z.array(faultSchema) }).safeParse(json);
      if (!parsed.success)
        return sendJson(res, 400, errorBody('invalid_request_error', z.prettifyError(parsed.error)));
      queue.push(...parsed.data.faults);
      return sendJson(res, 200, { queued: queue.length });
    }
    return sendJson(res, 404, errorBody('not_found_error', `no route ${req.method ?? ''} ${path}`));
  }

  const server = createServer((req, res) => {
    const controller = new AbortController();
    live.add(controller);
    // A client that disconnects (abort, timeout) cancels the simulated generation behind it.
    res.on('close', () => {
      controller.abort();
      live.delete(controller);
    });
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const work =
      path === '/v1/messages' && req.method === 'POST'
        ? handleMessages(req, res, controller.signal)
        : path.startsWith('/_admin/')
          ? handleAdmin(req, res, path)
          : Promise.resolve(
              sendJson(res, 404, errorBody('not_found_error', `no route ${req.method ?? ''} ${path}`)),
            );
    work.catch((error: unknown) => {
      if (error instanceof AbortedError) return;
      sendJson(res, 500, errorBody('api_error', 'Internal server error'));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  if (bound === null || typeof bound === 'string')
    throw new Error('The Messages API server is not on a TCP port.');
  const { port, address } = bound;

  return {
    url: `http://${address}:${port}`,
    port,
    stats,
    injectFaults: (...faults) => queue.push(...faults.map((fault) => faultSchema.parse(fault))),
    clearFaults: () => {
      queue.length = 0;
    },
    setApiKey: (apiKey) => {
      acceptedKey = apiKey;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const controller of live) controller.abort();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Sampling parameters and forced tool use are refused by Sonnet 5+, so the local server refuses them too. */
function rejectUnsupported(params: MessagesRequest): string | undefined {
  if (countBreakpoints(params) > 4) return 'A maximum of 4 blocks with cache_control may be provided.';
  try {
    requestAttachments(params);
  } catch {
    return 'messages: an image or document block is malformed (base64 PNG/JPEG images, base64 PDF or plain-text documents).';
  }
  if (!/^claude-sonnet-5/.test(params.model)) return undefined;
  for (const name of ['temperature', 'top_p', 'top_k'] as const) {
    if (params[name] !== undefined) return `${name}: not supported by ${params.model}; use the default.`;
  }
  if (params.tool_choice?.type === 'tool')
    return `tool_choice: forcing a tool is not supported by ${params.model}.`;
  return undefined;
}

function describeAttachments(params: MessagesRequest): ReceivedRequest['attachments'] {
  return requestAttachments(params).map((attachment) =>
    attachment.kind === 'text'
      ? { kind: 'text', mediaType: 'text/plain', bytes: Buffer.byteLength(attachment.text) }
      : {
          kind: attachment.kind,
          mediaType: attachment.kind === 'image' ? attachment.mediaType : 'application/pdf',
          bytes: Buffer.from(attachment.data, 'base64').length,
        },
  );
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function credentialOf(headers: IncomingHttpHeaders): string | undefined {
  const key = headerValue(headers, 'x-api-key');
  if (key) return key;
  const match = /^Bearer\s+(.+)$/i.exec(headerValue(headers, 'authorization') ?? '');
  return match?.[1];
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (part: Buffer) => {
      size += part.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      parts.push(part);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function chunk(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let at = 0; at < text.length; at += size) pieces.push(text.slice(at, at + size));
  return pieces;
}

class AbortedError extends Error {}

/** Waits unless the request went away; a zero wait does not yield, so a zero latency model costs nothing. */
function wait(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new AbortedError('request closed'));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError('request closed'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
