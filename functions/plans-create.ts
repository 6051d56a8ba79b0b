import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.createPlan, async ({ body, principal, services }) => {
  const plan = await (await services()).admin.createPlan(principal, body);
  return { status: 201, body: plan, headers: { location: `/api/v1/admin/plans/${plan.id}` } };
});
