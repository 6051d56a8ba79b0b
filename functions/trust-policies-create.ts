import { routes } from '../shared/api/routes';
import { registerRoute } from '../shared/http/route';

registerRoute(routes.createTrustPolicy, async ({ body, principal, services }) => ({
  status: 201,
  body: await (await services()).trustPolicies.create(principal, body),
}));
