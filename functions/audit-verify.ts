import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.verifyAudit, async ({ query, principal, services }) => ({
  status: 200,
  body: await (await services()).admin.verifyAudit(principal, query.tenantId),
}));
