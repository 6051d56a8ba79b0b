import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(routes.verifyAudit, uses('admin'), ({ admin }) => async ({ query, principal }) => ({
  status: 200,
  body: await admin.verifyAudit(principal, query.tenantId),
}));
