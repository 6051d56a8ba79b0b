import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(routes.getPlan, uses('admin'), ({ admin }) => async ({ params, principal }) => ({
  status: 200,
  body: await admin.getPlan(principal, params.planId),
}));
