import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.getPlan, async ({ params, principal, services }) => ({
  status: 200,
  body: await (await services()).admin.getPlan(principal, params.planId),
}));
