import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.listPlans, async ({ principal, services }) => ({
  status: 200,
  body: { items: await (await services()).admin.listPlans(principal) },
}));
