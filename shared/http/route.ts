import '../app-setup';
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { Readable } from 'node:stream';
import { z } from 'zod';
import type { Principal } from '../auth/principal';
import { requireScope, type ApiScope } from '../auth/scopes';
import { getConfig } from '../config';
import { AppError, toAppError } from '../errors';
import { pathIds } from '../ids';
import { noteCaller, noteFailure, noteRequestIds } from '../telemetry/telemetry';
import { clientDisconnectSignal, endWhenAborted } from './client-disconnect';
import { problemResponse } from './problem';
import { runInRequestContext, sourceIpOf, type RequestContext } from './request-context';

/**
 * The one HTTP wrapper: every HTTP function is declared as a `RouteSpec` (which also feeds the OpenAPI
 * document), the dependencies it uses, and a handler factory that turns those dependencies into a handler
 * receiving validated, typed input. The wrapper authenticates, enforces body size and media type before
 * parsing, validates params/headers/query/body with zod, maps errors to problem+json, puts a correlation id
 * on every response and log line, and answers CORS preflights. It builds nothing itself: the function file
 * composes what its handler needs (see `uses` in `shared/services.ts`).
 */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
/**
 * Who may call a route: anyone (`none`); any authenticated caller whose credential holds the route's `scope`
 * (`user`); only a person signed in with a token from a trusted issuer (`jwt`: e.g. API-key management); or
 * such a person with an admin role, which the service checks per tenant (`admin`). API keys, OpenWebUI
 * connections and CI workloads never pass `jwt` or `admin`.
 */
export type RouteAuth = 'none' | 'user' | 'jwt' | 'admin';

/** A user route names the scope it needs; the others need none. */
export type RouteAccess =
  { auth: 'user'; scope: ApiScope } | { auth: Exclude<RouteAuth, 'user'>; scope?: never };

type AnyObject = z.ZodObject<z.ZodRawShape>;

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  contentType?: string;
}

export type RouteSpec<
  P extends AnyObject = AnyObject,
  Q extends AnyObject = AnyObject,
  B extends AnyObject = AnyObject,
  H extends AnyObject = AnyObject,
> = RouteShape<P, Q, B, H> & RouteAccess;

interface RouteShape<P extends AnyObject, Q extends AnyObject, B extends AnyObject, H extends AnyObject> {
  /** Function name (`<resource>-<verb>`), also the file name. */
  functionName: string;
  /** OpenAPI operationId: OpenWebUI turns each operation into a tool by this name. */
  operationId: string;
  method: HttpMethod;
  /** Path as clients see it, with `{param}` placeholders, e.g. `/api/v1/jobs/{jobId}`. */
  path: string;
  summary: string;
  description: string;
  tags: string[];
  /** Path parameters; those registered in `pathIds` are ids, and a malformed id is 404, not 400. */
  params?: P;
  query?: Q;
  body?: B;
  /** Request headers the handler reads (lower-case names), validated and documented like the rest. */
  headers?: H;
  responses: Record<number, ResponseSpec>;
  /** Adds the durable client input binding so the handler can start and signal orchestrations. */
  durableClient?: boolean;
}

export interface HandlerInput<P, Q, B, H = Record<string, never>> {
  params: P;
  query: Q;
  body: B;
  headers: H;
  principal: Principal;
  request: HttpRequest;
  context: InvocationContext;
  correlationId: string;
  /** Aborts when the client disconnects; undefined where the runtime cannot tell (see client-disconnect). */
  clientGone: AbortSignal | undefined;
}

export interface ApiResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** A pre-built response (e.g. a stream) passed through as is, with the wrapper's headers added. */
  raw?: HttpResponseInit;
}

/** Establishes who is calling from the request's credential; rejects with `unauthenticated` otherwise. */
export type Authenticate = (headers: Headers) => Promise<Principal>;

/**
 * What a function gives the wrapper besides its route, each built on first use: the caller check that every
 * authenticated route needs, and the services its handler declared (a public route builds neither).
 */
export interface RouteDependencies<D> {
  authenticate: () => Promise<Authenticate>;
  services: () => Promise<D>;
  /** Told of every refused request (4xx), so repeated failures and rate limits reach the audit trail. */
  refused: (error: AppError, request: RequestContext, operationId: string) => Promise<void>;
}

type RouteInput<
  P extends AnyObject,
  Q extends AnyObject,
  B extends AnyObject,
  H extends AnyObject,
> = HandlerInput<z.infer<P>, z.infer<Q>, z.infer<B>, z.infer<H>>;

/** A handler factory: given the services the function declared, the handler of its route. */
export type HandlerFactory<
  D,
  P extends AnyObject,
  Q extends AnyObject,
  B extends AnyObject,
  H extends AnyObject,
> = (services: D) => (input: RouteInput<P, Q, B, H>) => ApiResponse | Promise<ApiResponse>;

const correlationIdPattern = /^[A-Za-z0-9._:-]{1,100}$/;
/** The principal of routes without authentication: carries no identity and no rights. */
const anonymous: Principal = {
  userId: '',
  tenantId: '',
  roles: [],
  adminTenantIds: [],
  via: 'jwt',
  scopes: [],
};

/** CORS response headers for the request's origin, if `allowed` (comma-separated, or `*`) lists it. */
export function corsHeaders(request: HttpRequest, allowed: string): Record<string, string> {
  const origin = request.headers.get('origin');
  if (!origin || allowed.trim() === '') return {};
  const origins = allowed.split(',').map((entry) => entry.trim());
  if (!origins.includes('*') && !origins.includes(origin)) return {};
  return {
    'access-control-allow-origin': origins.includes('*') ? '*' : origin,
    'access-control-allow-headers':
      'authorization, content-type, idempotency-key, last-event-id, x-api-key, x-correlation-id, x-tenant-id',
    'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
    'access-control-expose-headers':
      'location, retry-after, x-correlation-id, x-usage-cost-usd, x-ratelimit-remaining-requests, x-ratelimit-remaining-tokens',
    'access-control-max-age': '600',
    vary: 'Origin',
  };
}

function describeZodError(error: z.ZodError, where: string): string {
  return error.issues
    .slice(0, 10)
    .map((issue) => `${[where, ...issue.path.map(String)].join('.')}: ${issue.message}`)
    .join('; ');
}

function parsePart<T extends AnyObject>(schema: T | undefined, value: unknown, where: string): z.infer<T> {
  if (!schema) return {} as z.infer<T>;
  const result = schema.safeParse(value);
  if (!result.success) throw new AppError('validation_failed', describeZodError(result.error, where));
  return result.data;
}

/** Path parameters: a malformed id names nothing (404); any other malformed parameter is a bad request (400). */
function parseParams<P extends AnyObject>(schema: P | undefined, params: Record<string, string>): z.infer<P> {
  if (!schema) return {} as z.infer<P>;
  const result = schema.safeParse(params);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    const name = issue.path[0];
    const param = typeof name === 'string' ? schema.shape[name] : undefined;
    const resource = param && pathIds.get(param)?.resource;
    if (resource) throw new AppError('not_found', `No ${resource} has the id given in the path.`);
  }
  throw new AppError('validation_failed', describeZodError(result.error, 'path'));
}

/** The headers the route declares, read by their lower-case names; absent ones are `undefined`. */
function parseHeaders<H extends AnyObject>(schema: H | undefined, request: HttpRequest): z.infer<H> {
  if (!schema) return {} as z.infer<H>;
  const given = Object.fromEntries(
    Object.keys(schema.shape).map((name) => [name, request.headers.get(name) ?? undefined]),
  );
  return parsePart(schema, given, 'header');
}

/** Reads at most `limit` bytes of body, refusing more with 413 before anything is parsed. */
async function readLimitedBody(request: HttpRequest, limit: number): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    throw new AppError(
      'payload_too_large',
      `The request body is ${declared} bytes; at most ${limit} are accepted.`,
    );
  }
  if (!request.body) return '';
  const reader: ReadableStreamDefaultReader<Uint8Array> = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new AppError('payload_too_large', `The request body exceeds ${limit} bytes.`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function parseBody<B extends AnyObject>(
  spec: RouteSpec<AnyObject, AnyObject, B, AnyObject>,
  request: HttpRequest,
  limit: number,
): Promise<z.infer<B>> {
  if (!spec.body) return {} as z.infer<B>;
  const contentType = request.headers.get('content-type') ?? '';
  const text = await readLimitedBody(request, limit);
  if (text.trim() === '' && spec.method !== 'POST' && spec.method !== 'PUT' && spec.method !== 'PATCH')
    return parsePart(spec.body, {}, 'body');
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType)) {
    throw new AppError('unsupported_media_type', 'The request body must be application/json.');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError('validation_failed', 'The request body is not valid JSON.');
  }
  return parsePart(spec.body, json, 'body');
}

function endStreamWhenClientGone(
  body: HttpResponseInit['body'],
  clientGone: AbortSignal | undefined,
  onGone: () => void,
): HttpResponseInit['body'] {
  const streamed = body instanceof ReadableStream || body instanceof Readable;
  return clientGone && streamed ? endWhenAborted(body, clientGone, onGone) : body;
}

/** Wraps a handler factory into an Azure Functions HTTP handler; exported for in-process tests and benchmarks. */
export function wrapRoute<
  P extends AnyObject,
  Q extends AnyObject,
  B extends AnyObject,
  H extends AnyObject,
  D,
>(
  spec: RouteSpec<P, Q, B, H>,
  dependencies: RouteDependencies<D>,
  factory: HandlerFactory<D, P, Q, B, H>,
): (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit> {
  // Every invocation runs in a request context, so the audit trail knows who asked, from where.
  const serve = async (
    request: HttpRequest,
    context: InvocationContext,
    correlationId: string,
    requestContext: RequestContext,
  ): Promise<HttpResponseInit> => {
    const instance = new URL(request.url).pathname;
    const clientGone = clientDisconnectSignal(context.invocationId);
    let cors: Record<string, string> = {};
    try {
      const config = getConfig();
      cors = corsHeaders(request, config.CORS_ALLOWED_ORIGINS);
      const baseHeaders = { 'x-correlation-id': correlationId, ...cors };
      if (request.method === 'OPTIONS') return { status: 204, headers: baseHeaders };

      let principal = anonymous;
      if (spec.auth !== 'none') {
        const authenticate = await dependencies.authenticate();
        principal = await authenticate(request.headers);
        requestContext.principal = principal;
        noteCaller(principal);
        if (spec.auth === 'user') requireScope(principal.scopes, spec.scope);
        else if (principal.via !== 'jwt') {
          throw new AppError(
            'forbidden',
            'This operation needs a signed-in user (a bearer token from a trusted issuer), not a key or a workload token.',
            { details: { reason: 'user_token_required' } },
          );
        }
      }
      const params = parseParams(spec.params, request.params);
      noteRequestIds(params);
      const headers = parseHeaders(spec.headers, request);
      const query = parsePart(spec.query, Object.fromEntries(request.query.entries()), 'query');
      const body = await parseBody(spec, request, config.MAX_REQUEST_BODY_BYTES);
      const handler = factory(await dependencies.services());
      const result = await handler({
        params,
        query,
        body,
        headers,
        principal,
        request,
        context,
        correlationId,
        clientGone,
      });
      const clientLeft = (outcome: string) =>
        context.log(`[${correlationId}] ${spec.operationId}: client disconnected, ${outcome}`);
      if (clientGone?.aborted) clientLeft('answer dropped');
      if (result.raw)
        return {
          ...result.raw,
          body: endStreamWhenClientGone(result.raw.body, clientGone, () =>
            clientLeft('response stream ended'),
          ),
          headers: { ...baseHeaders, ...(result.raw.headers as Record<string, string> | undefined) },
        };
      return {
        status: result.status,
        headers: { 'content-type': 'application/json', ...baseHeaders, ...result.headers },
        ...(result.body === undefined ? {} : { body: JSON.stringify(result.body) }),
      };
    } catch (caught: unknown) {
      const error =
        caught instanceof z.ZodError
          ? new AppError('internal', 'Stored data failed validation.', { cause: caught })
          : toAppError(caught);
      noteFailure(error.code);
      if (error.status >= 500) {
        context.error(`[${correlationId}] ${spec.operationId} failed`, caught);
      } else {
        context.log(`[${correlationId}] ${spec.operationId} answered ${error.status} ${error.code}`);
        await dependencies.refused(error, requestContext, spec.operationId).catch(() => undefined);
      }
      const response = problemResponse(error, instance, correlationId);
      return {
        ...response,
        headers: {
          ...(response.headers as Record<string, string>),
          'x-correlation-id': correlationId,
          ...cors,
        },
      };
    }
  };
  return (request, context) => {
    const given = request.headers.get('x-correlation-id');
    const correlationId = given && correlationIdPattern.test(given) ? given : context.invocationId;
    const requestContext = { correlationId, sourceIp: sourceIpOf(request.headers.get('x-forwarded-for')) };
    return runInRequestContext(requestContext, () => serve(request, context, correlationId, requestContext));
  };
}

/**
 * Registers an HTTP function for a route spec, with CORS preflight and, if asked, the durable client binding:
 * `registerRoute(routes.getJob, uses('jobs'), ({ jobs }) => async ({ params, principal }) => ...)`.
 */
export function registerRoute<
  P extends AnyObject,
  Q extends AnyObject,
  B extends AnyObject,
  H extends AnyObject,
  D,
>(
  spec: RouteSpec<P, Q, B, H>,
  dependencies: RouteDependencies<D>,
  factory: HandlerFactory<D, P, Q, B, H>,
): void {
  app.http(spec.functionName, {
    route: spec.path.replace(/^\//, ''),
    methods: [spec.method, 'OPTIONS'],
    authLevel: 'anonymous',
    extraInputs: spec.durableClient ? [df.input.durableClient()] : [],
    handler: wrapRoute(spec, dependencies, factory),
  });
}
