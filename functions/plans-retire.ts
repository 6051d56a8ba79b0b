import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.retirePlan, async ({ params, principal, services }) => {
  await (await services()).admin.retirePlan(principal, params.planId);
  return { status: 204 };
});
