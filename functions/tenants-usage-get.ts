import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(routes.getTenantUsage, uses('admin'), ({ admin }) => async ({ params, query, principal }) => ({
  status: 200,
  body: await admin.tenantUsage(principal, params.tenantId, query.month),
}));
