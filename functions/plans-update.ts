import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.updatePlan, async ({ params, body, principal, services }) => ({
  status: 200,
  body: await (await services()).admin.updatePlan(principal, params.planId, body),
}));
