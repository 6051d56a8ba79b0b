import { documentedRoutes } from '../shared/api/openapi';
import { apiReferencePage } from '../shared/api/reference-page';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

const spec = documentedRoutes.find((route) => route.operationId === 'getApiReference');
if (!spec) throw new Error('The API reference route is not documented.');

registerRoute(spec, uses(), () => () => ({
  status: 200,
  raw: { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: apiReferencePage() },
}));
