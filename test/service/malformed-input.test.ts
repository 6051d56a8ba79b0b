import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentedRoutes } from '../../shared/api/openapi';
import type { RouteSpec } from '../../shared/http/route';
import { pathIds } from '../../shared/ids';
import { startService, type ServiceUnderTest } from '../support/service';

/**
 * Every route of the catalog, with malformed path ids and malformed headers, sent as raw request targets (no
 * client-side normalisation). Ids that cannot exist are 404 `not_found`, malformed names and headers are 400
 * `validation_failed`, and nothing makes the service or a dependency answer 5xx.
 */
let service: ServiceUnderTest;
let token: string;

beforeAll(async () => {
  service = await startService();
  // A platform admin, signed in with a JWT: every route lets it as far as input validation.
  token = await service.token({ sub: 'root', tenantId: 'acme', roles: ['platform_admin'] });
});

afterAll(async () => {
  await service?.stop();
});

interface RawResponse {
  status: number;
  code: unknown;
  detail: unknown;
}

/** One request with the request target exactly as given. */
function send(spec: RouteSpec, target: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const url = new URL(service.url);
  const body = spec.body ? '{}' : undefined;
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: spec.method,
        path: target,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        // A stream route that accepted the request would never end: its headers are all this test needs.
        if ((response.headers['content-type'] ?? '').startsWith('text/event-stream')) {
          response.destroy();
          resolve({ status: response.statusCode ?? 0, code: undefined, detail: undefined });
          return;
        }
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // Not JSON (a page, a CSV export): status alone tells.
          }
          resolve({ status: response.statusCode ?? 0, code: json.code, detail: json.detail });
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** Path parameters whose format is an id (registered in `pathIds`); the others are names. */
function idParams(spec: RouteSpec): Set<string> {
  const shape = spec.params?.shape ?? {};
  return new Set(Object.keys(shape).filter((name) => shape[name] && pathIds.get(shape[name])));
}

const paramNames = (spec: RouteSpec) => [...spec.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1] ?? '');

/** Well-formed values, so that one malformed parameter at a time is what the service sees. */
const wellFormed: Record<string, string> = {
  jobId: '3f1c2a4e-8b7d-4c6e-9a1b-2d3e4f5a6b7c',
  keyId: '0123456789abcdef01234567',
  tenantId: 'acme',
  planId: 'pro',
  webhookId: '9b2e7c1a-4d3f-4a8b-b6c5-1e2d3f4a5b6c',
  deliveryId: 'AbCdEfGhIjKlMnOpQrStUv_-',
  connectionId: '0123456789abcdef0123',
  policyId: 'abcdef0123456789abcd',
  uploadId: '5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a',
};

/** Malformed in every route: traversal, encoded slash, NUL, over-long, non-ASCII, bad escapes, wrong shape. */
const malformed = [
  '%2e%2e%2f%2e%2e',
  '..%2F..%2Fetc%2Fpasswd',
  'a%2Fb',
  '%00',
  'x'.repeat(300),
  '%F0%9F%92%A9',
  '%ZZ',
  "'%20OR%201=1--",
  '%3Cscript%3E',
  'two%20words',
  '-leading-dash',
];

const pathWith = (spec: RouteSpec, values: Record<string, string>) =>
  spec.path.replace(/\{(\w+)\}/g, (_all, name: string) => values[name] ?? wellFormed[name] ?? 'x');

const withParams = documentedRoutes.filter((spec) => paramNames(spec).length > 0);

describe('malformed path parameters on every route', () => {
  it('the catalog has routes with path ids, and every path parameter has a well-formed example here', () => {
    expect(withParams.length).toBeGreaterThan(5);
    for (const spec of withParams) {
      for (const name of paramNames(spec))
        expect({ route: spec.operationId, name, known: name in wellFormed }).toEqual({
          route: spec.operationId,
          name,
          known: true,
        });
    }
  });

  it('answer 404 not_found for an id and 400 for a name, never 5xx', async () => {
    const seen: string[] = [];
    for (const spec of withParams) {
      const ids = idParams(spec);
      for (const name of paramNames(spec)) {
        for (const value of malformed) {
          const target = pathWith(spec, { [name]: value });
          const response = await send(spec, target);
          const outcome = {
            request: `${spec.method} ${target}`,
            status: response.status,
            code: response.code,
          };
          // An encoded slash may split the segment in some routers: then no route matches, which is 404 too.
          const expected = ids.has(name)
            ? [{ status: 404, code: 'not_found' }]
            : [
                { status: 400, code: 'validation_failed' },
                ...(/%2f/i.test(value) ? [{ status: 404, code: 'not_found' }] : []),
              ];
          expect(expected.map((status) => ({ ...outcome, ...status }))).toContainEqual(outcome);
          seen.push(outcome.request);
        }
      }
    }
    expect(seen.length).toBe(
      withParams.reduce((sum, spec) => sum + paramNames(spec).length, 0) * malformed.length,
    );
  });

  it('GET /api/v1/jobs/%2e%2e%2f%2e%2e is 404 not_found', async () => {
    const spec = documentedRoutes.find((route) => route.operationId === 'getJob');
    expect(spec).toBeDefined();
    if (!spec) return;
    expect(await send(spec, '/api/v1/jobs/%2e%2e%2f%2e%2e')).toMatchObject({
      status: 404,
      code: 'not_found',
    });
  });
});

/** Malformed values of each header some route declares; routes that do not declare one must ignore it. */
const malformedHeaders: Record<string, string[]> = {
  'idempotency-key': ['x'.repeat(201), 'has spaces in it', 'tab\there', 'ümlaut'],
  'last-event-id': ['abc', '-1', '1e3', '0x10', '9'.repeat(16), '5.5'],
};

describe('malformed headers on every route', () => {
  it('every declared header has malformed examples here', () => {
    const declared = new Set(documentedRoutes.flatMap((spec) => Object.keys(spec.headers?.shape ?? {})));
    expect(declared.size).toBeGreaterThan(0);
    for (const name of declared) expect(Object.keys(malformedHeaders)).toContain(name);
  });

  it('are 400 validation_failed where the route declares the header, ignored elsewhere, never 5xx', async () => {
    let checked = 0;
    for (const spec of documentedRoutes) {
      const declared = new Set(Object.keys(spec.headers?.shape ?? {}));
      for (const [name, values] of Object.entries(malformedHeaders)) {
        for (const value of values) {
          const target = pathWith(spec, {});
          const response = await send(spec, target, { [name]: value });
          const outcome = { request: `${spec.method} ${target} ${name}: ${value}`, status: response.status };
          if (declared.has(name)) {
            expect({ ...outcome, code: response.code }).toEqual({
              ...outcome,
              status: 400,
              code: 'validation_failed',
            });
            expect(String(response.detail)).toContain(`header.${name}`);
          } else {
            expect(outcome.status, outcome.request).toBeLessThan(500);
          }
          checked++;
        }
      }
    }
    expect(checked).toBe(
      documentedRoutes.length *
        Object.values(malformedHeaders).reduce((sum, values) => sum + values.length, 0),
    );
  });
});
