import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.listAudit, async ({ query, principal, services }) => ({
  status: 200,
  body: await (await services()).admin.auditTrail(principal, query),
}));
