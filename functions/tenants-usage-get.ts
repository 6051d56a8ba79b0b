import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.getTenantUsage, async ({ params, query, principal, services }) => ({
  status: 200,
  body: await (await services()).admin.tenantUsage(principal, params.tenantId, query.month),
}));
