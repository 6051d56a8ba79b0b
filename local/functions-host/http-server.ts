import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../shared/logger';
import type { RegisteredFunction } from './extension';
import type { Invoker } from './invoker';
import { RouteTable } from './routes';

export interface HttpServerOptions {
  port: number;
  host: string;
  routePrefix: string;
  /** The library's HTTP proxy address when the app enabled HTTP streaming, as the worker reports it. */
  streamingUri: string | undefined;
  invoker: Invoker;
  logger: Logger;
}

const hopByHopHeaders = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function problem(
  res: http.ServerResponse,
  status: number,
  code: string,
  title: string,
  detail: string,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ type: `about:blank`, title, status, detail, code, instance: res.req.url });
  res.writeHead(status, {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** The route an HTTP function answers at, as `func start` computes it. */
export function routeOf(
  fn: RegisteredFunction,
  routePrefix: string,
): { template: string; methods: string[] } {
  const route =
    typeof fn.trigger.route === 'string' && fn.trigger.route.length > 0 ? fn.trigger.route : fn.name;
  const methods = Array.isArray(fn.trigger.methods)
    ? fn.trigger.methods.filter((method): method is string => typeof method === 'string')
    : ['GET', 'POST'];
  return { template: [routePrefix, route].filter((part) => part.length > 0).join('/'), methods };
}

/** Appends the client's address to `x-forwarded-for`, as Azure's front ends do (the last entry is theirs). */
function forwardedFor(req: http.IncomingMessage): string {
  const given = req.headers['x-forwarded-for'];
  const client = req.socket.remoteAddress ?? '';
  return given ? `${Array.isArray(given) ? given.join(', ') : given}, ${client}` : client;
}

function headerRecord(req: http.IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  headers['x-forwarded-for'] = forwardedFor(req);
  return headers;
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

/**
 * Serves the app's HTTP triggers. With HTTP streaming enabled it forwards the raw request to the library's
 * proxy (paired with the invocation by `x-ms-invocation-id`) and pipes the proxy's response back, exactly as
 * the Functions host does; otherwise it passes the buffered request and response over the invocation.
 */
export class FunctionsHttpServer {
  private readonly routes = new RouteTable<RegisteredFunction>();
  private readonly server: http.Server;
  // No keep-alive: an idle socket the worker's server closes just as a request reuses it fails that request
  // (ECONNRESET) after its body was piped, so it cannot be replayed; a loopback connection costs little.
  private readonly proxyAgent = new http.Agent({ keepAlive: false });

  constructor(private readonly options: HttpServerOptions) {
    for (const fn of options.invoker.list()) {
      if (fn.trigger.type !== 'httpTrigger') continue;
      const { template, methods } = routeOf(fn, options.routePrefix);
      this.routes.add(template, methods, fn);
    }
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        options.logger.error({ err: error }, 'HTTP dispatch failed');
        problem(res, 500, 'internal', 'Internal Server Error', 'The host could not dispatch the request.');
      });
    });
    this.server.keepAliveTimeout = 65_000;
  }

  /** Routes in the order they are matched, for the start-up banner. */
  describeRoutes(): { template: string; methods: string[]; functionName: string }[] {
    return this.routes.list().map((route) => ({
      template: route.template,
      methods: [...route.methods],
      functionName: route.target.name,
    }));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeIdleConnections();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Streams such as SSE never end by themselves: give them a moment, then cut them.
    const timer = setTimeout(() => this.server.closeAllConnections(), 1000);
    await closed;
    clearTimeout(timer);
    this.proxyAgent.destroy();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const host = req.headers.host ?? `localhost:${this.options.port}`;
    const url = new URL(req.url ?? '/', `http://${host}`);
    const method = req.method ?? 'GET';
    const matched = this.routes.match(method, url.pathname);
    if (matched === undefined) {
      problem(res, 404, 'not_found', 'Not Found', `No function answers ${url.pathname}.`);
      return;
    }
    if (matched === 'method_not_allowed') {
      problem(
        res,
        405,
        'method_not_allowed',
        'Method Not Allowed',
        `${method} is not allowed on ${url.pathname}.`,
      );
      return;
    }
    const fn = matched.target;
    const invocationId = randomUUID();
    const headers = headerRecord(req);
    const query = Object.fromEntries(url.searchParams.entries());
    const triggerMetadata: Record<string, { string?: string; json?: string }> = {
      Headers: { json: JSON.stringify(headers) },
      Query: { json: JSON.stringify(query) },
    };
    for (const [name, value] of Object.entries(matched.params)) triggerMetadata[name] = { string: value };
    const rpcHttp = {
      method,
      url: url.toString(),
      headers,
      query,
      params: matched.params,
      identities: [],
      cookies: [],
    };

    if (this.options.streamingUri) {
      await this.dispatchStreaming(req, res, fn, invocationId, url, rpcHttp, triggerMetadata);
    } else {
      await this.dispatchBuffered(req, res, fn, invocationId, rpcHttp, triggerMetadata);
    }
  }

  private async dispatchStreaming(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    fn: RegisteredFunction,
    invocationId: string,
    url: URL,
    rpcHttp: Record<string, unknown>,
    triggerMetadata: Record<string, { string?: string; json?: string }>,
  ): Promise<void> {
    const target = new URL(`${url.pathname}${url.search}`, this.options.streamingUri);
    const proxyReq = http.request(target, {
      method: req.method,
      agent: this.proxyAgent,
      headers: {
        ...req.headers,
        'x-ms-invocation-id': invocationId,
        'x-forwarded-for': forwardedFor(req),
        'x-forwarded-host': url.host,
        'x-forwarded-proto': url.protocol.replace(':', ''),
      },
    });
    proxyReq.on('response', (proxyRes) => {
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(proxyRes.headers)) {
        if (value === undefined || hopByHopHeaders.has(name) || name === 'x-ms-invocation-id') continue;
        headers[name] = value;
      }
      res.writeHead(proxyRes.statusCode ?? 500, headers);
      res.flushHeaders();
      proxyRes.pipe(res);
    });
    proxyReq.on('error', (error) => {
      if (!res.writableEnded)
        this.options.logger.debug({ err: error, invocationId }, 'proxy connection ended');
      if (!res.headersSent) problem(res, 502, 'internal', 'Bad Gateway', 'The function did not answer.');
      else res.destroy();
    });
    // A client that goes away must not leave the function's response stream writing into the void.
    res.on('close', () => {
      if (!res.writableFinished) proxyReq.destroy();
    });
    req.pipe(proxyReq);

    try {
      await this.options.invoker.invoke(
        fn.name,
        { triggerData: { http: rpcHttp }, triggerMetadata },
        invocationId,
      );
    } catch (error: unknown) {
      proxyReq.destroy();
      this.functionFailed(res, fn, invocationId, error);
    }
  }

  /** A throwing function answers 500 as on Azure, with the details only in the log. */
  private functionFailed(
    res: http.ServerResponse,
    fn: RegisteredFunction,
    invocationId: string,
    error: unknown,
  ): void {
    this.options.logger.error({ err: error, functionName: fn.name, invocationId }, 'function failed');
    problem(
      res,
      500,
      'internal',
      'Internal Server Error',
      `Function ${fn.name} failed (invocation ${invocationId}).`,
    );
  }

  private async dispatchBuffered(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    fn: RegisteredFunction,
    invocationId: string,
    rpcHttp: Record<string, unknown>,
    triggerMetadata: Record<string, { string?: string; json?: string }>,
  ): Promise<void> {
    const body = await readBody(req);
    let returned: unknown;
    try {
      const result = await this.options.invoker.invoke(
        fn.name,
        {
          triggerData: { http: { ...rpcHttp, body: { bytes: body }, rawBody: { bytes: body } } },
          triggerMetadata,
        },
        invocationId,
      );
      returned = result.returnValue;
    } catch (error: unknown) {
      this.functionFailed(res, fn, invocationId, error);
      return;
    }
    writeRpcHttpResponse(res, returned);
  }
}

interface RpcHttpResponse {
  statusCode?: string;
  headers?: Record<string, string>;
  body?: { bytes?: Uint8Array; string?: string };
}

function writeRpcHttpResponse(res: http.ServerResponse, returned: unknown): void {
  if (returned === undefined || returned === null) {
    res.writeHead(204).end();
    return;
  }
  const response = returned as RpcHttpResponse;
  const body = response.body?.bytes
    ? Buffer.from(response.body.bytes)
    : Buffer.from(response.body?.string ?? '', 'utf8');
  res.writeHead(Number(response.statusCode ?? 200), response.headers ?? {});
  res.end(body);
}
