import { HttpRequest, InvocationContext, type HttpResponseInit } from '@azure/functions';
import { describe, expect, it, vi } from 'vitest';
import { routes } from '../api/routes';
import type { Principal } from '../auth/principal';
import { ALL_USER_SCOPES } from '../auth/scopes';
import { corsHeaders, wrapRoute, type RouteDependencies } from './route';

const request = (origin?: string) =>
  new HttpRequest({ method: 'GET', url: 'http://localhost/api/v1/jobs', headers: origin ? { origin } : {} });

describe('CORS', () => {
  it('allows only listed origins and echoes the one that asked', () => {
    const headers = corsHeaders(
      request('https://chat.example.com'),
      'https://other.example, https://chat.example.com',
    );
    expect(headers['access-control-allow-origin']).toBe('https://chat.example.com');
    expect(headers.vary).toBe('Origin');
    expect(headers['access-control-allow-headers']).toContain('authorization');
    expect(corsHeaders(request('https://evil.example'), 'https://chat.example.com')).toEqual({});
  });

  it('allows any origin with *, and nothing when unconfigured or without an Origin header', () => {
    expect(corsHeaders(request('https://anywhere.example'), '*')['access-control-allow-origin']).toBe('*');
    expect(corsHeaders(request('https://anywhere.example'), '')).toEqual({});
    expect(corsHeaders(request(), '*')).toEqual({});
  });
});

describe('the wrapper with a handler factory', () => {
  const caller: Principal = {
    userId: 'alice',
    tenantId: 'acme',
    roles: [],
    adminTenantIds: [],
    via: 'jwt',
    scopes: ALL_USER_SCOPES,
  };
  const jobId = '3f1c2a4e-8b7d-4c6e-9a1b-2d3e4f5a6b7c';

  /** Dependencies whose every use is recorded, so a test can tell what the wrapper asked for and when. */
  function recordingDependencies<D>(services: D) {
    const calls: string[] = [];
    const dependencies: RouteDependencies<D> = {
      authenticate: () => {
        calls.push('authenticate');
        return Promise.resolve(() => Promise.resolve(caller));
      },
      services: () => {
        calls.push('services');
        return Promise.resolve(services);
      },
      refused: () => {
        calls.push('refused');
        return Promise.resolve();
      },
    };
    return { calls, dependencies };
  }

  const invoke = (handler: ReturnType<typeof wrapRoute>, url: string, headers: Record<string, string> = {}) =>
    handler(
      new HttpRequest({ method: 'GET', url: `http://localhost${url}`, headers, params: paramsOf(url) }),
      new InvocationContext({ functionName: 'test' }),
    );
  const problemOf = (response: HttpResponseInit): Record<string, unknown> =>
    typeof response.body === 'string' ? (JSON.parse(response.body) as Record<string, unknown>) : {};
  /** The local host and Azure hand the wrapper decoded path parameters; these tests use one route shape each. */
  function paramsOf(url: string): Record<string, string> {
    const jobMatch = /^\/api\/v1\/jobs\/([^/?]+)/.exec(url);
    if (jobMatch?.[1]) return { jobId: decodeURIComponent(jobMatch[1]) };
    const planMatch = /^\/api\/v1\/admin\/plans\/([^/?]+)/.exec(url);
    return planMatch?.[1] ? { planId: decodeURIComponent(planMatch[1]) } : {};
  }

  it('hands the handler the services it declared and typed, validated input', async () => {
    const progress = { stream: vi.fn((..._args: unknown[]) => Promise.resolve('events')) };
    const { calls, dependencies } = recordingDependencies({ progress });
    const handler = wrapRoute(routes.streamJob, dependencies, (services) => {
      expect(Object.keys(services)).toEqual(['progress']);
      return async ({ params, headers, principal }) => ({
        status: 200,
        body: await services.progress.stream(principal, params.jobId, headers['last-event-id'] ?? 0),
      });
    });
    const response = await invoke(handler, `/api/v1/jobs/${jobId}/stream`, {
      authorization: 'Bearer x',
      'last-event-id': '42',
    });
    expect(response.status).toBe(200);
    expect(progress.stream).toHaveBeenCalledWith(caller, jobId, 42);
    expect(calls).toEqual(['authenticate', 'services']);
  });

  it('answers a malformed path id with 404 before asking for any service', async () => {
    const { calls, dependencies } = recordingDependencies({});
    const handler = wrapRoute(routes.getJob, dependencies, () => () => ({ status: 200 }));
    for (const id of ['%2e%2e%2f%2e%2e', 'not-a-uuid', 'x'.repeat(300)]) {
      const response = await invoke(handler, `/api/v1/jobs/${id}`);
      expect(response.status).toBe(404);
      expect(problemOf(response)).toMatchObject({ code: 'not_found' });
    }
    expect(calls).not.toContain('services');
  });

  it('answers a malformed name in the path with 400, and a malformed declared header with 400', async () => {
    const { calls, dependencies } = recordingDependencies({});
    const plan = wrapRoute(routes.getPlan, dependencies, () => () => ({ status: 200 }));
    const badName = await invoke(plan, '/api/v1/admin/plans/Not_A_Plan');
    expect(badName.status).toBe(400);
    expect(problemOf(badName)).toMatchObject({ code: 'validation_failed' });

    const stream = wrapRoute(routes.streamJob, dependencies, () => () => ({ status: 200 }));
    for (const value of ['abc', '-1', '1e3', '9'.repeat(16)]) {
      const response = await invoke(stream, `/api/v1/jobs/${jobId}/stream`, { 'last-event-id': value });
      expect(response.status).toBe(400);
      expect(String(problemOf(response).detail)).toContain('header.last-event-id');
    }
    expect(calls).not.toContain('services');
  });

  it('never authenticates on a public route', async () => {
    const { calls, dependencies } = recordingDependencies({});
    const handler = wrapRoute(routes.health, dependencies, () => () => ({
      status: 200,
      body: { status: 'ok' },
    }));
    expect((await invoke(handler, '/health')).status).toBe(200);
    expect(calls).toEqual(['services']);
  });
});
