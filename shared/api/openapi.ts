import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import type { RouteSpec } from '../http/route';
import { routes } from './routes';

/** Routes that describe the API itself; documented too, so every path the service serves is in the document. */
const documentationRoutes: RouteSpec[] = [
  {
    functionName: 'openapi-get',
    operationId: 'getOpenApiDocument',
    method: 'GET',
    path: '/openapi.json',
    summary: 'OpenAPI document',
    description: 'This document: OpenAPI 3.1, generated from the same schemas the service validates with.',
    tags: ['Operations'],
    auth: 'none',
    responses: { 200: { description: 'The document.' } },
  },
  {
    functionName: 'docs-get',
    operationId: 'getApiReference',
    method: 'GET',
    path: '/docs',
    summary: 'API reference',
    description: 'An interactive reference page for this API.',
    tags: ['Operations'],
    auth: 'none',
    responses: { 200: { description: 'HTML page.', contentType: 'text/html' } },
  },
  {
    functionName: 'app-get',
    operationId: 'getProgressPage',
    method: 'GET',
    path: '/app',
    summary: 'Progress page',
    description:
      'A web page to submit a story, watch each iteration live (Web PubSub, falling back to SSE), cancel, approve interactive steps and copy or download the result.',
    tags: ['Operations'],
    auth: 'none',
    responses: { 200: { description: 'HTML page.', contentType: 'text/html' } },
  },
];

export const documentedRoutes: readonly RouteSpec[] = [...Object.values(routes), ...documentationRoutes];

/** The OpenAPI 3.1 document of every route, built from the route specs. */
export function buildOpenApiDocument(
  serverUrl?: string,
): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description:
      'A JWT from a trusted issuer, or an API key (usa_...). A user route lists the scope its key needs (jobs:write, jobs:read, usage:read, uploads:write); admin routes need a signed-in admin. Members of several tenants name one in X-Tenant-Id.',
  });
  for (const spec of documentedRoutes) {
    registry.registerPath({
      method: spec.method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete',
      path: spec.path,
      operationId: spec.operationId,
      summary: spec.summary,
      description: spec.description,
      tags: spec.tags,
      // For non-OAuth schemes OpenAPI 3.1 lists the roles a call needs here: a user route's scope.
      security: spec.auth === 'none' ? [] : [{ [bearer.name]: spec.auth === 'user' ? [spec.scope] : [] }],
      request: {
        ...(spec.params ? { params: spec.params } : {}),
        ...(spec.query ? { query: spec.query } : {}),
        ...(spec.headers ? { headers: spec.headers } : {}),
        ...(spec.body
          ? { body: { required: true, content: { 'application/json': { schema: spec.body } } } }
          : {}),
      },
      responses: Object.fromEntries(
        Object.entries(spec.responses).map(([status, response]) => [
          status,
          {
            description: response.description,
            ...(response.schema
              ? { content: { [response.contentType ?? 'application/json']: { schema: response.schema } } }
              : {}),
          },
        ]),
      ),
    });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'user-story-agent',
      version: '1.0.0',
      description:
        'Turns a rough user story into a complete, testable specification by running LLM iterations over it.',
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
  });
}
