import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(routes.listAudit, uses('admin'), ({ admin }) => async ({ query, principal }) => ({
  status: 200,
  body: await admin.auditTrail(principal, query),
}));
