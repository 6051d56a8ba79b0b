import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(routes.retirePlan, uses('admin'), ({ admin }) => async ({ params, principal }) => {
  await admin.retirePlan(principal, params.planId);
  return { status: 204 };
});
