import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.listTrustPolicies, async ({ principal, services }) => ({
  status: 200,
  body: { items: await (await services()).trustPolicies.list(principal) },
}));
