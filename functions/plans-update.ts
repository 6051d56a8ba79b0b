import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(routes.updatePlan, uses('admin'), ({ admin }) => async ({ params, body, principal }) => ({
  status: 200,
  body: await admin.updatePlan(principal, params.planId, body),
}));
