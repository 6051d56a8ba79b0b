import { buildOpenApiDocument, documentedRoutes } from '../shared/api/openapi';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

const spec = documentedRoutes.find((route) => route.operationId === 'getOpenApiDocument');
if (!spec) throw new Error('The OpenAPI route is not documented.');

registerRoute(spec, uses(), () => ({ request }) => ({
  status: 200,
  body: buildOpenApiDocument(new URL(request.url).origin),
  headers: { 'cache-control': 'no-cache' },
}));
