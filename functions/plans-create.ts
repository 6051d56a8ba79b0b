import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';
import { uses } from '../shared/services';

registerRoute(routes.createPlan, uses('admin'), ({ admin }) => async ({ body, principal }) => {
  const plan = await admin.createPlan(principal, body);
  return { status: 201, body: plan, headers: { location: `/api/v1/admin/plans/${plan.id}` } };
});
